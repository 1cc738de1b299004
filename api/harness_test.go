package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/identityd/identityd/admintokens"
	"github.com/identityd/identityd/api"
	"github.com/identityd/identityd/audit"
	"github.com/identityd/identityd/audit/audittest"
	"github.com/identityd/identityd/clients"
	"github.com/identityd/identityd/sessions"
	"github.com/identityd/identityd/signingkeys"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
	"github.com/identityd/identityd/syncbuf"
	"github.com/identityd/identityd/testclock"
	"github.com/identityd/identityd/users"
	"github.com/identityd/identityd/webhooks"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// bodyLimit is what the tests give the API as Deps.BodyLimit.
const bodyLimit = 1 << 20

// testAPI is the management API mounted on a fresh mux over one database, with a valid
// admin token to call it with.
type testAPI struct {
	mux    *http.ServeMux
	db     *store.DB
	tokens *admintokens.Service
	hooks  *webhooks.Service
	users  *users.Service
	// sessions are the users' browser sessions.
	sessions *sessions.Service
	// clients is the OAuth client registry; keys are the token signing keys, of ES256
	// only (an RSA key takes seconds to make under the race detector).
	clients *clients.Service
	keys    *signingkeys.Service
	clock   *testclock.Clock
	logs    *syncbuf.Buffer
	latest  int64  // the migrator's newest schema version
	token   string // a valid admin token

	// answered records the statuses each documented operation has answered with.
	answered map[string]map[int]bool
}

// newAPI mounts the API over db, with the admin tokens and the migrator on the same
// database.
func newAPI(t testing.TB, db *store.DB) *testAPI {
	t.Helper()
	return newAPISplit(t, db, db)
}

