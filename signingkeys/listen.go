package signingkeys

import (
	"context"
	"log/slog"
	"time"

	"github.com/identityd/identityd/store"
)

// sqliteCheckEvery is how often a server on SQLite looks for key changes. Nothing can
// tell it of a change made beside it (identityd keys rotate --now, which may be the
// answer to a leaked key), and a look that finds the rows unchanged is one small query.
const sqliteCheckEvery = time.Second

// Listen keeps the keys in memory up to date with the database until ctx ends: it
// rereads them every ReloadEvery and, on PostgreSQL, whenever any replica changes them,
// reconnecting with backoff when the notification connection drops. Run it in a
// goroutine of every server. On SQLite, where one server owns the database, it rereads
// them every second at most (sqliteCheckEvery), which picks up what a command such as
// identityd keys rotate changed. A failed reload is logged (a nil log discards it) and
// the keys in memory stay as they were.
func (s *Service) Listen(ctx context.Context, log *slog.Logger) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if s.db.Dialect() != store.Postgres {
		t := time.NewTicker(min(s.cfg.ReloadEvery, sqliteCheckEvery))
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				s.reloadLogged(ctx, log)
			}
		}
	}
	reload := func(ctx context.Context) error { s.reloadLogged(ctx, log); return nil }
	s.db.Listen(ctx, store.Subscription{Channel: notifyChannel, Idle: s.cfg.ReloadEvery, Logger: log,
		Synced: reload, Notified: func(ctx context.Context, _ string) error { return reload(ctx) }, OnIdle: reload})
}

// reloadLogged reloads the keys, logging a failure.
func (s *Service) reloadLogged(ctx context.Context, log *slog.Logger) {
	if err := s.reload(ctx); err != nil && ctx.Err() == nil {
		log.Error("signingkeys: reload failed; keeping the keys in memory", slog.String("error", err.Error()))
	}
}
