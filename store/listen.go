package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
)

// Subscription is what Listen does with a PostgreSQL notification channel: how a
// replica keeps what it holds in memory in step with the other replicas' changes.
type Subscription struct {
	// Channel is the channel's name.
	Channel string
	// Synced runs each time listening starts, before any notification is handled:
	// whatever was announced while nobody listened was missed, so it catches up in full.
	Synced func(ctx context.Context) error
	// Notified handles one notification's payload.
	Notified func(ctx context.Context, payload string) error
	// Idle is how long a quiet connection waits before it is checked (a connection that
	// died without a word would otherwise be waited on for ever); 15s when zero.
	Idle time.Duration
	// OnIdle, when set, runs after each quiet Idle, once the connection is checked.
	OnIdle func(ctx context.Context) error
	// Logger is told of each lost connection; nil discards.
	Logger *slog.Logger
}

// defaultIdle is Subscription.Idle when zero.
const defaultIdle = 15 * time.Second

// Listen follows s.Channel until ctx ends. It listens on a connection of its own,
// outside the pool, so that it takes no connection from requests and its LISTEN never
// leaks into one. When the connection is lost or a handler fails, it logs why, waits
// (1s, doubling to 30s, back to 1s once listening again) and starts over with Synced.
// On SQLite, where one server owns the database and there is nothing to hear, it
// returns at once.
func (db *DB) Listen(ctx context.Context, s Subscription) {
	if db.dialect != Postgres {
		return
	}
	if s.Idle <= 0 {
		s.Idle = defaultIdle
	}
	log := s.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	backoff := time.Second
	for {
		listened, err := db.listenOnce(ctx, s)
		if ctx.Err() != nil {
			return
		}
		if listened {
			backoff = time.Second
		}
		log.Warn("store: lost the notification connection; retrying", slog.String("channel", s.Channel),
			slog.String("error", err.Error()), slog.Duration("retry_in", backoff))
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 30*time.Second)
	}
}

// listenOnce listens on a new connection until it fails, a handler fails or ctx ends.
// listened reports whether it got as far as listening.
func (db *DB) listenOnce(ctx context.Context, s Subscription) (listened bool, err error) {
	conn, err := pgx.ConnectConfig(ctx, db.pool.Config().ConnConfig)
	if err != nil {
		return false, err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{s.Channel}.Sanitize()); err != nil {
		return false, fmt.Errorf("listen: %w", err)
	}
	if err := s.Synced(ctx); err != nil {
		return true, err
	}
	for {
		wctx, cancel := context.WithTimeout(ctx, s.Idle)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			if err := s.Notified(ctx, n.Payload); err != nil {
				return true, err
			}
		case ctx.Err() != nil:
			return true, ctx.Err()
		case errors.Is(err, context.DeadlineExceeded):
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err = conn.Ping(pctx)
			cancel()
			if err != nil {
				return true, err
			}
			if s.OnIdle != nil {
				if err := s.OnIdle(ctx); err != nil {
					return true, err
				}
			}
		default:
			return true, err
		}
	}
}
