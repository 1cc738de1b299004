package oauth_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/identityd/identityd/audit"
	"github.com/identityd/identityd/audit/audittest"
	"github.com/identityd/identityd/clients"
	"github.com/identityd/identityd/flows"
	"github.com/identityd/identityd/jobs"
	"github.com/identityd/identityd/oauth"
	"github.com/identityd/identityd/outbound"
	"github.com/identityd/identityd/passwords"
	"github.com/identityd/identityd/requestinfo"
	"github.com/identityd/identityd/sessions"
	"github.com/identityd/identityd/signingkeys"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
	"github.com/identityd/identityd/testclock"
	"github.com/identityd/identityd/ui"
	"github.com/identityd/identityd/users"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// idp is identityd's provider with everything it stands on — users, sessions, the
// sign-in and consent pages, clients, signing keys, jobs, the audit log — over a real
// database, served on loopback.
type idp struct {
	t        testing.TB
	db       *store.DB
	clock    *testclock.Clock
	audit    *audit.Log
	users    *users.Service
	sessions *sessions.Service
	clients  *clients.Service
	keys     *signingkeys.Service
	provider *oauth.Provider
	srv      *httptest.Server
	issuer   string
	// base is where this replica is served; the issuer's address unless replicas share it.
	base string
}

// idpOptions vary the provider.
type idpOptions struct {
	config func(*oauth.Config)
	// keys is the signing key schedule; the default's.
	keys signingkeys.Config
	// issuer, when set, is the issuer in place of the server's own URL: replicas behind
	// one address share it.
	issuer string
}

