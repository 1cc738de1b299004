package oauth_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/identityd/identityd/audit"
	"github.com/identityd/identityd/clients"
	"github.com/identityd/identityd/oauth"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
)

// logoutReceiver is an app's back-channel logout endpoint.
type logoutReceiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	tokens []string
	fail   int // answer 503 this many times first
}

func newLogoutReceiver(t *testing.T) *logoutReceiver {
	rcv := &logoutReceiver{}
	rcv.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rcv.mu.Lock()
		defer rcv.mu.Unlock()
		if rcv.fail > 0 {
			rcv.fail--
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		if r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		rcv.tokens = append(rcv.tokens, r.PostFormValue("logout_token"))
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(rcv.srv.Close)
	return rcv
}

// await waits for n logout tokens.
func (rcv *logoutReceiver) await(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		rcv.mu.Lock()
		got := append([]string(nil), rcv.tokens...)
		rcv.mu.Unlock()
		if len(got) >= n {
			return got
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no logout token arrived")
	return nil
}

func TestAnAppSignsTheUserOutAndTheOtherAppsAreTold(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		d := newIDP(t, db, idpOptions{})
		ada := d.user(store.NewID() + "@example.com")
		rcv := newLogoutReceiver(t)
		rcv.fail = 1 // the first delivery fails; the job retries
		app, secret := d.webApp("http://127.0.0.1:9/cb")
		listener, _ := d.app(clients.Settings{FirstParty: true, RedirectURIs: []string{"http://127.0.0.1:9/listener"},
			GrantTypes: []string{clients.GrantAuthorizationCode}, Scopes: []string{"openid"},
			BackchannelLogoutURI: rcv.srv.URL + "/backchannel"})
		b := d.browser()
		p := newPKCE()
		tr := d.exchange(app, secret, b.codeFor(app, "openid", p, ada.Email), p)
		b.codeFor(listener, "openid", p, "")
		sid := jwtPart(t, tr.IDToken, 1)["sid"].(string)

		end := url.Values{"id_token_hint": {tr.IDToken}, "post_logout_redirect_uri": {app.RedirectURIs[0] + "/signed-out"},
			"state": {"bye-bye-state"}}
		a := b.get(oauth.EndSessionPath + "?" + end.Encode())
		if a.status != http.StatusSeeOther || a.location != app.RedirectURIs[0]+"/signed-out?state=bye-bye-state" {
			t.Fatalf("end session: %d %q", a.status, a.location)
		}
		if res := b.get("/account"); res.status != http.StatusSeeOther || !strings.HasPrefix(res.location, "/login") {
			t.Errorf("still signed in after logout: %d %q", res.status, res.location)
		}
		if evs := d.events("oauth.logout", app.ID); len(evs) != 1 || evs[0].Details["session"] != sid {
			t.Errorf("oauth.logout events %+v", evs)
		}

		// The listening app gets a logout token it can verify against the JWKS.
		raw := rcv.await(t, 1)[0]
		tok, err := josejwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
		if err != nil {
			t.Fatal(err)
		}
		if typ := tok.Headers[0].ExtraHeaders[jose.HeaderType]; typ != "logout+jwt" {
			t.Errorf("typ %v, want logout+jwt", typ)
		}
		set := d.jwks()
		var claims struct {
			josejwt.Claims
			SID    string                    `json:"sid"`
			Events map[string]map[string]any `json:"events"`
			Nonce  *string                   `json:"nonce"`
		}
		if err := tok.Claims(set.Key(tok.Headers[0].KeyID)[0].Key, &claims); err != nil {
			t.Fatalf("logout token signature: %v", err)
		}
		if err := claims.Validate(josejwt.Expected{Issuer: d.issuer, AnyAudience: []string{listener.ID}, Time: time.Now()}); err != nil {
			t.Errorf("logout token claims: %v", err)
		}
		if claims.Subject != ada.ID || claims.SID != sid || claims.ID == "" || claims.Nonce != nil {
			t.Errorf("logout token: sub %s sid %s jti %s nonce %v", claims.Subject, claims.SID, claims.ID, claims.Nonce)
		}
		if _, ok := claims.Events["http://schemas.openid.net/event/backchannel-logout"]; !ok {
			t.Errorf("events %v", claims.Events)
		}
	})
}

