// Package store opens identityd's database — an embedded SQLite file for a single node or
// PostgreSQL for production — and gives the rest of the code one small query surface over
// both: Exec, Query, QueryRow and transactions with `$1`-style placeholders.
//
// The store owns connections, transactions, the dialect, migrations and the mapping of
// driver errors to three sentinels (ErrNotFound, ErrAlreadyExists, ErrUnavailable). It
// owns no business queries: each domain package writes its own SQL.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Dialect names a database backend.
type Dialect string

// The two backends identityd runs on.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Options tune how Open connects.
type Options struct {
	// ConnectTimeout bounds how long Open keeps retrying a database it cannot reach yet
	// (PostgreSQL starting alongside identityd, say). Zero means a single attempt.
	ConnectTimeout time.Duration
	// MaxConns caps the PostgreSQL pool, or the SQLite read pool. Zero picks a default.
	MaxConns int
	// Logger receives retry notices while the database is unreachable. Nil discards them.
	Logger *slog.Logger
	// MustExist refuses to create a new SQLite file, for commands that only use an
	// existing database: a mistyped path is then an error, not a new empty database.
	MustExist bool
}

// DB is an open database. It is safe for concurrent use.
//
// On PostgreSQL every operation goes through one pgx pool. On SQLite there are two
// pools over the same file: a single-connection writer for transactions and writes, so
// writers queue in Go instead of polling SQLite's busy lock, and a read-only pool for
// queries outside transactions, which WAL lets run beside the writer.
type DB struct {
	dialect Dialect
	desc    string

	pool  *pgxpool.Pool // postgres
	stdPG *sql.DB       // postgres, over pool, for database/sql consumers (goose)

	path   string  // sqlite file
	writer *sql.DB // sqlite, one connection
	reader *sql.DB // sqlite, query_only
	// prepared are writer statements Prepare made ready.
	prepared prepared
}

// Open connects to the database named by rawURL: "sqlite:PATH" or "postgres://…".
// It retries an unreachable PostgreSQL with backoff for up to opts.ConnectTimeout and
// fails at once on errors that retrying cannot fix (bad URL, wrong password, no such
// database, unwritable SQLite path).
func Open(ctx context.Context, rawURL string, opts Options) (*DB, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	switch {
	case strings.HasPrefix(rawURL, "sqlite:"):
		return openSQLite(ctx, strings.TrimPrefix(rawURL, "sqlite:"), opts)
	case strings.HasPrefix(rawURL, "postgres://"), strings.HasPrefix(rawURL, "postgresql://"):
		return openPostgres(ctx, rawURL, opts)
	default:
		return nil, errors.New("store: database URL must start with sqlite: or postgres://")
	}
}

// Dialect reports which backend this is.
func (db *DB) Dialect() Dialect { return db.dialect }

// String describes the database for logs and status pages, without credentials.
func (db *DB) String() string { return db.desc }

// SQLitePath is the database file on SQLite, and "" on PostgreSQL.
func (db *DB) SQLitePath() string { return db.path }

// PgxPool is the pgx pool on PostgreSQL, and nil on SQLite. Job queues and LISTEN/NOTIFY
// need the native pool; everything else should use the query methods.
func (db *DB) PgxPool() *pgxpool.Pool { return db.pool }

// SQLDB is a database/sql handle for libraries that need one (migrations, the SQLite job
// queue): the single writer connection on SQLite, a view of the pool on PostgreSQL.
func (db *DB) SQLDB() *sql.DB {
	if db.dialect == Postgres {
		return db.stdPG
	}
	return db.writer
}

// Ping checks that the database answers, within ctx.
func (db *DB) Ping(ctx context.Context) error {
	if db.dialect == Postgres {
		return mapPostgresErr(db.pool.Ping(ctx))
	}
	if err := db.writer.PingContext(ctx); err != nil {
		return mapSQLiteErr(err)
	}
	return mapSQLiteErr(db.reader.PingContext(ctx))
}

// Close releases every connection. Nothing may use db afterwards.
func (db *DB) Close() {
	if db.dialect == Postgres {
		_ = db.stdPG.Close()
		db.pool.Close()
		return
	}
	db.prepared.close()
	_ = db.reader.Close()
	_ = db.writer.Close()
}

// PoolStats is a backend-neutral snapshot of connection pool use, for metrics.
type PoolStats struct {
	MaxConns     int
	OpenConns    int
	InUse        int
	Idle         int
	WaitCount    int64
	WaitDuration time.Duration
}

// Stats reports connection pool use. On SQLite it sums the writer and reader pools.
func (db *DB) Stats() PoolStats {
	if db.dialect == Postgres {
		s := db.pool.Stat()
		return PoolStats{
			MaxConns:     int(s.MaxConns()),
			OpenConns:    int(s.TotalConns()),
			InUse:        int(s.AcquiredConns()),
			Idle:         int(s.IdleConns()),
			WaitCount:    s.EmptyAcquireCount(),
			WaitDuration: s.AcquireDuration(),
		}
	}
	w, r := db.writer.Stats(), db.reader.Stats()
	return PoolStats{
		MaxConns:     w.MaxOpenConnections + r.MaxOpenConnections,
		OpenConns:    w.OpenConnections + r.OpenConnections,
		InUse:        w.InUse + r.InUse,
		Idle:         w.Idle + r.Idle,
		WaitCount:    w.WaitCount + r.WaitCount,
		WaitDuration: w.WaitDuration + r.WaitDuration,
	}
}

// connectRetry calls attempt until it succeeds, fails permanently, or timeout passes,
// sleeping with capped exponential backoff between attempts.
func connectRetry(ctx context.Context, what string, timeout time.Duration, log *slog.Logger,
	attempt func(ctx context.Context) error, permanent func(error) bool) error {
	deadline := time.Now().Add(timeout)
	backoff := 200 * time.Millisecond
	for n := 1; ; n++ {
		err := attempt(ctx)
		if err == nil {
			return nil
		}
		if permanent(err) {
			return fmt.Errorf("store: connect to %s: %w", what, err)
		}
		if remaining := time.Until(deadline); remaining <= 0 {
			return fmt.Errorf("store: %s unreachable after %s (%d attempts): %w",
				what, timeout.Round(time.Second), n, err)
		} else if backoff > remaining {
			backoff = remaining
		}
		log.WarnContext(ctx, "database not reachable yet, retrying",
			slog.String("database", what), slog.Int("attempt", n),
			slog.Duration("retry_in", backoff), slog.String("error", err.Error()))
		select {
		case <-ctx.Done():
			return fmt.Errorf("store: connect to %s: %w", what, ctx.Err())
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}