// fastParams keep password hashing quick.
var fastParams = passwords.Params{Memory: 7 << 10, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// testPassword is every test user's password.
const testPassword = "correct horse battery staple"

func newIDP(t testing.TB, db *store.DB, o idpOptions) *idp {
	t.Helper()
	ctx := context.Background()
	srv := httptest.NewUnstartedServer(nil)
	d := &idp{t: t, db: db, clock: testclock.New(), srv: srv, issuer: "http://" + srv.Listener.Addr().String()}
	d.base = d.issuer
	if o.issuer != "" {
		d.issuer = o.issuer
	}
	kr := audittest.Keyring(t)
	d.audit = audittest.NewLog(t, db)
	hasher, err := passwords.New(passwords.Config{Params: fastParams})
	if err != nil {
		t.Fatal(err)
	}
	workers := river.NewWorkers()
	q, err := jobs.New(db, jobs.Config{Workers: workers, Queues: map[string]int{oauth.LogoutQueue: 2},
		PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if d.users, err = users.New(users.Deps{DB: db, Keyring: kr, Hasher: hasher, Audit: d.audit, Now: d.clock.Now},
		users.Config{BaseURL: d.issuer, Policy: passwords.DefaultPolicy(), VerificationTTL: time.Hour, ResetTTL: time.Hour,
			Throttle: users.DefaultThrottle()}); err != nil {
		t.Fatal(err)
	}
	if d.sessions, err = sessions.New(db, d.audit, d.clock.Now, sessions.Config{}); err != nil {
		t.Fatal(err)
	}
	d.users.AddRevoker(d.sessions)
	d.clients = clients.New(db, d.audit, d.clock.Now, clients.Config{AllowPrivateNetworks: true})
	if d.keys, err = signingkeys.New(db, kr, d.audit, d.clock.Now, o.keys); err != nil {
		t.Fatal(err)
	}
	if err := d.keys.Maintain(ctx); err != nil {
		t.Fatal(err)
	}
	renderer, err := ui.NewRenderer(ui.Options{Product: "Example ID"})
	if err != nil {
		t.Fatal(err)
	}
	cfg := oauth.Config{Issuer: d.issuer, AccessTokenLifetime: time.Hour, RefreshTokenLifetime: 720 * time.Hour,
		IDTokenLifetime: time.Hour, CodeLifetime: 5 * time.Minute, RequirePKCE: true, RefreshGraceUses: 1,
		JWKSMaxAge: time.Hour}
	if o.config != nil {
		o.config(&cfg)
	}
	d.provider, err = oauth.New(oauth.Deps{DB: db, Keyring: kr, Clients: d.clients, Keys: d.keys, Users: d.users,
		Sessions: d.sessions, Audit: d.audit, Pages: ui.NewErrorPage(renderer, nil), Jobs: q,
		HTTPClient: outbound.NewClient(outbound.Config{Timeout: 5 * time.Second, AllowPrivateNetworks: true}),
		Logger:     slog.New(slog.NewTextHandler(testLog{t}, nil)), Now: d.clock.Now}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.provider.Load(ctx); err != nil {
		t.Fatal(err)
	}
	d.users.AddRevoker(d.provider)
	river.AddWorker(workers, oauth.NewLogoutWorker(d.provider))
	bg, stop := context.WithCancel(context.Background())
	t.Cleanup(stop)
	go d.provider.Listen(bg)
	go d.clients.Listen(bg, nil)
	go d.keys.Listen(bg, nil)
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = q.Stop(ctx)
	})
	pages, err := ui.New(ui.Deps{Users: d.users, Sessions: d.sessions, Flows: flows.New(db, d.clock.Now, 15*time.Minute),
		Renderer: renderer, Keyring: kr, Apps: d.provider, Now: d.clock.Now}, ui.Config{PostsPerWindow: 10000, PostWindow: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	pages.Register(mux)
	d.provider.Register(mux)
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := &requestinfo.Info{ID: "req-test", UserAgent: r.UserAgent(), ClientIP: netip.MustParseAddr("192.0.2.1")}
		mux.ServeHTTP(w, r.WithContext(requestinfo.With(r.Context(), info)))
	})
	srv.Start()
	t.Cleanup(srv.Close)
	return d
}

// user creates an active, verified user with testPassword.
func (d *idp) user(email string) users.User {
	d.t.Helper()
	u, err := d.users.Create(context.Background(), users.NewUser{Email: email, Name: "Ada Lovelace", Username: strings.Split(email, "@")[0],
		Password: testPassword, EmailVerified: true, Source: users.SourceAPI})
	if err != nil {
		d.t.Fatal(err)
	}
	return u
}

// app registers a client; redirect URIs default to one on loopback.
func (d *idp) app(n clients.Settings) (clients.Client, string) {
	d.t.Helper()
	if n.Name == "" {
		n.Name = "Test App"
	}
	c, secret, err := d.clients.Create(context.Background(), n)
	if err != nil {
		d.t.Fatal(err)
	}
	return c, secret
}

// webApp registers a confidential, first-party client of the code flow with refresh
// tokens, redirecting to redirect.
func (d *idp) webApp(redirect string) (clients.Client, string) {
	d.t.Helper()
	return d.app(clients.Settings{FirstParty: true, RedirectURIs: []string{redirect},
		PostLogoutRedirectURIs: []string{redirect + "/signed-out"},
		GrantTypes:             []string{clients.GrantAuthorizationCode, clients.GrantRefreshToken},
		Scopes:                 []string{"openid", "profile", "email", "offline_access"}})
}

// browser is one person's browser: cookies kept, redirects not followed.
type browser struct {
	t      testing.TB
	d      *idp
	client *http.Client
}

func (d *idp) browser() *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		d.t.Fatal(err)
	}
	return &browser{t: d.t, d: d, client: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// answer is a response as a test reads it.
type answer struct {
	status   int
	location string
	header   http.Header
	body     string
}

func (b *browser) do(r *http.Request) answer {
	b.t.Helper()
	res, err := b.client.Do(r)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return answer{status: res.StatusCode, location: res.Header.Get("Location"), header: res.Header, body: string(body)}
}

// get fetches target, a path on identityd or an absolute URL.
func (b *browser) get(target string) answer {
	b.t.Helper()
	if strings.HasPrefix(target, "/") {
		target = b.d.base + target
	}
	r, err := http.NewRequest(http.MethodGet, target, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(r)
}

// post sends a form from a page of identityd's, as a browser would.
func (b *browser) post(path string, form url.Values) answer {
	b.t.Helper()
	r, err := http.NewRequest(http.MethodPost, b.d.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	return b.do(r)
}

var (
	csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)
	flowField = regexp.MustCompile(`name="flow" value="([^"]+)"`)
)

// field is the value of a hidden field on a page.
func field(t testing.TB, re *regexp.Regexp, body string) string {
	t.Helper()
	m := re.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no %s on the page:\n%s", re, body)
	}
	return m[1]
}

// follow follows redirects within identityd from a until it answers with a page or
// sends the browser elsewhere.
func (b *browser) follow(a answer) answer {
	b.t.Helper()
	for i := 0; a.location != "" && i < 10; i++ {
		loc := a.location
		if !strings.HasPrefix(loc, "/") && !strings.HasPrefix(loc, b.d.base) {
			return a
		}
		a = b.get(loc)
	}
	return a
}

// signIn completes the sign-in page a shows (after following redirects), and returns
// where it leads.
func (b *browser) signIn(a answer, email string) answer {
	b.t.Helper()
	a = b.follow(a)
	if a.status != http.StatusOK || !strings.Contains(a.body, `name="password"`) {
		b.t.Fatalf("expected the sign-in page, got %d %s:\n%s", a.status, a.location, a.body)
	}
	return b.post("/login", url.Values{"identifier": {email}, "password": {testPassword},
		"flow": {field(b.t, flowField, a.body)}, "csrf_token": {field(b.t, csrfField, a.body)}})
}

// pkce is a code verifier and its S256 challenge.
type pkce struct{ verifier, challenge string }

func newPKCE() pkce {
	v := base64.RawURLEncoding.EncodeToString([]byte(strings.Repeat("v", 10) + time.Now().String()))
	sum := sha256.Sum256([]byte(v))
	return pkce{verifier: v, challenge: base64.RawURLEncoding.EncodeToString(sum[:])}
}

// authorizeURL is an authorization request of c's for scope with PKCE.
func (d *idp) authorizeURL(c clients.Client, scope string, p pkce, extra url.Values) string {
	q := url.Values{"client_id": {c.ID}, "response_type": {"code"}, "redirect_uri": {c.RedirectURIs[0]},
		"scope": {scope}, "state": {"state-" + c.ID}, "nonce": {"nonce-" + c.ID},
		"code_challenge": {p.challenge}, "code_challenge_method": {"S256"}}
	for k, v := range extra {
		q[k] = v
	}
	return oauth.AuthorizePath + "?" + q.Encode()
}

// codeFrom reads the code from a redirect to the app, failing if it is anything else.
func codeFrom(t testing.TB, a answer, redirect string) string {
	t.Helper()
	if !strings.HasPrefix(a.location, redirect+"?") {
		t.Fatalf("expected a redirect to %s, got %d %q:\n%s", redirect, a.status, a.location, a.body)
	}
	u, err := url.Parse(a.location)
	if err != nil {
		t.Fatal(err)
	}
	if e := u.Query().Get("error"); e != "" {
		t.Fatalf("the app got error %s: %s", e, u.Query().Get("error_description"))
	}
	if u.Query().Get("iss") == "" {
		t.Fatalf("the answer to the app does not name the issuer (RFC 9207): %s", a.location)
	}
	return u.Query().Get("code")
}

// tokenResponse is the token endpoint's answer.
type tokenResponse struct {
	AccessToken      string `json:"access_token"`
	TokenType        string `json:"token_type"`
	ExpiresIn        int    `json:"expires_in"`
	RefreshToken     string `json:"refresh_token"`
	IDToken          string `json:"id_token"`
	Scope            string `json:"scope"`
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	status           int
}

// postForm sends form to an endpoint of identityd as an app's backend would, with basic
// authentication when id is set.
func (d *idp) postForm(path string, form url.Values, id, secret string) (int, []byte, http.Header) {
	d.t.Helper()
	r, err := http.NewRequest(http.MethodPost, d.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		d.t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if id != "" {
		r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	}
	return d.send(r)
}

// send sends r and returns the answer's status, body and header.
func (d *idp) send(r *http.Request) (int, []byte, http.Header) {
	d.t.Helper()
	res, err := http.DefaultClient.Do(r)
	if err != nil {
		d.t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		d.t.Fatal(err)
	}
	return res.StatusCode, body, res.Header
}

// token calls the token endpoint.
func (d *idp) token(form url.Values, id, secret string) tokenResponse {
	d.t.Helper()
	status, body, _ := d.postForm(oauth.TokenPath, form, id, secret)
	var tr tokenResponse
	if err := json.Unmarshal(body, &tr); err != nil {
		d.t.Fatalf("token endpoint answered %d %s: %v", status, body, err)
	}
	tr.status = status
	return tr
}

// exchange trades a code for tokens.
func (d *idp) exchange(c clients.Client, secret, code string, p pkce) tokenResponse {
	d.t.Helper()
	return d.token(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {c.RedirectURIs[0]},
		"code_verifier": {p.verifier}}, c.ID, secret)
}

// introspect asks about token as the client id.
func (d *idp) introspect(token, id, secret string) map[string]any {
	d.t.Helper()
	status, body, _ := d.postForm(oauth.IntrospectPath, url.Values{"token": {token}}, id, secret)
	if status != http.StatusOK {
		d.t.Fatalf("introspection answered %d %s", status, body)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		d.t.Fatal(err)
	}
	return m
}

// active reports what introspection says of token, asked by its own client.
func (d *idp) active(token, id, secret string) bool {
	d.t.Helper()
	return d.introspect(token, id, secret)["active"] == true
}

// event is an audit event as a test reads it.
type event struct {
	Type, Target, Actor, Outcome string
	Details                      map[string]any
}

// events are the audit events recorded so far (sealed or not) of type typ about
// target (a client or user id), oldest first.
func (d *idp) events(typ, target string) []event {
	d.t.Helper()
	rows, err := d.db.Query(context.Background(), `SELECT type, target_id, actor_kind, actor_id, outcome, details
		FROM audit_pending WHERE type = $1 AND target_id = $2 ORDER BY id`, typ, target)
	if err != nil {
		d.t.Fatal(err)
	}
	evs, err := store.CollectRows(rows, func(r *store.Rows) (event, error) {
		var (
			e                  event
			actorKind, details string
		)
		if err := r.Scan(&e.Type, &e.Target, &actorKind, &e.Actor, &e.Outcome, &details); err != nil {
			return e, err
		}
		e.Actor = actorKind + ":" + e.Actor
		if details != "" {
			if err := json.Unmarshal([]byte(details), &e.Details); err != nil {
				return e, err
			}
		}
		return e, nil
	})
	if err != nil {
		d.t.Fatal(err)
	}
	return evs
}

// testLog writes a component's log into the test's.
type testLog struct{ t testing.TB }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// jwtPart decodes part i (0 the header, 1 the claims) of a compact JWT, unverified.
func jwtPart(t testing.TB, jwt string, i int) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// codeFor gets a code for c in b, signing in as email on the way if email is set.
func (b *browser) codeFor(c clients.Client, scope string, p pkce, email string) string {
	b.t.Helper()
	a := b.get(b.d.authorizeURL(c, scope, p, nil))
	if email != "" {
		a = b.signIn(a, email)
	}
	return codeFrom(b.t, b.follow(a), c.RedirectURIs[0])
}

// errorFrom reads the error an authorization sent back to the app.
func errorFrom(t testing.TB, a answer, redirect string) string {
	t.Helper()
	if !strings.HasPrefix(a.location, redirect+"?") {
		t.Fatalf("expected a redirect to %s, got %d %q:\n%s", redirect, a.status, a.location, a.body)
	}
	u, err := url.Parse(a.location)
	if err != nil {
		t.Fatal(err)
	}
	if u.Query().Get("iss") == "" {
		t.Fatalf("the answer to the app does not name the issuer (RFC 9207): %s", a.location)
	}
	return u.Query().Get("error")
}

// bearer calls a resource of identityd's (userinfo) with token.
func (d *idp) bearer(path, token string) (int, []byte, http.Header) {
	d.t.Helper()
	r, err := http.NewRequest(http.MethodGet, d.base+path, nil)
	if err != nil {
		d.t.Fatal(err)
	}
	r.Header.Set("Authorization", "Bearer "+token)
	return d.send(r)
}

// nextSecond moves the provider's clock one second on — and waits that second out, so
// that the clock never runs ahead of the real one, which fosite reads for sign-in times.
// JWTs count time in whole seconds: a token issued in the second of a revocation counts
// as issued before it, so tests that want tokens after one move on first.
func (d *idp) nextSecond() {
	time.Sleep(time.Second)
	d.clock.Advance(time.Second)
}
