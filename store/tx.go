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
	db      *DB
	pg      pgx.Tx
	lite    *sql.Tx
	// atCommit are SQLite's statements queued by ExecAtCommit; PostgreSQL's wait in pgTx.
	atCommit []queued
	// afterCommit run once the transaction has committed.
	afterCommit []func()
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
		return classifyLost(tx.dialect, err)
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
		t, err := db.beginPostgres(ctx)
		if err != nil {
			return nil, fmt.Errorf("store: begin: %w", mapPostgresErr(err))
		}
		return &Tx{dialect: Postgres, pg: t}, nil
	}
	t, err := db.writer.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("store: begin: %w", mapSQLiteErr(err))
	}
	return &Tx{dialect: SQLite, db: db, lite: t}, nil
}

func (tx *Tx) commit(ctx context.Context) error {
	for _, q := range tx.atCommit {
		if _, err := tx.Exec(ctx, q.sql, q.args...); err != nil {
			return err
		}
	}
	if tx.pg != nil {
		if err := tx.pg.Commit(ctx); err != nil {
			return fmt.Errorf("store: commit: %w", mapPostgresErr(err))
		}
	} else if err := tx.lite.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", mapSQLiteErr(err))
	}
	for _, fn := range tx.afterCommit {
		fn()
	}
	return nil
}

// AfterCommit runs fn once the transaction has committed, and never if it rolls back:
// for what must follow a change only when the change holds, such as updating a cache
// of what was written.
func (tx *Tx) AfterCommit(fn func()) { tx.afterCommit = append(tx.afterCommit, fn) }

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

// ExecAtCommit queues a statement to run in the transaction just before it commits, and
// fails the commit (rolling everything back) if the statement fails. It is for writes
// whose result nobody reads — an audit record — and on PostgreSQL it costs no round trip
// of its own: the statement travels with COMMIT. The statement sees the transaction's
// other changes; the transaction's own reads do not see it.
func (tx *Tx) ExecAtCommit(query string, args ...any) {
	if p, ok := tx.pg.(*pgTx); ok {
		p.queueForCommit(query, args)
		return
	}
	if tx.pg != nil {
		panic("store: ExecAtCommit in a read-only transaction") // a programming error, not input
	}
	tx.atCommit = append(tx.atCommit, queued{sql: query, args: args})
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
	if tx.db != nil {
		if st := tx.db.prepared.lookup(query); st != nil {
			// database/sql reuses the statement prepared on the writer connection, which
			// is the transaction's.
			res, err := tx.lite.StmtContext(ctx, st).ExecContext(ctx, sqliteArgs(args)...)
			if err != nil {
				return 0, mapSQLiteErr(err)
			}
			n, err := res.RowsAffected()
			return n, mapSQLiteErr(err)
		}
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

// Begin starts a transaction that the caller ends with Commit or Rollback, for libraries
// that take a transaction in steps (fosite's storage.Transactional). Prefer Tx, which
// cannot forget to end one: on SQLite an open transaction holds the one writer.
func (db *DB) Begin(ctx context.Context) (*Tx, error) { return db.begin(ctx) }

// Commit commits a transaction from Begin.
func (tx *Tx) Commit(ctx context.Context) error { return tx.commit(ctx) }

// Rollback rolls back a transaction from Begin; rolling back one already ended does
// nothing.
func (tx *Tx) Rollback(ctx context.Context) error { return tx.rollback(ctx) }
