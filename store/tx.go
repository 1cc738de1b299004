package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Tx is a database transaction. Everything done through it commits or rolls back
// together. It is not safe for concurrent use.
type Tx struct {
	dialect Dialect
	pg      pgx.Tx
	lite    *sql.Tx
}

// Tx runs fn in a transaction: it commits when fn returns nil and rolls back when fn
// returns an error or panics. On SQLite the transaction holds the one writer connection,
// so fn must not start another transaction or write through db directly.
func (db *DB) Tx(ctx context.Context, fn func(tx *Tx) error) (err error) {
	tx, err := db.begin(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.rollback(ctx)
			panic(p)
		}
		if err != nil {
			if rbErr := tx.rollback(ctx); rbErr != nil {
				err = errors.Join(err, fmt.Errorf("store: rollback: %w", rbErr))
			}
		}
	}()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.commit(ctx)
}

// ReadTx runs fn in a read-only transaction that sees one consistent snapshot of the
// database for all its queries, whatever commits meanwhile: for readers that must not
// see half of a concurrent change (verifying the audit chain while the sealer extends
// it). On SQLite it runs on the read pool and does not hold up writers.
func (db *DB) ReadTx(ctx context.Context, fn func(tx *Tx) error) error {
	var tx *Tx
	if db.dialect == Postgres {
		t, err := db.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
		if err != nil {
			return fmt.Errorf("store: begin: %w", mapPostgresErr(err))
		}
		tx = &Tx{dialect: Postgres, pg: t}
	} else {
		t, err := db.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
		if err != nil {
			return fmt.Errorf("store: begin: %w", mapSQLiteErr(err))
		}
		tx = &Tx{dialect: SQLite, lite: t}
	}
	// Nothing was written: ending it either way is the same, and rollback cannot fail
	// a reader that got its answer.
	defer func() { _ = tx.rollback(ctx) }()
	return fn(tx)
}

func (db *DB) begin(ctx context.Context) (*Tx, error) {
	if db.dialect == Postgres {
		t, err := db.pool.Begin(ctx)
		if err != nil {
			return nil, fmt.Errorf("store: begin: %w", mapPostgresErr(err))
		}
		return &Tx{dialect: Postgres, pg: t}, nil
	}
	t, err := db.writer.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("store: begin: %w", mapSQLiteErr(err))
	}
	return &Tx{dialect: SQLite, lite: t}, nil
}

func (tx *Tx) commit(ctx context.Context) error {
	if tx.pg != nil {
		if err := tx.pg.Commit(ctx); err != nil {
			return fmt.Errorf("store: commit: %w", mapPostgresErr(err))
		}
		return nil
	}
	if err := tx.lite.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", mapSQLiteErr(err))
	}
	return nil
}

func (tx *Tx) rollback(ctx context.Context) error {
	if tx.pg != nil {
		// A context that is already cancelled must not stop the rollback.
		err := tx.pg.Rollback(context.WithoutCancel(ctx))
		if errors.Is(err, pgx.ErrTxClosed) {
			return nil
		}
		return err
	}
	err := tx.lite.Rollback()
	if errors.Is(err, sql.ErrTxDone) {
		return nil
	}
	return err
}

// Dialect reports which backend the transaction runs on.
func (tx *Tx) Dialect() Dialect { return tx.dialect }

// Pgx is the native transaction on PostgreSQL and nil on SQLite, for libraries that
// must join it (the job queue enqueues in the caller's transaction).
func (tx *Tx) Pgx() pgx.Tx { return tx.pg }

// SQL is the native transaction on SQLite and nil on PostgreSQL; see Pgx.
func (tx *Tx) SQL() *sql.Tx { return tx.lite }

// Exec runs a statement in the transaction and reports how many rows it changed.
func (tx *Tx) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	if tx.pg != nil {
		return pgExec(ctx, tx.pg, query, args)
	}
	return sqliteExec(ctx, tx.lite, query, args)
}

// Query runs a query in the transaction. The caller must Close the rows.
func (tx *Tx) Query(ctx context.Context, query string, args ...any) (*Rows, error) {
	if tx.pg != nil {
		return pgQuery(ctx, tx.pg, query, args)
	}
	return sqliteQuery(ctx, tx.lite, query, args)
}

// QueryRow runs a one-row query in the transaction.
func (tx *Tx) QueryRow(ctx context.Context, query string, args ...any) *Row {
	if tx.pg != nil {
		return &Row{pg: tx.pg.QueryRow(ctx, query, args...)}
	}
	return &Row{lite: tx.lite.QueryRowContext(ctx, query, sqliteArgs(args)...)}
}
