package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// pgTx is a PostgreSQL transaction on one pooled connection that spends no round trip
// on its own bookkeeping: BEGIN travels in the same batch as the first statement, and
// the statements deferred with ExecAtCommit travel in the same batch as COMMIT. A
// transaction that makes one change and records its audit event thus costs two round
// trips, where pgx's own transactions cost four.
//
// It implements pgx.Tx, so that libraries which join the caller's transaction (the job
// queue) can use it; nested transactions are savepoints.
type pgTx struct {
	conn     *pgxpool.Conn
	begun    bool
	closed   bool
	deferred []queued
}

type queued struct {
	sql  string
	args []any
}

var (
	_ pgx.Tx = (*pgTx)(nil)
	_ pgx.Tx = (*pgSavepoint)(nil)
)

func (db *DB) beginPostgres(ctx context.Context) (*pgTx, error) {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	return &pgTx{conn: conn}, nil
}

// Exec runs a statement; the first one of the transaction carries BEGIN.
func (t *pgTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if t.closed {
		return pgconn.CommandTag{}, pgx.ErrTxClosed
	}
	if t.begun {
		return t.conn.Exec(ctx, sql, args...)
	}
	br, err := t.beginWith(ctx, sql, args)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return tag, err
}

// Query runs a query; the first one of the transaction carries BEGIN.
func (t *pgTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if t.closed {
		return nil, pgx.ErrTxClosed
	}
	if t.begun {
		return t.conn.Query(ctx, sql, args...)
	}
	br, err := t.beginWith(ctx, sql, args)
	if err != nil {
		return nil, err
	}
	rows, err := br.Query()
	if err != nil {
		_ = br.Close()
		return nil, err
	}
	return &batchRows{Rows: rows, br: br}, nil
}

// QueryRow runs a query for one row.
func (t *pgTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	rows, err := t.Query(ctx, sql, args...)
	return &oneRow{rows: rows, err: err}
}

// beginWith sends BEGIN and the statement in one batch and reads BEGIN's result; the
// caller reads the statement's and closes the batch.
func (t *pgTx) beginWith(ctx context.Context, sql string, args []any) (pgx.BatchResults, error) {
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	b.Queue(sql, args...)
	br := t.conn.SendBatch(ctx, b)
	if _, err := br.Exec(); err != nil {
		_ = br.Close()
		return nil, err
	}
	t.begun = true
	return br, nil
}

// ensureBegun starts the transaction on its own, for the calls that cannot carry it.
func (t *pgTx) ensureBegun(ctx context.Context) error {
	if t.closed {
		return pgx.ErrTxClosed
	}
	if t.begun {
		return nil
	}
	if _, err := t.conn.Exec(ctx, "BEGIN"); err != nil {
		return err
	}
	t.begun = true
	return nil
}

// queueForCommit queues a statement to run just before COMMIT, in the same round trip.
func (t *pgTx) queueForCommit(sql string, args []any) {
	t.deferred = append(t.deferred, queued{sql: sql, args: args})
}

// Commit sends the deferred statements and COMMIT in one batch. If a deferred statement
// fails, PostgreSQL skips the rest of the batch and the transaction is rolled back.
func (t *pgTx) Commit(ctx context.Context) error {
	if t.closed {
		return pgx.ErrTxClosed
	}
	defer t.release()
	if !t.begun && len(t.deferred) == 0 {
		return nil // nothing was sent: nothing to end
	}
	b := &pgx.Batch{}
	if !t.begun {
		b.Queue("BEGIN")
	}
	for _, q := range t.deferred {
		b.Queue(q.sql, q.args...)
	}
	b.Queue("COMMIT")
	br := t.conn.SendBatch(ctx, b)
	var err error
	for i := range b.Len() {
		tag, e := br.Exec()
		switch {
		case e != nil && err == nil:
			err = e // the first failure; the statements after it were skipped
		case e == nil && i == b.Len()-1 && tag.String() == "ROLLBACK":
			err = pgx.ErrTxCommitRollback
		}
	}
	if e := br.Close(); err == nil {
		err = e
	}
	return err
}

// Rollback ends the transaction without its changes.
func (t *pgTx) Rollback(ctx context.Context) error {
	if t.closed {
		return pgx.ErrTxClosed
	}
	defer t.release()
	if !t.begun {
		return nil
	}
	_, err := t.conn.Exec(ctx, "ROLLBACK")
	return err
}

// release returns the connection to the pool, rolling back first if a failure left the
// transaction open, so that the connection can be reused rather than destroyed.
func (t *pgTx) release() {
	t.closed, t.deferred = true, nil
	pc := t.conn.Conn().PgConn()
	if !pc.IsClosed() && !pc.IsBusy() && pc.TxStatus() != 'I' {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, _ = t.conn.Exec(ctx, "ROLLBACK")
		cancel()
	}
	t.conn.Release() // destroys the connection if it is still not idle
}

