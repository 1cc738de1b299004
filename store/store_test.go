package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// scratchTable creates a table of the test's own with an id, a unique name, a time and a
// nullable time, in the dialect's types.
func scratchTable(t *testing.T, db *store.DB) string {
	t.Helper()
	name := fmt.Sprintf("scratch_%d", time.Now().UnixNano())
	ddl := "CREATE TABLE " + name + " (id bigint PRIMARY KEY, name text NOT NULL UNIQUE, at timestamptz NOT NULL, gone timestamptz)"
	if db.Dialect() == store.SQLite {
		ddl = "CREATE TABLE " + name + " (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, at TEXT NOT NULL, gone TEXT) STRICT"
	}
	if _, err := db.Exec(context.Background(), ddl); err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	return name
}

func TestTxCommitsWhenFnSucceedsAndRollsBackWhenItFails(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		tbl := scratchTable(t, db)
		now := time.Now()
		err := db.Tx(ctx, func(tx *store.Tx) error {
			_, err := tx.Exec(ctx, "INSERT INTO "+tbl+" (id, name, at) VALUES ($1, $2, $3)", 1, "kept", now)
			return err
		})
		if err != nil {
			t.Fatalf("commit: %v", err)
		}
		boom := errors.New("boom")
		err = db.Tx(ctx, func(tx *store.Tx) error {
			if _, err := tx.Exec(ctx, "INSERT INTO "+tbl+" (id, name, at) VALUES ($1, $2, $3)", 2, "dropped", now); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("rollback returned %v, want boom", err)
		}
		func() {
			defer func() {
				if recover() == nil {
					t.Error("panic in fn was swallowed")
				}
			}()
			_ = db.Tx(ctx, func(tx *store.Tx) error {
				if _, err := tx.Exec(ctx, "INSERT INTO "+tbl+" (id, name, at) VALUES ($1, $2, $3)", 3, "panicked", now); err != nil {
					return err
				}
				panic("in transaction")
			})
		}()
		var names []string
		rows, err := db.Query(ctx, "SELECT name FROM "+tbl+" ORDER BY id")
		if err != nil {
			t.Fatal(err)
		}
		names, err = store.CollectRows(rows, func(r *store.Rows) (string, error) {
			var s string
			return s, r.Scan(&s)
		})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(names, ",") != "kept" {
			t.Fatalf("rows after commit, rollback and panic = %v, want [kept]", names)
		}
		// The writer is free again after a panic: a new transaction works.
		if err := db.Tx(ctx, func(tx *store.Tx) error { return nil }); err != nil {
			t.Fatalf("transaction after panic: %v", err)
		}
	})
}

func TestErrorsMapToSentinels(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		tbl := scratchTable(t, db)
		var name string
		err := db.QueryRow(ctx, "SELECT name FROM "+tbl+" WHERE id = $1", 42).Scan(&name)
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("missing row: got %v, want ErrNotFound", err)
		}
		if _, err := db.Exec(ctx, "INSERT INTO "+tbl+" (id, name, at) VALUES ($1, $2, $3)", 1, "a", time.Now()); err != nil {
			t.Fatal(err)
		}
		_, err = db.Exec(ctx, "INSERT INTO "+tbl+" (id, name, at) VALUES ($1, $2, $3)", 2, "a", time.Now())
		if !errors.Is(err, store.ErrAlreadyExists) {
			t.Errorf("duplicate unique value: got %v, want ErrAlreadyExists", err)
		}
		_, err = db.Exec(ctx, "INSERT INTO "+tbl+" (id, name, at) VALUES ($1, $2, $3)", 1, "b", time.Now())
		if !errors.Is(err, store.ErrAlreadyExists) {
			t.Errorf("duplicate primary key: got %v, want ErrAlreadyExists", err)
		}
		_, err = db.Exec(ctx, "SELECT * FROM no_such_table")
		if err == nil || errors.Is(err, store.ErrUnavailable) || errors.Is(err, store.ErrNotFound) {
			t.Errorf("SQL error: got %v, want a plain error", err)
		}
	})
}

