package audit

import (
	"context"
	"sync"

	"github.com/identityd/identityd/store"
)

// maxBatch bounds the events one group commit writes.
const maxBatch = 512

// Batcher records events that go with no other database change — a token issued for a
// client acting for itself, say — in group commits: while one transaction commits, the
// events that arrive meanwhile wait and then commit together in the next. Each Record
// returns only once its event has committed, so nothing is reported done that a crash
// could lose; what it saves is a commit per event, which under load is most of their
// cost. There is no timer: an event that arrives with nothing committing commits at once.
//
// Events that describe a change still go through Log.Record in the change's own
// transaction.
type Batcher struct {
	log *Log

	mu      sync.Mutex
	queue   []*batched
	leading bool // a caller is committing batches
}

// batched is an event waiting in a Batcher, and how its wait ends.
type batched struct {
	ev   Event
	done chan batchResult
}

// batchResult ends a wait: the commit's outcome, or the turn to lead the next batch.
type batchResult struct {
	err  error
	lead bool
}

// NewBatcher returns a Batcher that records into l.
func NewBatcher(l *Log) *Batcher { return &Batcher{log: l} }

// Record records ev and returns once it has committed, or why it could not. The event is
// completed from ctx (actor, client address, request id) as Log.Record does.
func (b *Batcher) Record(ctx context.Context, ev Event) error {
	if b.log.keys == nil {
		return errNoKeys
	}
	if err := b.log.prepare(ctx, &ev); err != nil {
		return err
	}
	me := &batched{ev: ev, done: make(chan batchResult, 1)}
	b.mu.Lock()
	b.queue = append(b.queue, me)
	if b.leading {
		b.mu.Unlock()
		res := <-me.done
		if !res.lead {
			return res.err
		}
		// The previous leader handed over: this caller's event is in the queue still.
	} else {
		b.leading = true
		b.mu.Unlock()
	}
	return b.lead(ctx, me)
}

// lead commits the queue as it stands and hands the lead to the first event that
// arrived meanwhile, or gives it up when none did. The leader's own event is always the
// first in the queue — a caller leads when it arrives to an empty queue, or when the
// lead is handed to it as the oldest waiting — so it is in the batch.
func (b *Batcher) lead(ctx context.Context, me *batched) error {
	b.mu.Lock()
	n := min(len(b.queue), maxBatch)
	batch := b.queue[:n:n]
	b.queue = b.queue[n:]
	b.mu.Unlock()

	// Committed whatever becomes of the caller's request: the others wait on it too.
	err := b.log.db.Tx(context.WithoutCancel(ctx), func(tx *store.Tx) error {
		for _, w := range batch {
			b.log.insert(tx, &w.ev)
		}
		return nil
	})
	for _, w := range batch {
		if w != me {
			w.done <- batchResult{err: err}
		}
	}
	b.mu.Lock()
	if len(b.queue) == 0 {
		b.leading = false
		b.mu.Unlock()
	} else {
		next := b.queue[0]
		b.mu.Unlock()
		next.done <- batchResult{lead: true}
	}
	return err
}
