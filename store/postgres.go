package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
)

func openPostgres(ctx context.Context, rawURL string, opts Options) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(rawURL)
	if err != nil {
		// pgx's parse errors can quote the URL, password included; say only what is wrong.
		return nil, errors.New("store: postgres: the database URL is malformed")
	}
	if opts.MaxConns > 0 {
		// At least two: migrations hold one connection for their advisory lock while
		// River's migrator runs on another.
		cfg.MaxConns = int32(max(2, min(opts.MaxConns, 10_000)))
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		// Without a bound, a request that needs a new connection while the database is
		// unreachable would hang until the client gives up.
		cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "identityd"
	}
	desc := "postgres://" + cfg.ConnConfig.User + "@" +
		net.JoinHostPort(cfg.ConnConfig.Host, strconv.Itoa(int(cfg.ConnConfig.Port))) + "/" + cfg.ConnConfig.Database

	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: postgres: %w", err)
	}
	err = connectRetry(ctx, desc, opts.ConnectTimeout, opts.Logger, pool.Ping, permanentPostgresErr)
	if err != nil {
		pool.Close()
		return nil, err
	}
	return &DB{dialect: Postgres, desc: desc, pool: pool, stdPG: stdlib.OpenDBFromPool(pool)}, nil
}

// permanentPostgresErr reports connection errors that retrying cannot fix.
func permanentPostgresErr(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	switch pgErr.Code[:2] {
	case "28": // invalid authorization: wrong user or password
		return true
	}
	return pgErr.Code == "3D000" // database does not exist
}

// classifyLost marks as ErrUnavailable an error from a transaction's function that is a
// lost connection: libraries that join the transaction (the job queue) use the driver
// directly, and their errors never passed through the store's mapping. Any other error —
// the caller's own, a refused statement — is returned as it is.
func classifyLost(d Dialect, err error) error {
	if d != Postgres || errors.Is(err, ErrUnavailable) {
		return err
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	if errors.As(err, &connectErr) || errors.As(err, &netErr) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, io.EOF) || pgconn.SafeToRetry(err) {
		return &classified{kind: ErrUnavailable, err: err}
	}
	return err
}

// mapPostgresErr turns driver errors into the store's sentinels where one applies. An
// error that did not come from the server (refused connection, broken socket, connect
// timeout) means the database is unavailable; a cancelled request stays a context error.
func mapPostgresErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNotFound
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505": // unique_violation
			return &classified{kind: ErrAlreadyExists, err: err}
		case "57P01", "57P02", "57P03", "53300": // shutting down, cannot connect now, too many connections
			return &classified{kind: ErrUnavailable, err: err}
		}
		return err
	}
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) {
		return &classified{kind: ErrUnavailable, err: err}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return &classified{kind: ErrUnavailable, err: err}
}
