package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// sqliteTimeLayout is how times are stored in SQLite TEXT columns: UTC, fixed width, with
// microseconds (PostgreSQL's precision), so that string order is time order and indexes
// on time columns work for range queries.
const sqliteTimeLayout = "2006-01-02T15:04:05.000000Z"

// sqliteParams apply to both pools. WAL lets readers run beside the writer; FULL sync
// keeps every acknowledged commit through a power loss, not only a process crash. The
// writer's transactions are immediate — they take the write lock at BEGIN, so one never
// fails halfway when upgrading from reader to writer.
const sqliteParams = "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(FULL)"

func openSQLite(ctx context.Context, path string, opts Options) (*DB, error) {
	path = strings.TrimPrefix(path, "//")
	switch {
	case path == "":
		return nil, errors.New("store: sqlite: URL has no file path (use sqlite:PATH)")
	case path == ":memory:" || strings.HasPrefix(path, "file::memory:"):
		return nil, errors.New("store: sqlite: in-memory databases are not supported; name a file")
	case strings.ContainsAny(path, "?#"):
		return nil, errors.New("store: sqlite: the file path must not contain '?' or '#'")
	}
	if opts.MustExist {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("store: sqlite: no database at %s (create it with identityd migrate up): %w", path, err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("store: sqlite: create directory for %s: %w", path, err)
	}

	writer, err := sql.Open("sqlite", path+"?"+sqliteParams+"&_txlock=immediate&_pragma=journal_mode(WAL)")
	if err != nil {
		return nil, fmt.Errorf("store: sqlite: open %s: %w", path, err)
	}
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	writer.SetConnMaxIdleTime(0)
	if err := writer.PingContext(ctx); err != nil {
		_ = writer.Close()
		return nil, fmt.Errorf("store: sqlite: open %s: %w", path, err)
	}

	// Readers begin deferred: a read transaction is a WAL snapshot and takes no write
	// lock.
	reader, err := sql.Open("sqlite", path+"?"+sqliteParams+"&_txlock=deferred&_pragma=query_only(1)")
	if err != nil {
		_ = writer.Close()
		return nil, fmt.Errorf("store: sqlite: open %s: %w", path, err)
	}
	conns := opts.MaxConns
	if conns <= 0 {
		conns = 4
	}
	reader.SetMaxOpenConns(conns)
	reader.SetMaxIdleConns(conns)
	if err := reader.PingContext(ctx); err != nil {
		_ = reader.Close()
		_ = writer.Close()
		return nil, fmt.Errorf("store: sqlite: open %s: %w", path, err)
	}
	return &DB{dialect: SQLite, desc: "sqlite:" + path, path: path, writer: writer, reader: reader}, nil
}

// sqliteArgs converts time arguments to the stored text layout. It returns args itself
// when nothing needs converting, which is the common case.
func sqliteArgs(args []any) []any {
	var out []any
	for i, a := range args {
		var conv any
		switch v := a.(type) {
		case time.Time:
			conv = v.UTC().Format(sqliteTimeLayout)
		case *time.Time:
			if v == nil {
				conv = nil
			} else {
				conv = v.UTC().Format(sqliteTimeLayout)
			}
		default:
			continue
		}
		if out == nil {
			out = make([]any, len(args))
			copy(out, args)
		}
		out[i] = conv
	}
	if out == nil {
		return args
	}
	return out
}

// sqliteDest wraps time destinations so that stored text scans into time.Time.
func sqliteDest(dest []any) []any {
	var out []any
	for i, d := range dest {
		var wrapped any
		switch v := d.(type) {
		case *time.Time:
			wrapped = &sqliteTime{dst: v}
		case **time.Time:
			wrapped = &sqliteNullTime{dst: v}
		default:
			continue
		}
		if out == nil {
			out = make([]any, len(dest))
			copy(out, dest)
		}
		out[i] = wrapped
	}
	if out == nil {
		return dest
	}
	return out
}

type sqliteTime struct{ dst *time.Time }

func (s *sqliteTime) Scan(src any) error {
	if src == nil {
		return errors.New("store: sqlite: NULL scanned into a non-nullable time")
	}
	t, err := parseSQLiteTime(src)
	if err != nil {
		return err
	}
	*s.dst = t
	return nil
}

type sqliteNullTime struct{ dst **time.Time }

func (s *sqliteNullTime) Scan(src any) error {
	if src == nil {
		*s.dst = nil
		return nil
	}
	t, err := parseSQLiteTime(src)
	if err != nil {
		return err
	}
	*s.dst = &t
	return nil
}

func parseSQLiteTime(src any) (time.Time, error) {
	switch v := src.(type) {
	case time.Time:
		return v.UTC(), nil
	case string:
		return parseSQLiteTimeText(v)
	case []byte:
		return parseSQLiteTimeText(string(v))
	default:
		return time.Time{}, fmt.Errorf("store: sqlite: cannot scan %T into a time", src)
	}
}

func parseSQLiteTimeText(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("store: sqlite: stored time %q: %w", s, err)
	}
	return t.UTC(), nil
}

// mapSQLiteErr turns driver errors into the store's sentinels where one applies.
func mapSQLiteErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return &classified{kind: ErrAlreadyExists, err: err}
		}
		switch se.Code() & 0xff { // primary result code
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_IOERR,
			sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_FULL:
			return &classified{kind: ErrUnavailable, err: err}
		}
	}
	return err
}
