package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Queryer runs SQL. *DB and *Tx implement it, so a domain function that takes a Queryer
// works inside or outside a transaction. Placeholders are `$1`, `$2`, … on both backends.
type Queryer interface {
	// Exec runs a statement and reports how many rows it changed.
	Exec(ctx context.Context, query string, args ...any) (int64, error)
	// Query runs a query that returns rows. The caller must Close the rows.
	Query(ctx context.Context, query string, args ...any) (*Rows, error)
	// QueryRow runs a query that returns at most one row; Scan reports ErrNotFound for none.
	QueryRow(ctx context.Context, query string, args ...any) *Row
}

var (
	_ Queryer = (*DB)(nil)
	_ Queryer = (*Tx)(nil)
)

// Exec runs a statement outside a transaction (on SQLite, on the writer connection).
func (db *DB) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	if db.dialect == Postgres {
		return pgExec(ctx, db.pool, query, args)
	}
	return sqliteExec(ctx, db.writer, query, args)
}

// Query runs a read outside a transaction (on SQLite, on the read-only pool).
func (db *DB) Query(ctx context.Context, query string, args ...any) (*Rows, error) {
	if db.dialect == Postgres {
		return pgQuery(ctx, db.pool, query, args)
	}
	return sqliteQuery(ctx, db.reader, query, args)
}

// QueryRow runs a one-row read outside a transaction (on SQLite, on the read-only pool).
func (db *DB) QueryRow(ctx context.Context, query string, args ...any) *Row {
	if db.dialect == Postgres {
		return &Row{pg: db.pool.QueryRow(ctx, query, args...)}
	}
	return &Row{lite: db.reader.QueryRowContext(ctx, query, sqliteArgs(args)...)}
}

// pgQuerier is what pgxpool.Pool and pgx.Tx have in common.
type pgQuerier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// sqlQuerier is what *sql.DB and *sql.Tx have in common.
type sqlQuerier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func pgExec(ctx context.Context, q pgQuerier, query string, args []any) (int64, error) {
	tag, err := q.Exec(ctx, query, args...)
	if err != nil {
		return 0, mapPostgresErr(err)
	}
	return tag.RowsAffected(), nil
}

func pgQuery(ctx context.Context, q pgQuerier, query string, args []any) (*Rows, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, mapPostgresErr(err)
	}
	return &Rows{pg: rows}, nil
}

func sqliteExec(ctx context.Context, q sqlQuerier, query string, args []any) (int64, error) {
	res, err := q.ExecContext(ctx, query, sqliteArgs(args)...)
	if err != nil {
		return 0, mapSQLiteErr(err)
	}
	n, err := res.RowsAffected()
	return n, mapSQLiteErr(err)
}

func sqliteQuery(ctx context.Context, q sqlQuerier, query string, args []any) (*Rows, error) {
	rows, err := q.QueryContext(ctx, query, sqliteArgs(args)...)
	if err != nil {
		return nil, mapSQLiteErr(err)
	}
	return &Rows{lite: rows}, nil
}

// Rows is the result of Query. Iterate with Next and Scan, then check Err; always Close.
type Rows struct {
	pg   pgx.Rows
	lite *sql.Rows
}

// Next advances to the next row and reports whether there is one.
func (r *Rows) Next() bool {
	if r.pg != nil {
		return r.pg.Next()
	}
	return r.lite.Next()
}

// Scan copies the current row's columns into dest. Times come back in UTC.
func (r *Rows) Scan(dest ...any) error {
	if r.pg != nil {
		if err := r.pg.Scan(dest...); err != nil {
			return mapPostgresErr(err)
		}
		utcTimes(dest)
		return nil
	}
	return mapSQLiteErr(r.lite.Scan(sqliteDest(dest)...))
}

// Err reports the error, if any, that ended iteration.
func (r *Rows) Err() error {
	if r.pg != nil {
		return mapPostgresErr(r.pg.Err())
	}
	return mapSQLiteErr(r.lite.Err())
}

// Close releases the rows' connection. It is safe to call more than once.
func (r *Rows) Close() {
	if r.pg != nil {
		r.pg.Close()
		return
	}
	_ = r.lite.Close()
}

// Row is the result of QueryRow.
type Row struct {
	pg   pgx.Row
	lite *sql.Row
}

// Scan copies the row's columns into dest, or reports ErrNotFound when there was no row.
func (r *Row) Scan(dest ...any) error {
	if r.pg != nil {
		if err := r.pg.Scan(dest...); err != nil {
			return mapPostgresErr(err)
		}
		utcTimes(dest)
		return nil
	}
	return mapSQLiteErr(r.lite.Scan(sqliteDest(dest)...))
}

// utcTimes puts scanned PostgreSQL times in UTC, as SQLite's are, so that callers see the
// same values on both backends.
func utcTimes(dest []any) {
	for _, d := range dest {
		switch v := d.(type) {
		case *time.Time:
			*v = v.UTC()
		case **time.Time:
			if *v != nil {
				t := (*v).UTC()
				*v = &t
			}
		}
	}
}

// CollectRows scans every row with scan and closes rows.
func CollectRows[T any](rows *Rows, scan func(*Rows) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