func TestASignOutRequestWithoutProofAsksFirst(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		d := newIDP(t, db, idpOptions{})
		ada := d.user(store.NewID() + "@example.com")
		app, secret := d.webApp("http://127.0.0.1:9/cb")
		b := d.browser()
		p := newPKCE()
		tr := d.exchange(app, secret, b.codeFor(app, "openid", p, ada.Email), p)

		// Unregistered or unnamed redirects are refused outright.
		for name, q := range map[string]url.Values{
			"an unregistered redirect": {"client_id": {app.ID}, "post_logout_redirect_uri": {"https://evil.example/"}},
			"a redirect with no app":   {"post_logout_redirect_uri": {app.RedirectURIs[0] + "/signed-out"}},
			"an unknown app":           {"client_id": {"nope"}, "post_logout_redirect_uri": {app.RedirectURIs[0] + "/signed-out"}},
			"a hint for another app":   {"client_id": {"nope"}, "id_token_hint": {tr.IDToken}},
		} {
			if a := b.get(oauth.EndSessionPath + "?" + q.Encode()); a.status != http.StatusBadRequest || a.location != "" {
				t.Errorf("%s: %d %q; want the error page", name, a.status, a.location)
			}
		}
		// Without a hint the person is asked; confirming signs out and goes on.
		q := url.Values{"client_id": {app.ID}, "post_logout_redirect_uri": {app.RedirectURIs[0] + "/signed-out"}, "state": {"st-12345678"}}
		a := b.follow(b.get(oauth.EndSessionPath + "?" + q.Encode()))
		if a.status != http.StatusOK || !strings.Contains(a.body, `action="/logout"`) {
			t.Fatalf("expected the sign-out confirmation, got %d %q", a.status, a.location)
		}
		if res := b.get("/account"); res.status != http.StatusOK {
			t.Fatal("asking signed the user out")
		}
		returnTo := strings.ReplaceAll(field(t, returnToField, a.body), "&amp;", "&")
		res := b.follow(b.post("/logout", url.Values{"return_to": {returnTo}, "csrf_token": {field(t, csrfField, a.body)}}))
		if res.location != app.RedirectURIs[0]+"/signed-out?state=st-12345678" {
			t.Errorf("after confirming: %d %q", res.status, res.location)
		}
		if res := b.get("/account"); res.status != http.StatusSeeOther {
			t.Error("confirming did not sign out")
		}
		// A forged hint gives no authority either.
		b2 := d.browser()
		b2.codeFor(app, "openid", p, ada.Email)
		parts := strings.Split(tr.IDToken, ".")
		forged := parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2]))
		if a := b2.get(oauth.EndSessionPath + "?" + url.Values{"id_token_hint": {forged}}.Encode()); !strings.HasPrefix(a.location, oauth.LogoutPath+"?") {
			t.Errorf("a forged hint: %d %q; want the confirmation", a.status, a.location)
		}
	})
}

// TestALogoutTokenThatCannotBeDeliveredIsAuditedOnceTheAttemptsRunOut drives the
// delivery job's runs directly: early failures are retried, the last delivery attempt's
// failure is audited and ends the job, and the spare run — which River makes only when
// the last attempt never finished, identityd having stopped during it — sends nothing
// and audits the failure that attempt could not.
func TestALogoutTokenThatCannotBeDeliveredIsAuditedOnceTheAttemptsRunOut(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		d := newIDP(t, db, idpOptions{})
		rcv := newLogoutReceiver(t)
		rcv.fail = 1 << 30
		app, _ := d.app(clients.Settings{FirstParty: true, RedirectURIs: []string{"http://127.0.0.1:9/cb"},
			GrantTypes: []string{clients.GrantAuthorizationCode}, Scopes: []string{"openid"},
			BackchannelLogoutURI: rcv.srv.URL + "/backchannel"})
		w := oauth.NewLogoutWorker(d.provider)
		opts := oauth.LogoutArgs{}.InsertOpts()
		run := func(attempt int) error {
			t.Helper()
			return w.Work(t.Context(), &river.Job[oauth.LogoutArgs]{
				JobRow: &rivertype.JobRow{Attempt: attempt, MaxAttempts: opts.MaxAttempts},
				Args:   oauth.LogoutArgs{ClientID: app.ID, Subject: "user-1", SessionID: "session-1"}})
		}
		attempts := func() int {
			rcv.mu.Lock()
			defer rcv.mu.Unlock()
			return 1<<30 - rcv.fail
		}
		var cancelled *river.JobCancelError

		if err := run(1); err == nil || errors.As(err, &cancelled) || len(d.events(audit.TypeOAuthLogoutFailed, app.ID)) != 0 {
			t.Fatalf("a failed first attempt: %v, want a retry and nothing audited", err)
		}
		if err := run(opts.MaxAttempts - 1); !errors.As(err, &cancelled) {
			t.Fatalf("the last delivery attempt: %v, want the job ended", err)
		}
		if evs := d.events(audit.TypeOAuthLogoutFailed, app.ID); len(evs) != 1 || evs[0].Details["session"] != "session-1" {
			t.Fatalf("after the last delivery attempt: %+v, want one failure naming the session", evs)
		}
		sent := attempts()
		if err := run(opts.MaxAttempts); !errors.As(err, &cancelled) {
			t.Fatalf("the spare run: %v, want the job ended", err)
		}
		if attempts() != sent {
			t.Error("the spare run sent the logout token again")
		}
		if evs := d.events(audit.TypeOAuthLogoutFailed, app.ID); len(evs) != 2 ||
			!strings.Contains(fmt.Sprint(evs[1].Details), "never finished") {
			t.Fatalf("after the spare run: %+v, want a second failure saying the last attempt never finished", evs)
		}
	})
}
