package clients

import (
	"context"
	"log/slog"
	"time"

	"github.com/identityd/identityd/store"
)

// notifyChannel is the PostgreSQL channel on which every change to a client is announced
// with the client's id.
const notifyChannel = "identityd_clients"

// pingEvery is how long the listener waits for a notification before it checks that its
// connection still works: a connection that died without a word would otherwise leave
// the cache to CacheTTL alone.
const pingEvery = 15 * time.Second

// notify announces a change to client id when tx commits, on PostgreSQL. It travels with
// the COMMIT (ExecAtCommit), so it costs no round trip, and PostgreSQL delivers it only
// if the transaction commits.
func notify(tx *store.Tx, id string) {
	if tx.Dialect() == store.Postgres {
		tx.ExecAtCommit(`SELECT pg_notify($1, $2)`, notifyChannel, id)
	}
}

// Listen keeps this Service's cache in step with changes made by other replicas, until
// ctx ends: on PostgreSQL it listens for their notifications and drops each changed
// client. Whenever it (re)connects it drops the whole cache, because changes committed
// while it was not listening were announced to no one. It reconnects with backoff when
// the connection is lost, logging to log (nil discards). On SQLite, where one server
// owns the database, it returns at once; SQLiteCacheTTL bounds what a CLI changes
// beside it.
func (s *Service) Listen(ctx context.Context, log *slog.Logger) {
	s.db.Listen(ctx, store.Subscription{Channel: notifyChannel, Idle: pingEvery, Logger: log,
		Synced:   func(context.Context) error { s.cache.flush(); return nil },
		Notified: func(_ context.Context, id string) error { s.cache.invalidate(id); return nil },
	})
}
