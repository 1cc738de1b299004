// Package storetest runs store-backed tests on both backends: an SQLite file in the test's
// temporary directory and a real PostgreSQL database.
//
// PostgreSQL comes from IDENTITYD_TEST_POSTGRES_URL (a superuser URL; the harness creates
// databases beside the one it names). Where that is unset, the harness starts a throwaway
// cluster with the PostgreSQL binaries installed on the machine, once per test binary.
// Without either, PostgreSQL tests are skipped — unless IDENTITYD_TEST_REQUIRE_POSTGRES=1,
// as in CI, where they fail instead.
//
// Each package shares one migrated PostgreSQL database across its tests (creating one per
// test would dominate the suite's time), so tests must not assume empty tables: they work
// with rows they created. Tests that need a database of their own use FreshPostgres.
//
// A package that uses the harness calls Main from its TestMain, which drops the databases
// and stops the cluster when the tests end.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/identityd/identityd/store"
)

// Environment variables the harness reads.
const (
	EnvPostgresURL     = "IDENTITYD_TEST_POSTGRES_URL"
	EnvRequirePostgres = "IDENTITYD_TEST_REQUIRE_POSTGRES"
)

// harness is the per-test-binary PostgreSQL state.
type harness struct {
	mainCalled bool

	once     sync.Once
	err      error
	cluster  *Cluster
	adminURL string
	admin    *url.URL
	template string // a migrated database that FreshPostgres copies
	shared   *store.DB

	mu      sync.Mutex
	created []string
}

var h harness

// Main runs the package's tests, then drops the PostgreSQL databases they created and
// stops the throwaway cluster if the harness started one. Call it from TestMain.
func Main(m *testing.M) {
	h.mainCalled = true
	code := m.Run()
	h.teardown()
	os.Exit(code)
}

// Each runs fn as two subtests, "sqlite" and "postgres", each with a migrated database.
func Each(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, Postgres(t)) })
}

// EachFresh is Each with a database of the test's own on PostgreSQL too, for tests that
// need tables nobody else writes (a job queue they drain, say).
func EachFresh(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, FreshPostgres(t)) })
}

// EachURL runs fn as two subtests with the URL of an empty, unmigrated database of the
// test's own, for tests of migrations and of commands that open the database themselves.
func EachURL(t *testing.T, fn func(t *testing.T, url string)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLiteURL(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, FreshPostgresURL(t)) })
}

// SQLiteURL is the URL of a new SQLite file in the test's temporary directory.
func SQLiteURL(t testing.TB) string {
	t.Helper()
	return "sqlite:" + filepath.Join(t.TempDir(), "identityd.db")
}

// SQLite opens a new migrated SQLite database, closed when the test ends.
func SQLite(t testing.TB) *store.DB {
	t.Helper()
	db := Open(t, SQLiteURL(t))
	Migrate(t, db)
	return db
}

// Postgres is the package's shared migrated PostgreSQL database.
func Postgres(t testing.TB) *store.DB {
	t.Helper()
	h.start(t)
	return h.shared
}

// FreshPostgres opens a new migrated PostgreSQL database of the test's own, dropped when
// the test binary ends.
func FreshPostgres(t testing.TB) *store.DB {
	t.Helper()
	h.start(t)
	name := h.createDatabase(t, h.template)
	return Open(t, h.databaseURL(name))
}

// FreshPostgresURL is the URL of a new, empty PostgreSQL database of the test's own.
func FreshPostgresURL(t testing.TB) string {
	t.Helper()
	h.start(t)
	return h.databaseURL(h.createDatabase(t, ""))
}

// Open opens the database at rawURL, closed when the test ends.
func Open(t testing.TB, rawURL string) *store.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := store.Open(ctx, rawURL, store.Options{MaxConns: 8})
	if err != nil {
		t.Fatalf("storetest: open: %v", err)
	}
	t.Cleanup(db.Close)
	return db
}

// Migrate applies every migration to db.
func Migrate(t testing.TB, db *store.DB) {
	t.Helper()
	if err := migrateDB(db); err != nil {
		t.Fatalf("storetest: %v", err)
	}
}