// newAPISplit mounts the API with its admin tokens on tokensDB and everything else on
// db, so that a test can take db away while requests still authenticate.
func newAPISplit(t testing.TB, db, tokensDB *store.DB) *testAPI {
	t.Helper()
	m, err := store.NewMigrator(db)
	if err != nil {
		t.Fatalf("migrator: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, latest, err := m.Version(ctx)
	if err != nil {
		t.Fatalf("migrator version: %v", err)
	}
	a := &testAPI{mux: http.NewServeMux(), db: db, clock: testclock.New(), logs: &syncbuf.Buffer{}, latest: latest,
		answered: map[string]map[int]bool{}}
	a.tokens = admintokens.New(tokensDB, a.clock.Now, audittest.NewLog(t, tokensDB))
	log := audittest.NewLog(t, db)
	a.hooks = webhooks.New(db, audittest.Keyring(t), log, webhooks.Config{}, a.clock.Now)
	a.users = newUsers(t, db, log, a.clock)
	var err2 error
	if a.sessions, err2 = sessions.New(db, log, a.clock.Now, sessions.Config{}); err2 != nil {
		t.Fatal(err2)
	}
	a.users.AddRevoker(a.sessions)
	a.clients = clients.New(db, log, a.clock.Now, clients.Config{})
	if a.keys, err2 = signingkeys.New(db, audittest.Keyring(t), log, a.clock.Now,
		signingkeys.Config{Algs: []signingkeys.Alg{signingkeys.ES256}}); err2 != nil {
		t.Fatal(err2)
	}
	api.Register(a.mux, api.Deps{
		DB: db, Migrator: m, AdminTokens: a.tokens, Audit: log, AuditHub: audit.NewHub(), Webhooks: a.hooks,
		Users: a.users, Sessions: a.sessions, Clients: a.clients, Keys: a.keys, ImportMaxBytes: importMaxBytes,
		Shutdown: make(chan struct{}),
		Version:  "test", BodyLimit: bodyLimit,
		Logger: slog.New(slog.NewJSONHandler(a.logs, nil)),
	})
	a.token = a.newToken(t, "test harness", time.Hour)
	return a
}

// newToken creates an admin token directly through the service, at the API's clock.
func (a *testAPI) newToken(t testing.TB, name string, ttl time.Duration) string {
	t.Helper()
	secret, _, err := a.tokens.Create(context.Background(), name, ttl)
	if err != nil {
		t.Fatalf("create admin token: %v", err)
	}
	return secret
}

// reply is a response as the client saw it.
type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) String() string {
	return http.StatusText(r.status) + " " + string(r.body)
}

// request describes one call. Zero values mean: no body, the harness's valid token,
// JSON content type when there is a body.
type request struct {
	method string
	target string
	body   string
	header http.Header // replaces the defaults for the headers it sets; a nil value removes one
	// failing says the test broke the database on purpose, so a 500 is expected.
	failing bool
	// timeout ends the request (20s when zero): a live stream answers until then.
	timeout time.Duration
	// unknownLength sends the body without a Content-Length, as a chunked upload would.
	unknownLength bool
}

// call sends req with the harness's token and checks the reply against the OpenAPI
// document.
func (a *testAPI) call(t testing.TB, method, target, body string) reply {
	t.Helper()
	return a.do(t, request{method: method, target: target, body: body})
}

// do sends req through the mux and checks what every reply must satisfy: it matches
// the OpenAPI document (when it answers a documented operation), errors are problems,
// and a presented credential is never echoed.
func (a *testAPI) do(t testing.TB, req request) reply {
	t.Helper()
	r := a.newRequest(t, req)
	rec := httptest.NewRecorder()
	a.mux.ServeHTTP(rec, r)
	res := reply{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
	if op := checkReply(t, r, res); op != "" {
		if a.answered[op] == nil {
			a.answered[op] = map[int]bool{}
		}
		a.answered[op][res.status] = true
	}
	return res
}

// newRequest builds the *http.Request for req.
func (a *testAPI) newRequest(t testing.TB, req request) *http.Request {
	t.Helper()
	var body io.Reader
	if req.body != "" {
		body = strings.NewReader(req.body)
	}
	timeout := req.timeout
	if timeout == 0 {
		timeout = 20 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	if req.failing {
		ctx = context.WithValue(ctx, failingKey{}, true)
	}
	r := httptest.NewRequestWithContext(ctx, req.method, req.target, body)
	if req.unknownLength {
		r.ContentLength = -1
	}
	r.Header.Set("Authorization", "Bearer "+a.token)
	if req.body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	for k, v := range req.header {
		if v == nil {
			r.Header.Del(k)
			continue
		}
		r.Header[k] = v
	}
	return r
}

// checkReply asserts what holds for every reply of the API, and returns the id of the
// documented operation that answered ("" for none).
func checkReply(t testing.TB, r *http.Request, res reply) string {
	t.Helper()
	if failing, _ := r.Context().Value(failingKey{}).(bool); res.status >= 500 && res.status != http.StatusServiceUnavailable && !failing {
		t.Errorf("%s %s: unexpected server error %s", r.Method, r.URL, res)
	}
	if _, secret, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && len(strings.TrimSpace(secret)) >= 8 {
		secret = strings.TrimSpace(secret)
		if bytes.Contains(res.body, []byte(secret)) {
			t.Errorf("%s %s: the reply body echoes the presented credential", r.Method, r.URL)
		}
		for k, vs := range res.header {
			for _, v := range vs {
				if strings.Contains(v, secret) {
					t.Errorf("%s %s: reply header %s echoes the presented credential", r.Method, r.URL, k)
				}
			}
		}
	}
	if strings.HasPrefix(r.URL.Path, "/v1/") && res.status >= 400 {
		if ct := res.header.Get("Content-Type"); ct != "application/problem+json" {
			t.Errorf("%s %s: error %d has Content-Type %q, want application/problem+json", r.Method, r.URL, res.status, ct)
		}
	}
	return conformsToDocument(t, r, res)
}

// failingKey marks, in a request's context, a request that may fail with a 500.
type failingKey struct{}

// problemBody is an RFC 9457 problem as the API writes it.
type problemBody struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail"`
	Instance string `json:"instance"`
	Errors   []struct {
		Message  string `json:"message"`
		Location string `json:"location"`
		Value    any    `json:"value"`
	} `json:"errors"`
}

// locations lists where the problem says the input was wrong.
func (p problemBody) locations() []string {
	var out []string
	for _, e := range p.Errors {
		out = append(out, e.Location)
	}
	return out
}

// wantProblem asserts that res is a problem with status and returns it.
func wantProblem(t testing.TB, res reply, status int) problemBody {
	t.Helper()
	if res.status != status {
		t.Fatalf("status = %d, want %d; body %s", res.status, status, res.body)
	}
	if ct := res.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type = %q, want application/problem+json", ct)
	}
	var p problemBody
	if err := json.Unmarshal(res.body, &p); err != nil {
		t.Fatalf("problem body %q: %v", res.body, err)
	}
	if p.Status != status || p.Title != http.StatusText(status) {
		t.Errorf("problem status/title = %d %q, want %d %q", p.Status, p.Title, status, http.StatusText(status))
	}
	return p
}

// wantStatus asserts res.status and decodes a JSON body into v (when v is not nil).
func wantStatus(t testing.TB, res reply, status int, v any) {
	t.Helper()
	if res.status != status {
		t.Fatalf("status = %d, want %d; body %s", res.status, status, res.body)
	}
	if v != nil {
		if err := json.Unmarshal(res.body, v); err != nil {
			t.Fatalf("body %q: %v", res.body, err)
		}
	}
}

// tokenRows fingerprints the admin_tokens table: how many rows, how many revoked.
type tokenRows struct{ total, revoked int }

func countTokens(t testing.TB, db *store.DB) tokenRows {
	t.Helper()
	var n tokenRows
	err := db.QueryRow(context.Background(), `SELECT count(*), count(revoked_at) FROM admin_tokens`).Scan(&n.total, &n.revoked)
	if err != nil {
		t.Fatalf("count admin tokens: %v", err)
	}
	return n
}