func TestTimesRoundTripInUTCAndCompareInOrder(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		tbl := scratchTable(t, db)
		zone := time.FixedZone("UTC+5", 5*3600)
		base := time.Date(2026, 3, 1, 10, 0, 0, 0, zone)
		// Whole seconds and fractions mixed, so that text order would break if widths varied.
		times := []time.Time{base, base.Add(500 * time.Millisecond), base.Add(450 * time.Millisecond), base.Add(time.Microsecond), base.Add(-time.Hour)}
		for i, at := range times {
			var gone *time.Time
			if i%2 == 0 {
				g := at.Add(time.Minute)
				gone = &g
			}
			if _, err := db.Exec(ctx, "INSERT INTO "+tbl+" (id, name, at, gone) VALUES ($1, $2, $3, $4)", i, fmt.Sprint(i), at, gone); err != nil {
				t.Fatal(err)
			}
		}
		var got time.Time
		var gone *time.Time
		if err := db.QueryRow(ctx, "SELECT at, gone FROM "+tbl+" WHERE id = 3").Scan(&got, &gone); err != nil {
			t.Fatal(err)
		}
		if !got.Equal(times[3]) || got.Location() != time.UTC {
			t.Errorf("time = %v (%v), want %v in UTC", got, got.Location(), times[3])
		}
		if gone != nil {
			t.Errorf("NULL time scanned as %v, want nil", gone)
		}
		rows, err := db.Query(ctx, "SELECT id FROM "+tbl+" WHERE at > $1 AND at < $2 ORDER BY at", base, base.Add(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		ids, err := store.CollectRows(rows, func(r *store.Rows) (int, error) {
			var id int
			return id, r.Scan(&id)
		})
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(ids) != "[3 2 1]" {
			t.Errorf("ids in (base, base+1s) by time = %v, want [3 2 1]", ids)
		}
	})
}

func TestConcurrentTransactionsLoseNoWrites(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		tbl := scratchTable(t, db)
		if _, err := db.Exec(ctx, "INSERT INTO "+tbl+" (id, name, at) VALUES (1, 'counter', $1)", time.Now()); err != nil {
			t.Fatal(err)
		}
		const workers, each = 16, 20
		var wg sync.WaitGroup
		errs := make(chan error, workers*each)
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					errs <- db.Tx(ctx, func(tx *store.Tx) error {
						var n int
						if err := tx.QueryRow(ctx, "SELECT id FROM "+tbl+" WHERE name = 'counter'").Scan(&n); err != nil {
							return err
						}
						_, err := tx.Exec(ctx, "INSERT INTO "+tbl+" (id, name, at) VALUES ($1, $2, $3)",
							1000+w*each+i, fmt.Sprintf("w%d-%d", w, i), time.Now())
						return err
					})
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("transaction failed under concurrency: %v", err)
			}
		}
		var n int
		if err := db.QueryRow(ctx, "SELECT count(*) FROM "+tbl).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != workers*each+1 {
			t.Fatalf("rows = %d, want %d", n, workers*each+1)
		}
	})
}

func TestOpenRejectsBadURLsWithoutEchoingSecrets(t *testing.T) {
	cases := map[string]string{
		"":                                   "must start with sqlite: or postgres://",
		"mysql://root@localhost/x":           "must start with sqlite: or postgres://",
		"sqlite:":                            "no file path",
		"sqlite::memory:":                    "in-memory",
		"sqlite:/tmp/x.db?mode=ro":           "must not contain",
		"postgres://u:s3cret@host:badport/d": "malformed",
	}
	for raw, want := range cases {
		_, err := store.Open(context.Background(), raw, store.Options{})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Open(%q) = %v, want an error containing %q", raw, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("Open(%q) error leaks the password: %v", raw, err)
		}
	}
}

func TestOpenRetriesAnUnreachablePostgresThenGivesUp(t *testing.T) {
	p := storetest.NewProxy(t, "127.0.0.1:1")
	p.Cut()
	start := time.Now()
	_, err := store.Open(context.Background(), "postgres://u:s3cret@"+p.Addr+"/db?sslmode=disable",
		store.Options{ConnectTimeout: 1500 * time.Millisecond})
	elapsed := time.Since(start)
	if err == nil {
		t.Fatal("Open succeeded against a closed port")
	}
	if !strings.Contains(err.Error(), "unreachable after") || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error = %q, want 'unreachable after' and no password", err)
	}
	if elapsed < 1400*time.Millisecond || elapsed > 10*time.Second {
		t.Errorf("gave up after %v, want about the 1.5s connect timeout", elapsed)
	}
}

func TestOpenFailsFastWhenPostgresSaysTheDatabaseDoesNotExist(t *testing.T) {
	base := storetest.FreshPostgresURL(t)
	u := strings.Replace(base, storetest.PostgresAddr(t, base)+"/", storetest.PostgresAddr(t, base)+"/no_such_db_", 1)
	start := time.Now()
	_, err := store.Open(context.Background(), u, store.Options{ConnectTimeout: 30 * time.Second})
	if err == nil {
		t.Fatal("Open succeeded on a database that does not exist")
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("took %v; a missing database must not be retried", time.Since(start))
	}
}

