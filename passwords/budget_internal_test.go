package passwords

import (
	"context"
	"sync"
	"testing"
	"time"
)

// The memory of a finished derivation counts against the budget until a collection has
// reclaimed it, and waiting for room triggers that collection.
func TestAFinishedDerivationHoldsItsWeightUntilCollected(t *testing.T) {
	const slot = 1 << 20
	b := newBudget(slot)
	if err := b.run(context.Background(), slot, func() {}); err != nil {
		t.Fatal(err)
	}
	if b.garbage.Load() != slot {
		t.Fatalf("garbage %d after one derivation, want %d", b.garbage.Load(), slot)
	}
	if b.sem.TryAcquire(1) {
		t.Fatal("the finished derivation's weight was handed back before any collection")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.run(ctx, slot, func() {}); err != nil {
		t.Fatalf("the second derivation never found room: %v", err)
	}
	if b.collections.Load() == 0 {
		t.Error("room was found without a collection")
	}
}

// Many derivations through a small budget all finish: garbage never keeps a waiter
// waiting for good, whoever finishes or arrives while a collection runs.
func TestABurstThroughASmallBudgetAlwaysFinishes(t *testing.T) {
	const slot = 1 << 20
	b := newBudget(2 * slot)
	done := make(chan struct{})
	go func() {
		var wg sync.WaitGroup
		for i := range 64 {
			wg.Go(func() {
				d := time.Duration(i%3) * time.Millisecond
				if err := b.run(context.Background(), slot, func() { time.Sleep(d) }); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatalf("the burst stalled: %d waiting, %d bytes of garbage", b.waiting.Load(), b.garbage.Load())
	}
}
