package passwords

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"

	"golang.org/x/sync/semaphore"
)

// DefaultMemoryBudget is the hashing memory in flight at once when Config.MemoryBudget
// is zero: four argon2id derivations at the default 19 MiB, about 76 MiB. Four keeps
// both cores of a small server busy while one derivation waits on memory, and is small
// enough to leave room for everything else a sign-in burst needs.
const DefaultMemoryBudget = 4 * 19456 * 1024

// smallWeight is what a bcrypt or PBKDF2 derivation reserves from the budget: they
// need a few KiB of state, but counting them keeps a flood of cheap verifications from
// being unbounded.
const smallWeight = 64 << 10

// budget lets derivations run while the memory they hold together stays within its
// size. It is a weighted semaphore whose weights are bytes.
//
// A finished argon2 or scrypt derivation leaves its memory behind as garbage, and Go's
// collector lets garbage grow to about the size of the live heap before it collects:
// during a burst of sign-ins, hashing would hold twice its budget. So a derivation's
// weight is handed back only once a collection has reclaimed its memory: finished
// weights wait as garbage, and when someone needs room that garbage holds, one
// collection frees all of it. Collections then come as often as the budget needs, not
// after every hash; each is cheap, since hash memory holds no pointers to mark.
type budget struct {
	sem         *semaphore.Weighted
	size        int64
	derivations atomic.Uint64
	inFlight    atomic.Int64
	waiting     atomic.Int64
	// garbage is the weight of finished derivations not yet known to be collected.
	garbage atomic.Int64
	// collecting is set while a collection runs, so that only one runs at a time.
	collecting atomic.Bool
	// collections counts the collections the budget asked for, for tests.
	collections atomic.Uint64
}

func newBudget(size int64) *budget {
	return &budget{sem: semaphore.NewWeighted(size), size: size}
}

// run calls derive once memory bytes are free, or returns ctx's error without calling
// it if ctx ends first. A derivation larger than the whole budget still runs, alone:
// refusing it would make a hash that Limits allow unverifiable.
func (b *budget) run(ctx context.Context, memory int64, derive func()) error {
	weight := min(max(memory, 1), b.size)
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("before hashing: %w", err)
	}
	if !b.sem.TryAcquire(weight) {
		b.waiting.Add(1)
		b.collect()
		err := b.sem.Acquire(ctx, weight)
		b.waiting.Add(-1)
		if err != nil {
			return fmt.Errorf("waiting for hashing capacity: %w", err)
		}
	}
	b.inFlight.Add(1)
	b.derivations.Add(1)
	derive()
	b.inFlight.Add(-1)
	if weight <= smallWeight {
		b.sem.Release(weight) // a few KiB of state: not worth a collection
		return nil
	}
	b.garbage.Add(weight)
	if b.waiting.Load() > 0 {
		b.collect()
	}
	return nil
}

// collect starts a collection that reclaims the finished derivations' memory and then
// hands their weight back, unless one is running already; it does not wait for it. A
// waiter calls it before it blocks, and a finishing derivation when someone waits, so
// garbage never keeps a waiter waiting for good.
func (b *budget) collect() {
	if b.garbage.Load() == 0 || !b.collecting.CompareAndSwap(false, true) {
		return
	}
	go func() {
		for {
			freed := b.garbage.Load()
			if freed > 0 {
				// Everything counted in freed finished before this collection began,
				// so the collection reclaims it.
				runtime.GC()
				b.collections.Add(1)
				b.garbage.Add(-freed)
				b.sem.Release(freed)
			}
			b.collecting.Store(false)
			// Garbage that arrived after the load above, while someone waits, would
			// otherwise wait for the next finisher or waiter to collect it.
			if b.garbage.Load() == 0 || b.waiting.Load() == 0 || !b.collecting.CompareAndSwap(false, true) {
				return
			}
		}
	}()
}

// slots is how many derivations of memory bytes fit in the budget at once.
func (b *budget) slots(memory int64) int {
	return int(max(b.size/max(memory, 1), 1))
}
