package store_test

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
)

func newMigrator(t *testing.T, db *store.DB, opts ...store.MigratorOption) *store.Migrator {
	t.Helper()
	m, err := store.NewMigrator(db, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func tableExists(t *testing.T, db *store.DB, name string) bool {
	t.Helper()
	q := "SELECT count(*) FROM information_schema.tables WHERE table_name = $1"
	if db.Dialect() == store.SQLite {
		q = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = $1"
	}
	var n int
	if err := db.QueryRow(context.Background(), q, name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}

func TestMigrationsGoUpDownAndUpAgain(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := storetest.Open(t, url)
		m := newMigrator(t, db)

		applied, err := m.Up(ctx)
		if err != nil {
			t.Fatalf("up: %v", err)
		}
		cur, latest, err := m.Version(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if cur != latest || latest < 2 || len(applied) != int(latest) {
			t.Fatalf("after up: version %d of %d, %d applied", cur, latest, len(applied))
		}
		for _, table := range []string{"admin_tokens", "river_job", "river_leader"} {
			if !tableExists(t, db, table) {
				t.Errorf("table %s missing after up", table)
			}
		}
		status, err := m.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range status {
			if !s.Applied || s.AppliedAt.IsZero() {
				t.Errorf("status after up: %+v, want applied", s)
			}
		}

		if _, err := m.Down(ctx); err != nil {
			t.Fatalf("down one: %v", err)
		}
		if cur, _, _ := m.Version(ctx); cur != latest-1 {
			t.Fatalf("after down one: version %d, want %d", cur, latest-1)
		}
		if _, err := m.DownTo(ctx, 0); err != nil {
			t.Fatalf("down to 0: %v", err)
		}
		for _, table := range []string{"admin_tokens", "river_job", "river_migration"} {
			if tableExists(t, db, table) {
				t.Errorf("table %s still there after down to 0", table)
			}
		}
		if _, err := m.Up(ctx); err != nil {
			t.Fatalf("up again: %v", err)
		}
		if cur, _, _ := m.Version(ctx); cur != latest {
			t.Fatalf("after up again: version %d, want %d", cur, latest)
		}
	})
}

func TestFailingMigrationLeavesThePreviousVersion(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := storetest.Open(t, url)
		good := newMigrator(t, db)
		if _, err := good.Up(ctx); err != nil {
			t.Fatal(err)
		}
		before, latest, _ := good.Version(ctx)

		broken := fstest.MapFS{"00099_broken.sql": {Data: []byte(
			"-- +goose Up\nCREATE TABLE half_done (id integer);\nSELECT * FROM table_that_is_not_there;\n" +
				"-- +goose Down\nDROP TABLE half_done;\n")}}
		embedded := store.EmbeddedMigrations(db.Dialect())
		files, _ := fs.Glob(embedded, "*.sql")
		for _, f := range files {
			data, _ := fs.ReadFile(embedded, f)
			broken[f] = &fstest.MapFile{Data: data}
		}
		m := newMigrator(t, db, store.WithMigrationsFS(broken))
		_, err := m.Up(ctx)
		if err == nil || !strings.Contains(err.Error(), "version 99") || !strings.Contains(err.Error(), "rolled back") {
			t.Fatalf("up with a broken migration = %v, want an error naming version 99", err)
		}
		after, _, err := good.Version(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if after != before || before != latest {
			t.Errorf("version after the failure = %d, want %d", after, before)
		}
		if tableExists(t, db, "half_done") {
			t.Error("the failed migration's first statement was not rolled back")
		}
	})
}

func TestConcurrentMigrateUpOnPostgresAppliesOnce(t *testing.T) {
	url := storetest.FreshPostgresURL(t)
	ctx := context.Background()
	var (
		wg      sync.WaitGroup
		results [2][]store.Applied
		errs    [2]error
	)
	for i := range 2 {
		db := storetest.Open(t, url)
		m := newMigrator(t, db)
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = m.Up(ctx)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		t.Fatalf("concurrent up: %v", err)
	}
	n0, n1 := len(results[0]), len(results[1])
	if (n0 == 0) == (n1 == 0) {
		t.Fatalf("applied %d and %d migrations; want one migrator to apply all and the other none", n0, n1)
	}
	_, latest, _ := newMigrator(t, storetest.Open(t, url)).Version(ctx)
	if int64(n0+n1) != latest {
		t.Fatalf("applied %d in all, want %d", n0+n1, latest)
	}
}

func TestEveryMigrationHasUpAndDownInBothDialects(t *testing.T) {
	pg, _ := fs.Glob(store.EmbeddedMigrations(store.Postgres), "*.sql")
	lite, _ := fs.Glob(store.EmbeddedMigrations(store.SQLite), "*.sql")
	if strings.Join(pg, ",") != strings.Join(lite, ",") {
		t.Fatalf("dialects differ:\npostgres: %v\nsqlite:   %v", pg, lite)
	}
	for _, d := range []store.Dialect{store.Postgres, store.SQLite} {
		for _, f := range pg {
			data, err := fs.ReadFile(store.EmbeddedMigrations(d), f)
			if err != nil {
				t.Fatal(err)
			}
			s := string(data)
			if !strings.Contains(s, "-- +goose Up") || !strings.Contains(s, "-- +goose Down") {
				t.Errorf("%s/%s lacks an Up or a Down section", d, f)
			}
		}
	}
}