func TestLostPostgresIsUnavailableAndRecoversByItself(t *testing.T) {
	base := storetest.FreshPostgresURL(t)
	p := storetest.NewProxy(t, storetest.PostgresAddr(t, base))
	db, err := store.Open(context.Background(), storetest.PostgresURLVia(t, base, p), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	if err := db.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	p.Cut()
	var one int
	err = db.QueryRow(ctx, "SELECT 1").Scan(&one)
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("query with the database gone: %v, want ErrUnavailable", err)
	}
	if err := db.Tx(ctx, func(*store.Tx) error { return nil }); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("transaction with the database gone: %v, want ErrUnavailable", err)
	}
	p.Restore()
	deadline := time.Now().Add(15 * time.Second)
	for db.QueryRow(ctx, "SELECT 1").Scan(&one) != nil {
		if time.Now().After(deadline) {
			t.Fatal("store did not recover after the database came back")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestClaimServerAllowsOneServerPerSQLiteFile(t *testing.T) {
	url := storetest.SQLiteURL(t)
	a, err := store.Open(context.Background(), url, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := store.Open(context.Background(), url, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	release, err := a.ClaimServer()
	if err != nil {
		t.Fatalf("first claim: %v", err)
	}
	_, err = b.ClaimServer()
	if !errors.Is(err, store.ErrInUse) || !strings.Contains(err.Error(), "one server per database file") {
		t.Fatalf("second claim = %v, want ErrInUse saying why", err)
	}
	release()
	release2, err := b.ClaimServer()
	if err != nil {
		t.Fatalf("claim after release: %v", err)
	}
	release2()
}

func TestMigratorReportsALostPostgresAsUnavailable(t *testing.T) {
	base := storetest.FreshPostgresURL(t)
	p := storetest.NewProxy(t, storetest.PostgresAddr(t, base))
	db := storetest.Open(t, storetest.PostgresURLVia(t, base, p))
	storetest.Migrate(t, db)
	m := newMigrator(t, db)
	p.Cut()
	if _, _, err := m.Version(context.Background()); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("version with the database gone = %v, want ErrUnavailable", err)
	}
	if _, err := m.Status(context.Background()); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("status with the database gone = %v, want ErrUnavailable", err)
	}
}

func TestReadTxSeesOneSnapshotWhateverCommitsMeanwhile(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		tbl := scratchTable(t, db)
		if _, err := db.Exec(ctx, "INSERT INTO "+tbl+" (id, name, at) VALUES (1, 'a', $1)", time.Now()); err != nil {
			t.Fatal(err)
		}
		count := func(q store.Queryer) int {
			var n int
			if err := q.QueryRow(ctx, "SELECT count(*) FROM "+tbl).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		err := db.ReadTx(ctx, func(tx *store.Tx) error {
			before := count(tx)
			if _, err := db.Exec(ctx, "INSERT INTO "+tbl+" (id, name, at) VALUES (2, 'b', $1)", time.Now()); err != nil {
				return err
			}
			if after := count(tx); after != before {
				t.Errorf("the snapshot changed from %d to %d rows", before, after)
			}
			if _, err := tx.Exec(ctx, "INSERT INTO "+tbl+" (id, name, at) VALUES (3, 'c', $1)", time.Now()); err == nil {
				t.Error("a read-only transaction wrote")
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if n := count(db); n != 2 {
			t.Fatalf("after the snapshot: %d rows, want 2", n)
		}
	})
}

func TestExecAtCommitRunsInTheTransactionAndFailsItWhenItFails(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		tbl := scratchTable(t, db)
		insert := "INSERT INTO " + tbl + " (id, name, at) VALUES ($1, $2, $3)"
		names := func() string {
			rows, err := db.Query(ctx, "SELECT name FROM "+tbl+" ORDER BY id")
			if err != nil {
				t.Fatal(err)
			}
			got, err := store.CollectRows(rows, func(r *store.Rows) (string, error) {
				var s string
				return s, r.Scan(&s)
			})
			if err != nil {
				t.Fatal(err)
			}
			return strings.Join(got, ",")
		}

		// Deferred statements run at commit, after the transaction's own.
		err := db.Tx(ctx, func(tx *store.Tx) error {
			tx.ExecAtCommit(insert, 2, "deferred", time.Now())
			_, err := tx.Exec(ctx, insert, 1, "direct", time.Now())
			return err
		})
		if err != nil || names() != "direct,deferred" {
			t.Fatalf("commit with a deferred statement: %v, rows %q", err, names())
		}
		// A deferred statement that fails takes the whole transaction with it.
		err = db.Tx(ctx, func(tx *store.Tx) error {
			if _, err := tx.Exec(ctx, insert, 3, "lost", time.Now()); err != nil {
				return err
			}
			tx.ExecAtCommit(insert, 1, "duplicate", time.Now())
			return nil
		})
		if !errors.Is(err, store.ErrAlreadyExists) || names() != "direct,deferred" {
			t.Fatalf("a failing deferred statement: %v, rows %q", err, names())
		}
		// A rolled-back transaction drops what it deferred.
		boom := errors.New("boom")
		err = db.Tx(ctx, func(tx *store.Tx) error {
			tx.ExecAtCommit(insert, 4, "dropped", time.Now())
			return boom
		})
		if !errors.Is(err, boom) || names() != "direct,deferred" {
			t.Fatalf("rollback: %v, rows %q", err, names())
		}
		// A transaction of deferred statements only, and an empty one.
		if err := db.Tx(ctx, func(tx *store.Tx) error { tx.ExecAtCommit(insert, 5, "alone", time.Now()); return nil }); err != nil {
			t.Fatal(err)
		}
		if err := db.Tx(ctx, func(*store.Tx) error { return nil }); err != nil {
			t.Fatal(err)
		}
		if names() != "direct,deferred,alone" {
			t.Fatalf("rows %q", names())
		}
	})
}

func TestTheFirstStatementOfATransactionMayBeAReadOrFail(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		tbl := scratchTable(t, db)
		if _, err := db.Exec(ctx, "INSERT INTO "+tbl+" (id, name, at) VALUES (1, 'a', $1)", time.Now()); err != nil {
			t.Fatal(err)
		}
		err := db.Tx(ctx, func(tx *store.Tx) error {
			var name string
			if err := tx.QueryRow(ctx, "SELECT name FROM "+tbl+" WHERE id = 99").Scan(&name); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("first statement, no row: %v", err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		err = db.Tx(ctx, func(tx *store.Tx) error {
			rows, err := tx.Query(ctx, "SELECT name FROM "+tbl)
			if err != nil {
				return err
			}
			got, err := store.CollectRows(rows, func(r *store.Rows) (string, error) {
				var s string
				return s, r.Scan(&s)
			})
			if err != nil || len(got) != 1 {
				t.Errorf("first statement a query: %v %v", got, err)
			}
			_, err = tx.Exec(ctx, "UPDATE "+tbl+" SET name = 'b'")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		// A first statement the database refuses fails the transaction, and leaves the
		// connection fit for the next one.
		for range 3 {
			err := db.Tx(ctx, func(tx *store.Tx) error {
				_, err := tx.Exec(ctx, "SELECT * FROM no_such_table")
				return err
			})
			if err == nil || errors.Is(err, store.ErrUnavailable) {
				t.Fatalf("refused first statement: %v", err)
			}
		}
		var name string
		if err := db.QueryRow(ctx, "SELECT name FROM "+tbl+" WHERE id = 1").Scan(&name); err != nil || name != "b" {
			t.Fatalf("after refused transactions: %q %v", name, err)
		}
	})
}

func TestNestedTransactionsOnPostgresAreSavepoints(t *testing.T) {
	db := storetest.Postgres(t)
	ctx := context.Background()
	tbl := scratchTable(t, db)
	err := db.Tx(ctx, func(tx *store.Tx) error {
		if _, err := tx.Exec(ctx, "INSERT INTO "+tbl+" (id, name, at) VALUES (1, 'outer', $1)", time.Now()); err != nil {
			return err
		}
		inner, err := tx.Pgx().Begin(ctx)
		if err != nil {
			return err
		}
		if _, err := inner.Exec(ctx, "INSERT INTO "+tbl+" (id, name, at) VALUES (2, 'undone', $1)", time.Now()); err != nil {
			return err
		}
		if err := inner.Rollback(ctx); err != nil {
			return err
		}
		kept, err := tx.Pgx().Begin(ctx)
		if err != nil {
			return err
		}
		if _, err := kept.Exec(ctx, "INSERT INTO "+tbl+" (id, name, at) VALUES (3, 'kept', $1)", time.Now()); err != nil {
			return err
		}
		return kept.Commit(ctx)
	})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRow(ctx, "SELECT count(*) FROM "+tbl).Scan(&n); err != nil || n != 2 {
		t.Fatalf("rows after a rolled-back and a committed savepoint: %d, %v; want 2", n, err)
	}
}
