package oauth_test

import (
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/identityd/identityd/clients"
	"github.com/identityd/identityd/oauth"
	"github.com/identityd/identityd/signingkeys"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
)

func TestAuthorizationRequestsThatCannotBeTrustedNeverReachTheApp(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		d := newIDP(t, db, idpOptions{})
		app, _ := d.webApp("http://127.0.0.1:9/cb")
		b := d.browser()
		p := newPKCE()
		for name, q := range map[string]url.Values{
			"an unregistered redirect_uri":     {"redirect_uri": {"http://127.0.0.1:9/cb/other"}},
			"a redirect_uri on another host":   {"redirect_uri": {"https://evil.example/cb"}},
			"a redirect_uri differing in case": {"redirect_uri": {"http://127.0.0.1:9/CB"}},
			"an unknown client":                {"client_id": {"nosuchclient"}},
		} {
			a := b.get(d.authorizeURL(app, "openid", p, q))
			if a.status != http.StatusBadRequest || a.location != "" || !strings.Contains(a.body, "cannot be used") {
				t.Errorf("%s: %d %q; want the error page, and no redirect", name, a.status, a.location)
			}
		}
	})
}

func TestPKCEIsRequiredAndCannotBeDowngraded(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		d := newIDP(t, db, idpOptions{})
		ada := d.user(store.NewID() + "@example.com")
		native, _ := d.app(clients.Settings{Public: true, FirstParty: true, RedirectURIs: []string{"http://127.0.0.1/native"},
			GrantTypes: []string{clients.GrantAuthorizationCode}, Scopes: []string{"openid"}})
		web, secret := d.webApp("http://127.0.0.1:9/cb")
		b := d.browser()
		b.signIn(b.get("/login"), ada.Email)
		p := newPKCE()
		for name, c := range map[string]struct {
			app clients.Client
			q   url.Values
		}{
			"a public client without PKCE":       {native, url.Values{"code_challenge": nil, "code_challenge_method": nil}},
			"a confidential client without PKCE": {web, url.Values{"code_challenge": nil, "code_challenge_method": nil}},
			"the plain method":                   {native, url.Values{"code_challenge_method": {"plain"}, "code_challenge": {p.verifier}}},
		} {
			if e := errorFrom(t, b.get(d.authorizeURL(c.app, "openid", p, c.q)), c.app.RedirectURIs[0]); e != "invalid_request" {
				t.Errorf("%s: error %q, want invalid_request", name, e)
			}
		}
		// A right code with a wrong or missing verifier is refused, and the code is spent.
		for name, verifier := range map[string]string{"a wrong verifier": newPKCE().verifier + "x", "no verifier": ""} {
			code := b.codeFor(web, "openid", p, "")
			tr := d.token(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {web.RedirectURIs[0]},
				"code_verifier": {verifier}}, web.ID, secret)
			if tr.status != http.StatusBadRequest || tr.Error != "invalid_grant" {
				t.Errorf("%s: %d %s, want 400 invalid_grant", name, tr.status, tr.Error)
			}
			if tr := d.exchange(web, secret, code, p); tr.Error != "invalid_grant" {
				t.Errorf("%s: the code still worked after: %+v", name, tr)
			}
		}
	})
}

func TestACodeUsedTwiceRevokesWhatItsFirstUseGave(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		d := newIDP(t, db, idpOptions{})
		ada := d.user(store.NewID() + "@example.com")
		app, secret := d.webApp("http://127.0.0.1:9/cb")
		other, otherSecret := d.webApp("http://127.0.0.1:9/other")
		b := d.browser()
		p := newPKCE()
		code := b.codeFor(app, "openid offline_access", p, ada.Email)
		// Another client cannot use it, nor a different redirect_uri; neither spends it.
		if tr := d.exchange(other, otherSecret, code, p); tr.Error != "invalid_grant" {
			t.Errorf("another client's exchange: %+v, want invalid_grant", tr)
		}
		first := d.exchange(app, secret, code, p)
		if first.status != http.StatusOK || first.RefreshToken == "" {
			t.Fatalf("first use: %+v", first)
		}
		second := d.exchange(app, secret, code, p)
		if second.status != http.StatusBadRequest || second.Error != "invalid_grant" {
			t.Fatalf("second use: %d %s, want 400 invalid_grant", second.status, second.Error)
		}
		if d.active(first.AccessToken, app.ID, secret) {
			t.Error("the access token of the code's first use is still active")
		}
		if tr := d.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first.RefreshToken}}, app.ID, secret); tr.Error != "invalid_grant" {
			t.Errorf("the refresh token of the code's first use: %+v, want invalid_grant", tr)
		}
		if evs := d.events("oauth.token.reused", app.ID); len(evs) != 1 || evs[0].Details["kind"] != "code" || evs[0].Outcome != "failure" {
			t.Errorf("events %+v; want one oauth.token.reused of a code", evs)
		}
	})
}

