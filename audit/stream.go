package audit

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/identityd/identityd/store"
)

// notifyChannel is the PostgreSQL channel on which sealers announce the new head.
const notifyChannel = "identityd_audit_sealed"

// Hub tells live streams that the chain has grown. The local sealer advances it after
// each commit; on PostgreSQL, Listen advances it for seals by any replica. Waiting costs
// a goroutine and no polling of the database.
type Hub struct {
	mu      sync.Mutex
	head    int64
	changed chan struct{} // closed and replaced whenever head grows
}

// NewHub returns a hub at head 0; Listen or the sealer bring it up to date.
func NewHub() *Hub { return &Hub{changed: make(chan struct{})} }

// Advance records that the chain reaches seq.
func (h *Hub) Advance(seq int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if seq <= h.head {
		return
	}
	h.head = seq
	close(h.changed)
	h.changed = make(chan struct{})
}

// Head is the newest sequence number the hub knows.
func (h *Hub) Head() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.head
}

// Wait returns the head once it is beyond after, or after the timeout with the head as
// it is, or ctx's error.
func (h *Hub) Wait(ctx context.Context, after int64, timeout time.Duration) (int64, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		h.mu.Lock()
		head, changed := h.head, h.changed
		h.mu.Unlock()
		if head > after {
			return head, nil
		}
		select {
		case <-ctx.Done():
			return head, ctx.Err()
		case <-t.C:
			return head, nil
		case <-changed:
		}
	}
}

// Listen keeps the hub up to date with the database until ctx ends: it reads the head
// at once and, on PostgreSQL, listens for every replica's seals, reconnecting with backoff
// when the connection drops. A periodic re-read covers notifications lost in between.
func (h *Hub) Listen(ctx context.Context, l *Log, logger *slog.Logger) {
	refresh := func() {
		if head, err := l.Head(ctx); err == nil {
			h.Advance(head)
		}
	}
	refresh()
	if l.db.Dialect() != store.Postgres {
		// One server per SQLite file: its own sealer is the only one, and advances the
		// hub itself. The re-read still catches a sealer run by another process.
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				refresh()
			}
		}
	}
	resync := func(context.Context) error { refresh(); return nil }
	l.db.Listen(ctx, store.Subscription{Channel: notifyChannel, Idle: 5 * time.Second, Logger: logger,
		Synced: resync, OnIdle: resync,
		Notified: func(_ context.Context, payload string) error {
			if seq, err := strconv.ParseInt(payload, 10, 64); err == nil {
				h.Advance(seq)
			}
			return nil
		}})
}

// Head returns the sequence number of the newest sealed event, 0 before the first.
func (l *Log) Head(ctx context.Context) (int64, error) {
	m, err := readMark(ctx, l.db, "head")
	if err != nil || m == nil {
		return 0, err
	}
	return m.seq, nil
}
