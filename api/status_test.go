package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
)

type status struct {
	Version  string `json:"version"`
	Database struct {
		Backend             string `json:"backend"`
		SchemaVersion       int64  `json:"schema_version"`
		LatestSchemaVersion int64  `json:"latest_schema_version"`
	} `json:"database"`
}

func TestStatusReportsTheVersionTheBackendAndTheSchema(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a := newAPI(t, db)
		var got status
		wantStatus(t, a.call(t, http.MethodGet, "/v1/status", ""), http.StatusOK, &got)
		if got.Version != "test" {
			t.Errorf("version = %q, want test", got.Version)
		}
		if got.Database.Backend != string(db.Dialect()) {
			t.Errorf("backend = %q, want %q", got.Database.Backend, db.Dialect())
		}
		if a.latest < 1 {
			t.Fatalf("the migrator knows no migrations (latest %d)", a.latest)
		}
		if got.Database.SchemaVersion != a.latest || got.Database.LatestSchemaVersion != a.latest {
			t.Errorf("schema %d of %d, want %d of %d", got.Database.SchemaVersion, got.Database.LatestSchemaVersion, a.latest, a.latest)
		}
	})
}

// driverWords are fragments of driver and network errors that must never reach a client.
var driverWords = []string{"dial", "connect", "refused", "EOF", "reset by peer", "pgx", "pgconn", "SQLSTATE",
	"127.0.0.1", "closed", "broken pipe", "sql:", "goose", "relation", "no such table", "admin_tokens"}

func wantNoInternals(t testing.TB, body []byte, extra ...string) {
	t.Helper()
	for _, w := range append(driverWords, extra...) {
		if strings.Contains(strings.ToLower(string(body)), strings.ToLower(w)) {
			t.Errorf("the reply tells the client about internals (%q): %s", w, body)
		}
	}
}

// proxiedPostgres opens a migrated PostgreSQL database of the test's own through a proxy
// the test can cut.
func proxiedPostgres(t *testing.T) (*store.DB, *storetest.Proxy) {
	t.Helper()
	base := storetest.FreshPostgresURL(t)
	p := storetest.NewProxy(t, storetest.PostgresAddr(t, base))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := store.Open(ctx, storetest.PostgresURLVia(t, base, p), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	m, err := store.NewMigrator(db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Up(ctx); err != nil {
		t.Fatal(err)
	}
	return db, p
}

// wantUnavailableThenRecovered cuts the proxy, expects GET /v1/status to answer 503 with
// Retry-After and no driver detail, restores it and expects 200 within a few seconds.
func wantUnavailableThenRecovered(t *testing.T, a *testAPI, p *storetest.Proxy) {
	t.Helper()
	wantStatus(t, a.call(t, http.MethodGet, "/v1/status", ""), http.StatusOK, nil)
	p.Cut()
	start := time.Now()
	res := a.call(t, http.MethodGet, "/v1/status", "")
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("answering with the database gone took %v", took)
	}
	if res.status != http.StatusServiceUnavailable {
		t.Logf("API log: %s", a.logs)
	}
	p503 := wantProblem(t, res, http.StatusServiceUnavailable)
	if ra := res.header.Get("Retry-After"); ra == "" || strings.Trim(ra, "0123456789") != "" {
		t.Errorf("Retry-After = %q, want a number of seconds", ra)
	}
	if p503.Detail == "" {
		t.Error("the 503 problem has no detail")
	}
	wantNoInternals(t, res.body, p.Addr)
	if logs := a.logs.String(); !strings.Contains(logs, `"level":"WARN"`) || !strings.Contains(logs, "database unavailable") {
		t.Errorf("the outage was not logged as a warning: %s", logs)
	}

	p.Restore()
	deadline := time.Now().Add(5 * time.Second)
	for {
		res := a.call(t, http.MethodGet, "/v1/status", "")
		if res.status == http.StatusOK {
			return
		}
		if res.status != http.StatusServiceUnavailable {
			t.Fatalf("while recovering: %s, want 503 or 200", res)
		}
		if time.Now().After(deadline) {
			t.Fatalf("still %s 5s after the database came back", res)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestStatusIsUnavailableWhileTheDatabaseIsGoneAndRecoversByItself(t *testing.T) {
	db, p := proxiedPostgres(t)
	// Everything on the database that goes away: the token check finds it gone.
	t.Run("token check", func(t *testing.T) {
		wantUnavailableThenRecovered(t, newAPI(t, db), p)
	})
	// Admin tokens elsewhere: the request is admitted and the status handler finds the
	// database gone.
	t.Run("status handler", func(t *testing.T) {
		wantUnavailableThenRecovered(t, newAPISplit(t, db, storetest.Postgres(t)), p)
	})
}

func TestUnexpectedFailuresAreA500ThatSaysNothingOfInternals(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		a := newAPI(t, db)
		if _, err := db.Exec(context.Background(), `DROP TABLE admin_tokens`); err != nil {
			t.Fatal(err)
		}
		for _, req := range []request{
			{method: http.MethodGet, target: "/v1/status", failing: true},
			{method: http.MethodGet, target: "/v1/admin-tokens", failing: true},
			{method: http.MethodPost, target: "/v1/admin-tokens", body: `{}`, failing: true},
			{method: http.MethodDelete, target: "/v1/admin-tokens/abc", failing: true},
		} {
			res := a.do(t, req)
			p := wantProblem(t, res, http.StatusInternalServerError)
			if !strings.Contains(p.Detail, "request id") {
				t.Errorf("%s %s: detail %q does not tell the client to quote the request id", req.method, req.target, p.Detail)
			}
			wantNoInternals(t, res.body)
		}
		if logs := a.logs.String(); !strings.Contains(logs, `"level":"ERROR"`) || !strings.Contains(logs, "admin_tokens") {
			t.Errorf("the failures were not logged with their cause: %s", logs)
		}
	})
}

func BenchmarkStatusWithAdminToken(b *testing.B) {
	a := newAPI(b, storetest.SQLite(b))
	r := httptest.NewRequest(http.MethodGet, "/v1/status", nil)
	r.Header.Set("Authorization", "Bearer "+a.token)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		a.mux.ServeHTTP(rec, r)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}
