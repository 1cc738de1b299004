package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/identityd/identityd/store/storetest"
	"github.com/identityd/identityd/ui/uitest"
)

// relyingParty is an app that signs people in with identityd the way apps do, built
// from other people's libraries only: golang.org/x/oauth2 for the code flow with PKCE
// and refresh, coreos/go-oidc for discovery, ID token verification and userinfo.
type relyingParty struct {
	t        *testing.T
	name     string
	srv      *httptest.Server
	origin   string
	cfg      oauth2.Config
	provider *oidc.Provider
	verifier *oidc.IDTokenVerifier

	mu      sync.Mutex
	pending map[string][2]string // state → PKCE verifier, nonce
	token   *oauth2.Token
	idToken string
	logouts []string // back-channel logout tokens received
}

// newRelyingParty listens on localhost; register it, then call start with its client.
func newRelyingParty(t *testing.T, name string) *relyingParty {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	app := &relyingParty{t: t, name: name, origin: "http://localhost:" + port, pending: map[string][2]string{}}
	app.srv = &httptest.Server{Listener: ln, Config: &http.Server{Handler: app.routes()}}
	return app
}

func (app *relyingParty) start(ctx context.Context, issuer, clientID, secret string) {
	app.t.Helper()
	provider, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		app.t.Fatalf("%s: discovery: %v", app.name, err)
	}
	app.provider = provider
	app.verifier = provider.Verifier(&oidc.Config{ClientID: clientID})
	app.cfg = oauth2.Config{ClientID: clientID, ClientSecret: secret, Endpoint: provider.Endpoint(),
		RedirectURL: app.origin + "/callback", Scopes: []string{oidc.ScopeOpenID, "profile", "email", oidc.ScopeOfflineAccess}}
	app.srv.Start()
	app.t.Cleanup(app.srv.Close)
}

func (app *relyingParty) page(w http.ResponseWriter, status int, text string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!doctype html><title>%s</title><main>%s</main>", app.name, html.EscapeString(text))
}

func (app *relyingParty) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		state, verifier, nonce := oauth2.GenerateVerifier(), oauth2.GenerateVerifier(), oauth2.GenerateVerifier()
		app.mu.Lock()
		app.pending[state] = [2]string{verifier, nonce}
		app.mu.Unlock()
		http.Redirect(w, r, app.cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce)), http.StatusFound)
	})
	mux.HandleFunc("GET /callback", func(w http.ResponseWriter, r *http.Request) {
		app.mu.Lock()
		p, ok := app.pending[r.URL.Query().Get("state")]
		delete(app.pending, r.URL.Query().Get("state"))
		app.mu.Unlock()
		if !ok {
			app.page(w, http.StatusBadRequest, "unknown state; error="+r.URL.Query().Get("error"))
			return
		}
		tok, err := app.cfg.Exchange(r.Context(), r.URL.Query().Get("code"), oauth2.VerifierOption(p[0]))
		if err != nil {
			app.page(w, http.StatusBadGateway, "exchange: "+err.Error())
			return
		}
		raw, _ := tok.Extra("id_token").(string)
		id, err := app.verifier.Verify(r.Context(), raw)
		if err != nil || id.Nonce != p[1] {
			app.page(w, http.StatusBadGateway, fmt.Sprintf("ID token: %v", err))
			return
		}
		if err := id.VerifyAccessToken(tok.AccessToken); err != nil {
			app.page(w, http.StatusBadGateway, "at_hash: "+err.Error())
			return
		}
		info, err := app.provider.UserInfo(r.Context(), oauth2.StaticTokenSource(tok))
		if err != nil {
			app.page(w, http.StatusBadGateway, "userinfo: "+err.Error())
			return
		}
		app.mu.Lock()
		app.token, app.idToken = tok, raw
		app.mu.Unlock()
		app.page(w, http.StatusOK, "Signed in to "+app.name+" as "+info.Email)
	})
	mux.HandleFunc("GET /logout", func(w http.ResponseWriter, r *http.Request) {
		var claims struct {
			EndSession string `json:"end_session_endpoint"`
		}
		if err := app.provider.Claims(&claims); err != nil {
			app.page(w, http.StatusBadGateway, err.Error())
			return
		}
		app.mu.Lock()
		hint := app.idToken
		app.mu.Unlock()
		q := url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {app.origin + "/signed-out"}, "state": {"logout-state-1"}}
		http.Redirect(w, r, claims.EndSession+"?"+q.Encode(), http.StatusFound)
	})
	mux.HandleFunc("GET /signed-out", func(w http.ResponseWriter, r *http.Request) {
		app.page(w, http.StatusOK, "Signed out of "+app.name+" (state "+r.URL.Query().Get("state")+")")
	})
	mux.HandleFunc("POST /backchannel", func(w http.ResponseWriter, r *http.Request) {
		app.mu.Lock()
		app.logouts = append(app.logouts, r.PostFormValue("logout_token"))
		app.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	})
	return mux
}

