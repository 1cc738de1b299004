package passwords_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/identityd/identityd/passwords"
)

// watch samples h.Stats until stop is closed and returns the highest InFlight and
// Waiting it saw. Derivations take milliseconds and sampling takes microseconds, so an
// overlap cannot slip between two samples.
func watch(h *passwords.Hasher, stop <-chan struct{}) (maxInFlight, maxWaiting *atomic.Int64, done <-chan struct{}) {
	maxInFlight, maxWaiting = new(atomic.Int64), new(atomic.Int64)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for {
			s := h.Stats()
			if int64(s.InFlight) > maxInFlight.Load() {
				maxInFlight.Store(int64(s.InFlight))
			}
			if int64(s.Waiting) > maxWaiting.Load() {
				maxWaiting.Store(int64(s.Waiting))
			}
			select {
			case <-stop:
				return
			default:
			}
		}
	}()
	return maxInFlight, maxWaiting, finished
}

// hashConcurrently runs n hashes at once and returns the highest InFlight and Waiting
// seen meanwhile.
func hashConcurrently(t *testing.T, h *passwords.Hasher, n int) (inFlight, waiting int64) {
	t.Helper()
	stop := make(chan struct{})
	maxInFlight, maxWaiting, done := watch(h, stop)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			if _, err := h.Hash(context.Background(), staple); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	close(stop)
	<-done
	if s := h.Stats(); s.InFlight != 0 || s.Waiting != 0 {
		t.Fatalf("after the hashes: %+v, want nothing in flight or waiting", s)
	}
	return maxInFlight.Load(), maxWaiting.Load()
}

func TestABudgetOfOneHashRunsOneAtATime(t *testing.T) {
	h := newHasher(t, passwords.Config{MemoryBudget: int64(cheap.Memory) * 1024})
	inFlight, waiting := hashConcurrently(t, h, 4)
	if inFlight != 1 || waiting < 1 {
		t.Fatalf("max InFlight %d, max Waiting %d; want 1 and at least 1", inFlight, waiting)
	}
}

// The counterpart that shows the watch can see overlap: a budget of two hashes lets
// two run together.
func TestABudgetOfTwoHashesRunsTwoAtATime(t *testing.T) {
	h := newHasher(t, passwords.Config{MemoryBudget: 2 * int64(cheap.Memory) * 1024})
	var inFlight int64
	// Two cores and a busy machine: give the scheduler a few chances to overlap them.
	for attempt := 0; attempt < 5 && inFlight < 2; attempt++ {
		inFlight, _ = hashConcurrently(t, h, 4)
	}
	if inFlight != 2 {
		t.Fatalf("max InFlight %d, want 2", inFlight)
	}
}

func TestAWaiterWhoseContextEndsGivesUpWithoutDeriving(t *testing.T) {
	slow := cheap
	slow.Time = 40 // about 0.3 s: long enough to wait behind
	h := newHasher(t, passwords.Config{Params: slow, MemoryBudget: int64(slow.Memory) * 1024})

	first := make(chan error, 1)
	go func() {
		_, err := h.Hash(context.Background(), staple)
		first <- err
	}()
	waitFor(t, func() bool { return h.Stats().InFlight == 1 })
	derivations := h.Stats().Derivations

	ctx, cancel := context.WithCancel(context.Background())
	second := make(chan error, 1)
	go func() {
		second <- h.VerifyDummy(ctx, staple)
	}()
	waitFor(t, func() bool { return h.Stats().Waiting == 1 })
	cancel()
	start := time.Now()
	select {
	case err := <-second:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("VerifyDummy after cancel = %v, want context.Canceled", err)
		}
		if elapsed := time.Since(start); elapsed > 100*time.Millisecond {
			t.Fatalf("the waiter took %v to give up", elapsed)
		}
	case err := <-first:
		t.Fatalf("the first hash ended (%v) before the cancelled waiter returned", err)
	}
	if s := h.Stats(); s.Derivations != derivations || s.Waiting != 0 {
		t.Fatalf("after the cancelled wait: %+v; want %d derivations and nobody waiting", s, derivations)
	}
	if err := <-first; err != nil {
		t.Fatal(err)
	}

	// A context that has already ended never derives, even with room to spare.
	if _, err := h.Hash(ctx, staple); !errors.Is(err, context.Canceled) {
		t.Fatalf("Hash(cancelled ctx) = %v", err)
	}
	if _, err := h.Verify(ctx, staple, "$2b$05$rRPC7bKA8.l7lapdBimew.YFnR3v/QpoE2gkwzNEg48zZBz9hp.jm"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Verify(cancelled ctx) = %v", err)
	}
	if n := h.Stats().Derivations; n != derivations {
		t.Fatalf("%d derivations after the first hash's, want none", n-derivations)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 5 s")
		}
		time.Sleep(100 * time.Microsecond)
	}
}