func TestARefreshTokenUsedTwiceRevokesItsGrant(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		d := newIDP(t, db, idpOptions{})
		ada := d.user(store.NewID() + "@example.com")
		app, secret := d.webApp("http://127.0.0.1:9/cb")
		b := d.browser()
		p := newPKCE()
		first := d.exchange(app, secret, b.codeFor(app, "openid email offline_access", p, ada.Email), p)
		refresh := func(rt string, scope string) tokenResponse {
			f := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
			if scope != "" {
				f.Set("scope", scope)
			}
			return d.token(f, app.ID, secret)
		}
		// Asking for more than was granted is refused.
		if tr := refresh(first.RefreshToken, "openid email profile offline_access"); tr.status != http.StatusBadRequest || tr.Error != "invalid_scope" {
			t.Errorf("scope escalation on refresh: %d %s, want 400 invalid_scope", tr.status, tr.Error)
		}
		second := refresh(first.RefreshToken, "")
		if second.status != http.StatusOK {
			t.Fatalf("refresh: %+v", second)
		}
		if tr := refresh(first.RefreshToken, ""); tr.status != http.StatusBadRequest || tr.Error != "invalid_grant" {
			t.Fatalf("reuse: %d %s, want 400 invalid_grant", tr.status, tr.Error)
		}
		// The whole grant is gone: the legitimate client's newer tokens too.
		if tr := refresh(second.RefreshToken, ""); tr.Error != "invalid_grant" {
			t.Errorf("the newer refresh token after reuse: %+v, want invalid_grant", tr)
		}
		for _, at := range []string{first.AccessToken, second.AccessToken} {
			if d.active(at, app.ID, secret) {
				t.Error("an access token of a reused grant is still active")
			}
		}
		if evs := d.events("oauth.token.reused", app.ID); len(evs) != 1 || evs[0].Details["kind"] != "refresh" {
			t.Errorf("events %+v; want one oauth.token.reused of a refresh token", evs)
		}
	})
}

func TestAGracePeriodLetsAJustRotatedRefreshTokenBeUsedABoundedNumberOfTimes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		d := newIDP(t, db, idpOptions{config: func(c *oauth.Config) { c.RefreshGrace, c.RefreshGraceUses = 10*time.Second, 1 }})
		ada := d.user(store.NewID() + "@example.com")
		app, secret := d.webApp("http://127.0.0.1:9/cb")
		b := d.browser()
		p := newPKCE()
		rt := d.exchange(app, secret, b.codeFor(app, "openid offline_access", p, ada.Email), p).RefreshToken
		refresh := func() tokenResponse {
			return d.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, app.ID, secret)
		}
		a, c := refresh(), refresh()
		if a.status != http.StatusOK || c.status != http.StatusOK {
			t.Fatalf("two refreshes within the grace: %+v / %+v", a, c)
		}
		if tr := refresh(); tr.Error != "invalid_grant" {
			t.Fatalf("a third use, beyond the grace's count: %+v, want invalid_grant", tr)
		}
		// That was reuse: the grant is revoked.
		if d.active(a.AccessToken, app.ID, secret) {
			t.Error("the grant survived reuse beyond the grace")
		}
		// After the grace period a second use is reuse at once.
		rt = d.exchange(app, secret, b.codeFor(app, "openid offline_access", p, ""), p).RefreshToken
		if tr := refresh(); tr.status != http.StatusOK {
			t.Fatal(tr)
		}
		d.clock.Advance(11 * time.Second)
		if tr := refresh(); tr.Error != "invalid_grant" {
			t.Errorf("a use after the grace: %+v, want invalid_grant", tr)
		}
	})
}