func migrateDB(db *store.DB) error {
	m, err := store.NewMigrator(db)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, err = m.Up(ctx)
	return err
}

// start makes sure PostgreSQL is there, or skips (fails where it is required).
func (h *harness) start(t testing.TB) {
	t.Helper()
	if !h.mainCalled {
		t.Fatal("storetest: call storetest.Main(m) from the package's TestMain")
	}
	h.once.Do(h.setup)
	if h.err != nil {
		if os.Getenv(EnvRequirePostgres) == "1" {
			t.Fatalf("storetest: PostgreSQL is required (%s=1) but unavailable: %v", EnvRequirePostgres, h.err)
		}
		t.Skipf("storetest: PostgreSQL unavailable, skipping: %v", h.err)
	}
}

func (h *harness) setup() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	h.adminURL = os.Getenv(EnvPostgresURL)
	if h.adminURL == "" {
		c, err := StartCluster(ctx)
		if err != nil {
			h.err = err
			return
		}
		h.cluster, h.adminURL = c, c.URL
	}
	admin, err := url.Parse(h.adminURL)
	if err != nil || (admin.Scheme != "postgres" && admin.Scheme != "postgresql") {
		h.err = fmt.Errorf("storetest: %s must be a postgres:// URL", EnvPostgresURL)
		return
	}
	h.admin = admin
	// The template is migrated once, then closed: PostgreSQL copies a database only
	// while nobody is connected to it.
	tmpl, err := h.create(ctx, "")
	if err != nil {
		h.err = err
		return
	}
	db, err := store.Open(ctx, h.databaseURL(tmpl), store.Options{})
	if err != nil {
		h.err = err
		return
	}
	err = migrateDB(db)
	db.Close()
	if err != nil {
		h.err = err
		return
	}
	h.template = tmpl
	shared, err := h.create(ctx, tmpl)
	if err != nil {
		h.err = err
		return
	}
	h.shared, h.err = store.Open(ctx, h.databaseURL(shared), store.Options{MaxConns: 16})
}

func (h *harness) createDatabase(t testing.TB, template string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	name, err := h.create(ctx, template)
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	return name
}

func (h *harness) create(ctx context.Context, template string) (string, error) {
	name := "identityd_test_" + randomHex(6)
	conn, err := pgx.Connect(ctx, h.adminURL)
	if err != nil {
		return "", fmt.Errorf("storetest: connect to %s: %w", EnvPostgresURL, err)
	}
	defer conn.Close(ctx)
	stmt := "CREATE DATABASE " + pgx.Identifier{name}.Sanitize()
	if template != "" {
		stmt += " TEMPLATE " + pgx.Identifier{template}.Sanitize()
	}
	if _, err := conn.Exec(ctx, stmt); err != nil {
		return "", fmt.Errorf("storetest: create database: %w", err)
	}
	h.mu.Lock()
	h.created = append(h.created, name)
	h.mu.Unlock()
	return name, nil
}

func (h *harness) databaseURL(name string) string {
	u := *h.admin
	u.Path = "/" + name
	return u.String()
}

func (h *harness) teardown() {
	if h.shared != nil {
		h.shared.Close()
	}
	if h.adminURL != "" && h.cluster == nil {
		// On a server we did not start, drop what we created.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if conn, err := pgx.Connect(ctx, h.adminURL); err == nil {
			for _, name := range h.created {
				_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
			}
			_ = conn.Close(ctx)
		}
	}
	if h.cluster != nil {
		h.cluster.Stop()
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func mustParse(t testing.TB, rawURL string) *url.URL {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatalf("storetest: parse URL: %v", err)
	}
	return u
}

// Count returns SELECT count(*) FROM from — a table, or a table and a WHERE clause the
// test writes itself.
func Count(t testing.TB, db *store.DB, from string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), `SELECT count(*) FROM `+from).Scan(&n); err != nil {
		t.Fatalf("storetest: count %s: %v", from, err)
	}
	return n
}