// registerApp registers a client through the management API.
func registerApp(t *testing.T, admin http.Handler, token string, body map[string]any) (string, string) {
	t.Helper()
	b, _ := json.Marshal(body)
	w := call(t, admin, "POST", "/v1/clients", token, "application/json", string(b))
	if w.Code != http.StatusCreated {
		t.Fatalf("create client: %d %s", w.Code, w.Body)
	}
	var c struct {
		ID     string `json:"client_id"`
		Secret string `json:"client_secret"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &c); err != nil {
		t.Fatal(err)
	}
	return c.ID, c.Secret
}

// TestAppsSignPeopleInOnceThroughTheRealPagesInABrowser is the main walk: two apps
// built on golang.org/x/oauth2 and coreos/go-oidc send a person in headless Chromium to
// identityd; the first shows the sign-in page, the second finds the session (single
// sign-on); a third-party app asks for consent; the account page lists it; the first
// app signs the person out, and the second hears of it on its back channel.
func TestAppsSignPeopleInOnceThroughTheRealPagesInABrowser(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		browser := uitest.NewBrowser(t, "localhost")
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		_ = ln.Close()
		_, port, _ := net.SplitHostPort(addr)
		origin := "http://localhost:" + port
		cfg := testConfig(t, dbURL, append(fastHashing, "IDENTITYD_PUBLIC_ADDR="+addr, "IDENTITYD_ISSUER="+origin,
			"IDENTITYD_OAUTH_ALLOW_PRIVATE_NETWORKS=true", "IDENTITYD_PRODUCT_NAME=Example Cloud")...)
		cfg.AdminAddr = "127.0.0.2:0"
		s, _ := newServer(t, cfg)
		serve(t, s)
		_, admin := s.Handlers()
		token := adminToken(t, dbURL)
		shot := func(p *person, name string) {
			if strings.HasSuffix(t.Name(), "/sqlite") {
				p.tab.Screenshot(t, "page-"+name)
			}
		}
		if w := call(t, admin, "POST", "/v1/users", token, "application/json",
			`{"email":"ada@example.com","name":"Ada Lovelace","password":"violet kettle drum 42","email_verified":true}`); w.Code != http.StatusCreated {
			t.Fatalf("create user: %d %s", w.Code, w.Body)
		}
		ctx := context.Background()
		apps := map[string]*relyingParty{}
		for _, a := range []struct {
			name       string
			firstParty bool
		}{{"Mail", true}, {"Calendar", true}, {"Photo Printer", false}} {
			app := newRelyingParty(t, a.name)
			id, secret := registerApp(t, admin, token, map[string]any{"name": a.name, "first_party": a.firstParty,
				"redirect_uris": []string{app.origin + "/callback"}, "post_logout_redirect_uris": []string{app.origin + "/signed-out"},
				"grant_types": []string{"authorization_code", "refresh_token"}, "scopes": []string{"openid", "profile", "email", "offline_access"},
				"backchannel_logout_uri": app.origin + "/backchannel"})
			app.start(ctx, origin, id, secret)
			apps[a.name] = app
		}
		ada := &person{t: t, tab: browser.Tab(t, origin), origin: origin}
		visit := func(app *relyingParty, path string) {
			t.Helper()
			ada.tab.Do(t, chromedp.Navigate(app.origin+path), chromedp.WaitReady(chromedp.CSS("main")))
		}

		// The first app: the sign-in page.
		visit(apps["Mail"], "/login")
		if ada.path() != "/login" {
			t.Fatalf("the first app's sign-in went to %s", ada.location())
		}
		ada.fill("identifier", "ada@example.com")
		ada.fill("password", "violet kettle drum 42")
		ada.submit("/login")
		ada.wantText("Signed in to Mail as ada@example.com")

		// The second app: no sign-in page, one sign-in in the audit log.
		visit(apps["Calendar"], "/login")
		ada.wantText("Signed in to Calendar as ada@example.com")
		w := get(t, admin, "/v1/audit/events?type=user.login.succeeded", token)
		if n := strings.Count(w.Body.String(), `"user.login.succeeded"`); n != 1 {
			t.Errorf("%d sign-ins recorded for two apps, want 1: %s", n, w.Body)
		}

		// The app's refresh token works through x/oauth2, and the ID token is current.
		cal := apps["Calendar"]
		cal.mu.Lock()
		tok := *cal.token
		cal.mu.Unlock()
		tok.Expiry = time.Now().Add(-time.Minute)
		fresh, err := cal.cfg.TokenSource(ctx, &tok).Token()
		if err != nil || fresh.AccessToken == tok.AccessToken {
			t.Fatalf("refresh: %v", err)
		}
		if raw, _ := fresh.Extra("id_token").(string); raw == "" {
			t.Error("a refresh gave no ID token")
		} else if _, err := cal.verifier.Verify(ctx, raw); err != nil {
			t.Errorf("the refreshed ID token: %v", err)
		}

		// The third-party app asks for consent, once.
		visit(apps["Photo Printer"], "/login")
		if ada.path() != "/consent" {
			t.Fatalf("a third-party app went to %s, want the consent page", ada.location())
		}
		ada.wantText("Photo Printer")
		shot(ada, "consent")
		ada.tab.Do(t, chromedp.Click(chromedp.CSS(`button[value="allow"]`)))
		ada.waitFor(func() bool { return strings.Contains(ada.text(), "Signed in to Photo Printer") })
		ada.open("/account")
		ada.wantText("Connected apps")
		ada.wantText("Photo Printer")
		shot(ada, "account-connected-apps")

		// The first app signs Ada out; the others hear of it on their back channels.
		visit(apps["Mail"], "/logout")
		ada.wantText("Signed out of Mail (state logout-state-1)")
		ada.open("/account")
		if ada.path() != "/login" {
			t.Errorf("still signed in after the app signed out: %s", ada.location())
		}
		for _, name := range []string{"Calendar", "Photo Printer"} {
			app := apps[name]
			deadline := time.Now().Add(15 * time.Second)
			for {
				app.mu.Lock()
				n := len(app.logouts)
				app.mu.Unlock()
				if n == 1 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s received %d logout tokens, want 1", name, n)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
		if _, violations, _ := ada.tab.Record.Take(); len(violations) > 0 {
			t.Errorf("Content Security Policy violations: %v", violations)
		}
	})
}