func TestClientAuthenticationFailuresAreInvalidClient(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		d := newIDP(t, db, idpOptions{})
		svc, secret := d.service([]string{"reports"}, nil)
		native, _ := d.app(clients.Settings{Public: true, RedirectURIs: []string{"http://127.0.0.1/native"},
			GrantTypes: []string{clients.GrantAuthorizationCode, clients.GrantRefreshToken}, Scopes: []string{"openid"}})
		cc := url.Values{"grant_type": {"client_credentials"}}
		status, body, h := d.postForm(oauth.TokenPath, cc, svc.ID, secret+"x")
		if status != http.StatusUnauthorized || !strings.Contains(string(body), `"invalid_client"`) || !strings.HasPrefix(h.Get("WWW-Authenticate"), "Basic") {
			t.Errorf("a wrong secret: %d %s %q; want 401 invalid_client with a Basic challenge", status, body, h.Get("WWW-Authenticate"))
		}
		if status, body, _ := d.postForm(oauth.TokenPath, cc, "nosuchclient", secret); status != http.StatusUnauthorized || !strings.Contains(string(body), "invalid_client") {
			t.Errorf("an unknown client: %d %s", status, body)
		}
		if status, body, _ := d.postForm(oauth.TokenPath, cc, "", ""); status != http.StatusUnauthorized || !strings.Contains(string(body), "invalid_client") {
			t.Errorf("no client authentication: %d %s", status, body)
		}
		// client_secret_post to a client_secret_basic client.
		post := url.Values{"grant_type": {"client_credentials"}, "client_id": {svc.ID}, "client_secret": {secret}}
		if status, body, _ := d.postForm(oauth.TokenPath, post, "", ""); status != http.StatusUnauthorized || !strings.Contains(string(body), "invalid_client") {
			t.Errorf("the wrong authentication method: %d %s", status, body)
		}
		// A public client that sends a secret.
		for name, auth := range map[string][2]string{"in the body": {"", ""}, "by basic": {native.ID, "guess"}} {
			f := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"idd_rt_x"}, "client_id": {native.ID}}
			if auth[0] == "" {
				f.Set("client_secret", "guess")
			}
			if status, body, _ := d.postForm(oauth.TokenPath, f, auth[0], auth[1]); status != http.StatusUnauthorized || !strings.Contains(string(body), "invalid_client") {
				t.Errorf("a public client sending a secret %s: %d %s", name, status, body)
			}
		}
	})
}

func TestForgedAndStaleTokensAreNeverActive(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		d := newIDP(t, db, idpOptions{})
		svc, secret := d.service([]string{"reports"}, nil)
		good := d.token(url.Values{"grant_type": {"client_credentials"}, "scope": {"reports"}}, svc.ID, secret).AccessToken
		if !d.active(good, svc.ID, secret) {
			t.Fatal("a fresh token is not active")
		}
		header, claims := jwtPart(t, good, 0), jwtPart(t, good, 1)
		key, _, err := d.keys.Signing(signingkeys.ES256)
		if err != nil {
			t.Fatal(err)
		}
		pub, err := x509.MarshalPKIXPublicKey(key.Public.(*ecdsa.PublicKey))
		if err != nil {
			t.Fatal(err)
		}
		parts := strings.Split(good, ".")
		forge := func(h map[string]any, c map[string]any, sign func(string) string) string {
			hb, _ := json.Marshal(h)
			cb, _ := json.Marshal(c)
			in := base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(cb)
			return in + "." + sign(in)
		}
		with := func(m map[string]any, k string, v any) map[string]any {
			out := map[string]any{}
			for kk, vv := range m {
				out[kk] = vv
			}
			out[k] = v
			return out
		}
		hs256 := func(in string) string {
			mac := hmac.New(sha256.New, pub)
			mac.Write([]byte(in))
			return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
		}
		keep := func(string) string { return parts[2] }
		for name, tok := range map[string]string{
			"alg none":                        forge(with(header, "alg", "none"), claims, func(string) string { return "" }),
			"HS256 keyed with the public key": forge(with(header, "alg", "HS256"), claims, hs256),
			"an unknown kid":                  forge(with(header, "kid", "not-a-key"), claims, keep),
			"a changed claim":                 forge(header, with(claims, "scope", "admin"), keep),
			"a changed signature":             parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2])),
			"another issuer's":                forge(header, with(claims, "iss", "https://evil.example"), keep),
			"garbage":                         "not.a.token",
			"an opaque token nobody issued":   "idd_at_" + strings.Repeat("x", 43) + "." + strings.Repeat("y", 43),
		} {
			if got := d.introspect(tok, svc.ID, secret); got["active"] != false || len(got) != 1 {
				t.Errorf("%s: introspection %v; want only active=false", name, got)
			}
			status, _, h := d.bearer(oauth.UserinfoPath, tok)
			if status != http.StatusUnauthorized || !strings.Contains(h.Get("WWW-Authenticate"), `error="invalid_token"`) {
				t.Errorf("%s: userinfo %d %q; want 401 invalid_token", name, status, h.Get("WWW-Authenticate"))
			}
		}
		d.clock.Advance(time.Hour + time.Second)
		if d.active(good, svc.ID, secret) {
			t.Error("an expired token is active")
		}
	})
}
