package signingkeys

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/identityd/identityd/store"
)

// Listen keeps the keys in memory up to date with the database until ctx ends: it
// reloads them every ReloadEvery and, on PostgreSQL, whenever any replica changes them,
// reconnecting with backoff when the notification connection drops. Run it in a
// goroutine of every server. On SQLite, where one server owns the database, the
// periodic reload picks up what a command such as identityd keys rotate changed.
// A failed reload is logged and the keys in memory stay as they were.
func (s *Service) Listen(ctx context.Context, log *slog.Logger) {
	if s.db.Dialect() != store.Postgres {
		t := time.NewTicker(s.cfg.ReloadEvery)
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
	backoff := time.Second
	for ctx.Err() == nil {
		err := s.listenOnce(ctx, log)
		if ctx.Err() != nil {
			return
		}
		log.Warn("signingkeys: lost the notification connection; retrying", slog.String("error", err.Error()),
			slog.Duration("retry_in", backoff))
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 30*time.Second)
	}
}

// listenOnce listens on one connection until it fails or ctx ends.
func (s *Service) listenOnce(ctx context.Context, log *slog.Logger) error {
	conn, err := s.db.PgxPool().Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	s.reloadLogged(ctx, log) // changes made while nobody was listening
	for {
		wctx, cancel := context.WithTimeout(ctx, s.cfg.ReloadEvery)
		_, err := conn.Conn().WaitForNotification(wctx)
		cancel()
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err == nil, errors.Is(err, context.DeadlineExceeded):
			s.reloadLogged(ctx, log)
		default:
			return err
		}
	}
}

// reloadLogged reloads the keys, logging a failure.
func (s *Service) reloadLogged(ctx context.Context, log *slog.Logger) {
	if err := s.reload(ctx); err != nil && ctx.Err() == nil {
		log.Error("signingkeys: reload failed; keeping the keys in memory", slog.String("error", err.Error()))
	}
}
