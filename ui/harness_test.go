package ui_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"golang.org/x/net/html"

	"github.com/identityd/identityd/audit/audittest"
	"github.com/identityd/identityd/flows"
	"github.com/identityd/identityd/jobs"
	"github.com/identityd/identityd/mail"
	"github.com/identityd/identityd/mail/mailtest"
	"github.com/identityd/identityd/passwords"
	"github.com/identityd/identityd/requestinfo"
	"github.com/identityd/identityd/sessions"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
	"github.com/identityd/identityd/testclock"
	"github.com/identityd/identityd/ui"
	"github.com/identityd/identityd/users"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// site is the pages over a real database, with real hashing, sessions, flows and mail
// to a real SMTP server, served by an httptest server.
type site struct {
	t      testing.TB
	db     *store.DB
	srv    *httptest.Server
	users  *users.Service
	hasher *passwords.Hasher
	flows  *flows.Service
	clock  *testclock.Clock
	smtp   *mailtest.Server
}

type siteOptions struct {
	posts        int
	secondFactor ui.SecondFactor
}

// clientIPHeader lets a test pose as a client address, as the server's middleware would
// find it.
const clientIPHeader = "X-Test-Client-IP"

func newSite(t testing.TB, db *store.DB, o siteOptions) *site {
	t.Helper()
	ctx := context.Background()
	c := testclock.New()
	kr := audittest.Keyring(t)
	log := audittest.NewLog(t, db)
	hasher, err := passwords.New(passwords.Config{Params: passwords.Params{Memory: 7 << 10, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}})
	if err != nil {
		t.Fatal(err)
	}
	s := &site{t: t, db: db, hasher: hasher, clock: c, smtp: mailtest.NewServer(t)}
	sender, err := mail.NewSMTPSender(mail.SMTPConfig{URL: s.smtp.URL(), From: "no-reply@example.com", TLSConfig: s.smtp.ClientTLS()})
	if err != nil {
		t.Fatal(err)
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, mail.NewWorker(kr, sender, slog.New(slog.DiscardHandler)))
	q, err := jobs.New(db, jobs.Config{Workers: workers, Queues: map[string]int{mail.QueueName: 2}, PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	renderMail, err := mail.NewRenderer("Example ID")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	s.srv = srv
	base := "http://" + srv.Listener.Addr().String()
	s.users, err = users.New(users.Deps{DB: db, Keyring: kr, Hasher: hasher, Audit: log, Outbox: mail.NewOutbox(kr, q),
		Mail: renderMail, Jobs: q, Now: c.Now}, users.Config{BaseURL: base, Policy: passwords.DefaultPolicy(),
		VerificationTTL: time.Hour, ResetTTL: time.Hour, Throttle: users.DefaultThrottle()})
	if err != nil {
		t.Fatal(err)
	}
	river.AddWorker(workers, users.NewRequestWorker(s.users))
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = q.Stop(ctx)
	})
	sess, err := sessions.New(db, log, c.Now, sessions.Config{})
	if err != nil {
		t.Fatal(err)
	}
	s.users.AddRevoker(sess)
	s.flows = flows.New(db, c.Now, time.Minute)
	renderer, err := ui.NewRenderer(ui.Options{Product: "Example ID", PasswordMinLength: 8})
	if err != nil {
		t.Fatal(err)
	}
	h, err := ui.New(ui.Deps{Users: s.users, Sessions: sess, Flows: s.flows, Renderer: renderer, Keyring: kr,
		SecondFactor: o.secondFactor, Now: c.Now}, ui.Config{RegistrationEnabled: true, PostsPerWindow: o.posts, PostWindow: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Register(mux)
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := &requestinfo.Info{ID: "req-test", UserAgent: r.UserAgent()}
		if ip, err := netip.ParseAddr(r.Header.Get(clientIPHeader)); err == nil {
			info.ClientIP = ip
		} else {
			info.ClientIP = netip.MustParseAddr("192.0.2.1")
		}
		mux.ServeHTTP(w, r.WithContext(requestinfo.With(r.Context(), info)))
	})
	srv.Start()
	t.Cleanup(srv.Close)
	return s
}

// user creates an account with a password.
func (s *site) user(email, password string) users.User {
	s.t.Helper()
	u, err := s.users.Create(context.Background(), users.NewUser{Email: email, Name: "Test User", Password: password, EmailVerified: true})
	if err != nil {
		s.t.Fatal(err)
	}
	return u
}

// browser is one person's browser: its own cookies, redirects not followed, so that the
// test sees each answer.
type browser struct {
	t      testing.TB
	s      *site
	client *http.Client
	ip     string
}

func (s *site) browser() *browser {
	s.t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		s.t.Fatal(err)
	}
	return &browser{t: s.t, s: s, client: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// answer is a response as the test reads it.
type answer struct {
	status   int
	location string
	header   http.Header
	body     string
}

func (b *browser) do(r *http.Request) answer {
	b.t.Helper()
	if b.ip != "" {
		r.Header.Set(clientIPHeader, b.ip)
	}
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

func (b *browser) get(path string) answer {
	b.t.Helper()
	r, err := http.NewRequest(http.MethodGet, b.s.srv.URL+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(r)
}

// post sends a form as a browser on the same site would (Sec-Fetch-Site: same-origin).
func (b *browser) post(path string, form url.Values) answer {
	b.t.Helper()
	r, err := http.NewRequest(http.MethodPost, b.s.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	return b.do(r)
}

// follow gets where an answer redirects to.
func (b *browser) follow(a answer) answer {
	b.t.Helper()
	if a.status != http.StatusSeeOther && a.status != http.StatusFound {
		b.t.Fatalf("want a redirect, got %d:\n%s", a.status, a.body)
	}
	return b.get(a.location)
}

// hidden returns the value of the hidden input named name in a page.
func hidden(t testing.TB, page, name string) string {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	var value string
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "input" {
			attrs := map[string]string{}
			for _, a := range n.Attr {
				attrs[a.Key] = a.Val
			}
			if attrs["name"] == name && value == "" {
				value = attrs["value"]
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if value == "" {
		t.Fatalf("the page has no %s field:\n%s", name, page)
	}
	return value
}

// loginForm opens the sign-in page and returns its flow and form token.
func (b *browser) loginForm(returnTo string) (flow, csrf string) {
	b.t.Helper()
	target := "/login"
	if returnTo != "" {
		target += "?return_to=" + url.QueryEscape(returnTo)
	}
	start := b.get(target)
	if start.status != http.StatusSeeOther || !strings.HasPrefix(start.location, "/login?flow=") {
		b.t.Fatalf("GET %s: %d %s, want a redirect to a flow", target, start.status, start.location)
	}
	page := b.follow(start)
	if page.status != http.StatusOK {
		b.t.Fatalf("the sign-in page: %d\n%s", page.status, page.body)
	}
	return hidden(b.t, page.body, "flow"), hidden(b.t, page.body, "csrf_token")
}

// signIn signs in and returns the answer to the credentials.
func (b *browser) signIn(identifier, password string) answer {
	b.t.Helper()
	flow, csrf := b.loginForm("")
	return b.post("/login", url.Values{"flow": {flow}, "csrf_token": {csrf}, "identifier": {identifier}, "password": {password}})
}

// csrf returns the form token of the browser's forms, from a page that has one.
func (b *browser) csrf() string {
	b.t.Helper()
	return hidden(b.t, b.get("/forgot-password").body, "csrf_token")
}

// signedIn reports whether the browser's session opens the account page.
func (b *browser) signedIn() bool {
	b.t.Helper()
	a := b.get("/account")
	return a.status == http.StatusOK
}