// Begin starts a nested transaction: a savepoint.
func (t *pgTx) Begin(ctx context.Context) (pgx.Tx, error) {
	if err := t.ensureBegun(ctx); err != nil {
		return nil, err
	}
	return newSavepoint(ctx, t, 1)
}

// SendBatch sends a batch in the transaction.
func (t *pgTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	if err := t.ensureBegun(ctx); err != nil {
		return errBatch{err}
	}
	return t.conn.SendBatch(ctx, b)
}

// CopyFrom copies rows in the transaction.
func (t *pgTx) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error) {
	if err := t.ensureBegun(ctx); err != nil {
		return 0, err
	}
	return t.conn.CopyFrom(ctx, table, columns, src)
}

// Prepare prepares a statement on the transaction's connection.
func (t *pgTx) Prepare(ctx context.Context, name, sql string) (*pgconn.StatementDescription, error) {
	if t.closed {
		return nil, pgx.ErrTxClosed
	}
	return t.conn.Conn().Prepare(ctx, name, sql)
}

// LargeObjects is not supported: pgx builds them only for its own transactions, and
// nothing in identityd stores large objects.
func (t *pgTx) LargeObjects() pgx.LargeObjects { return pgx.LargeObjects{} }

// Conn is the transaction's connection.
func (t *pgTx) Conn() *pgx.Conn { return t.conn.Conn() }

// pgSavepoint is a nested transaction of a pgTx.
type pgSavepoint struct {
	tx     *pgTx
	depth  int
	closed bool
}

func newSavepoint(ctx context.Context, tx *pgTx, depth int) (*pgSavepoint, error) {
	if _, err := tx.conn.Exec(ctx, fmt.Sprintf("SAVEPOINT sp_%d", depth)); err != nil {
		return nil, err
	}
	return &pgSavepoint{tx: tx, depth: depth}, nil
}

func (s *pgSavepoint) Begin(ctx context.Context) (pgx.Tx, error) {
	if s.closed {
		return nil, pgx.ErrTxClosed
	}
	return newSavepoint(ctx, s.tx, s.depth+1)
}

func (s *pgSavepoint) Commit(ctx context.Context) error {
	if s.closed {
		return pgx.ErrTxClosed
	}
	s.closed = true
	_, err := s.tx.conn.Exec(ctx, fmt.Sprintf("RELEASE SAVEPOINT sp_%d", s.depth))
	return err
}

func (s *pgSavepoint) Rollback(ctx context.Context) error {
	if s.closed {
		return pgx.ErrTxClosed
	}
	s.closed = true
	_, err := s.tx.conn.Exec(ctx, fmt.Sprintf("ROLLBACK TO SAVEPOINT sp_%d", s.depth))
	return err
}

func (s *pgSavepoint) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error) {
	return s.tx.conn.CopyFrom(ctx, table, columns, src)
}

func (s *pgSavepoint) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	return s.tx.conn.SendBatch(ctx, b)
}

func (s *pgSavepoint) LargeObjects() pgx.LargeObjects { return pgx.LargeObjects{} }

func (s *pgSavepoint) Prepare(ctx context.Context, name, sql string) (*pgconn.StatementDescription, error) {
	return s.tx.conn.Conn().Prepare(ctx, name, sql)
}

func (s *pgSavepoint) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return s.tx.conn.Exec(ctx, sql, args...)
}

func (s *pgSavepoint) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return s.tx.conn.Query(ctx, sql, args...)
}

func (s *pgSavepoint) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return s.tx.conn.QueryRow(ctx, sql, args...)
}

func (s *pgSavepoint) Conn() *pgx.Conn { return s.tx.conn.Conn() }

// batchRows are the rows of a batch's last query; closing them closes the batch.
type batchRows struct {
	pgx.Rows
	br       pgx.BatchResults
	closeErr error
	closed   bool
}

func (r *batchRows) Close() {
	r.Rows.Close()
	if !r.closed {
		r.closed = true
		r.closeErr = r.br.Close()
	}
}

func (r *batchRows) Err() error {
	if err := r.Rows.Err(); err != nil {
		return err
	}
	return r.closeErr
}

// oneRow is QueryRow's result over Query, as pgx's own is.
type oneRow struct {
	rows pgx.Rows
	err  error
}

func (r *oneRow) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	defer r.rows.Close()
	if !r.rows.Next() {
		r.rows.Close()
		if err := r.rows.Err(); err != nil {
			return err
		}
		return pgx.ErrNoRows
	}
	if err := r.rows.Scan(dest...); err != nil {
		return err
	}
	r.rows.Close()
	return r.rows.Err()
}

// errBatch is the results of a batch that could not be sent.
type errBatch struct{ err error }

func (e errBatch) Exec() (pgconn.CommandTag, error) { return pgconn.CommandTag{}, e.err }
func (e errBatch) Query() (pgx.Rows, error)         { return nil, e.err }
func (e errBatch) QueryRow() pgx.Row                { return &oneRow{err: e.err} }
func (e errBatch) Close() error                     { return e.err }
func (e errBatch) Tx() pgx.Tx                       { return nil }
