package clients

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

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
// owns the database, it returns at once; CacheTTL bounds what a CLI changes beside it.
func (s *Service) Listen(ctx context.Context, log *slog.Logger) {
	if s.db.Dialect() != store.Postgres {
		return
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	backoff := time.Second
	for {
		listened, err := s.listenOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		if listened {
			backoff = time.Second
		}
		log.Warn("clients: lost the notification connection; retrying", slog.String("error", err.Error()),
			slog.Duration("retry_in", backoff))
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 30*time.Second)
	}
}

// listenOnce listens on a connection of its own, outside the pool so that it takes no
// connection from requests and its LISTEN never leaks into one, until the connection
// fails or ctx ends. listened reports whether it got as far as listening.
func (s *Service) listenOnce(ctx context.Context) (listened bool, err error) {
	conn, err := pgx.ConnectConfig(ctx, s.db.PgxPool().Config().ConnConfig)
	if err != nil {
		return false, err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		return false, err
	}
	s.cache.flush()
	for {
		wctx, cancel := context.WithTimeout(ctx, pingEvery)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		if n != nil {
			s.cache.invalidate(n.Payload)
		}
		switch {
		case err == nil:
		case ctx.Err() != nil:
			return true, ctx.Err()
		case errors.Is(err, context.DeadlineExceeded):
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err = conn.Ping(pctx)
			cancel()
			if err != nil {
				return true, err
			}
		default:
			return true, err
		}
	}
}
