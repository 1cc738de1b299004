package oauth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"

	"github.com/identityd/identityd/clients"
	"github.com/identityd/identityd/oauth"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
)

func TestDiscoveryAdvertisesEveryEndpoint(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		d := newIDP(t, db, idpOptions{})
		for _, path := range []string{oauth.OpenIDDiscoveryPath, oauth.OAuthMetadataPath} {
			res, err := http.Get(d.base + path)
			if err != nil {
				t.Fatal(err)
			}
			var doc map[string]any
			err = json.NewDecoder(res.Body).Decode(&doc)
			res.Body.Close()
			if err != nil || res.StatusCode != http.StatusOK {
				t.Fatalf("%s: %d %v", path, res.StatusCode, err)
			}
			for key, p := range map[string]string{"authorization_endpoint": oauth.AuthorizePath, "token_endpoint": oauth.TokenPath,
				"userinfo_endpoint": oauth.UserinfoPath, "jwks_uri": oauth.JWKSPath, "introspection_endpoint": oauth.IntrospectPath,
				"revocation_endpoint": oauth.RevokePath, "end_session_endpoint": oauth.EndSessionPath,
				"pushed_authorization_request_endpoint": oauth.PushedAuthorizePath} {
				if doc[key] != d.issuer+p {
					t.Errorf("%s: %s = %v, want %s", path, key, doc[key], d.issuer+p)
				}
			}
			if doc["issuer"] != d.issuer {
				t.Errorf("issuer %v", doc["issuer"])
			}
			if m, _ := doc["code_challenge_methods_supported"].([]any); !slices.Equal(m, []any{"S256"}) {
				t.Errorf("code_challenge_methods_supported %v", m)
			}
			if m, _ := doc["response_modes_supported"].([]any); !slices.Equal(m, []any{"query"}) {
				t.Errorf("response_modes_supported %v, want only query", m)
			}
			if doc["authorization_response_iss_parameter_supported"] != true {
				t.Errorf("authorization_response_iss_parameter_supported %v, want true", doc["authorization_response_iss_parameter_supported"])
			}
		}
		res, err := http.Get(d.base + oauth.JWKSPath)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.Header.Get("Cache-Control") != "public, max-age=3600" || strings.Contains(string(body), `"d"`) {
			t.Errorf("JWKS: %q %s", res.Header.Get("Cache-Control"), body)
		}
	})
}

// form_post would need a self-submitting page, which the pages' CSP (no script) forbids:
// it is not advertised, and a request for it is refused rather than answered another way.
func TestResponseModesOtherThanQueryAreRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		d := newIDP(t, db, idpOptions{})
		ada := d.user(store.NewID() + "@example.com")
		app, _ := d.webApp("http://127.0.0.1:9/cb")
		b := d.browser()
		b.signIn(b.get("/login"), ada.Email)
		for _, mode := range []string{"form_post", "fragment"} {
			a := b.get(d.authorizeURL(app, "openid", newPKCE(), url.Values{"response_mode": {mode}}))
			if e := errorFrom(t, a, app.RedirectURIs[0]); e != "unsupported_response_mode" {
				t.Errorf("response_mode=%s: error %q, want unsupported_response_mode in the query", mode, e)
			}
		}
	})
}

func TestPushedAuthorizationRequestsAreUsedOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		d := newIDP(t, db, idpOptions{})
		ada := d.user(store.NewID() + "@example.com")
		app, secret := d.webApp("http://127.0.0.1:9/cb")
		p := newPKCE()
		status, body, _ := d.postForm(oauth.PushedAuthorizePath, url.Values{"response_type": {"code"},
			"redirect_uri": {app.RedirectURIs[0]}, "scope": {"openid"}, "state": {"par-state-123"}, "nonce": {"par-nonce-123"},
			"code_challenge": {p.challenge}, "code_challenge_method": {"S256"}}, app.ID, secret)
		var pushed struct {
			RequestURI string `json:"request_uri"`
			ExpiresIn  int    `json:"expires_in"`
		}
		if err := json.Unmarshal(body, &pushed); err != nil || status != http.StatusCreated || !strings.HasPrefix(pushed.RequestURI, "urn:") {
			t.Fatalf("push: %d %s", status, body)
		}
		b := d.browser()
		target := oauth.AuthorizePath + "?" + url.Values{"client_id": {app.ID}, "request_uri": {pushed.RequestURI}}.Encode()
		code := codeFrom(t, b.follow(b.signIn(b.get(target), ada.Email)), app.RedirectURIs[0])
		if tr := d.exchange(app, secret, code, p); tr.status != http.StatusOK {
			t.Fatalf("exchange: %+v", tr)
		}
		if a := b.get(target); a.status != http.StatusBadRequest {
			t.Errorf("a request_uri used again: %d %q", a.status, a.location)
		}
		if status, body, _ := d.postForm(oauth.PushedAuthorizePath, url.Values{"response_type": {"code"},
			"redirect_uri": {app.RedirectURIs[0]}, "scope": {"openid"}}, app.ID, "wrong"); status != http.StatusUnauthorized {
			t.Errorf("a push with a wrong secret: %d %s", status, body)
		}
	})
}

func TestPrivateKeyJWTClientsAuthenticateWithSignedAssertions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		d := newIDP(t, db, idpOptions{})
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		jwk := jose.JSONWebKey{Key: key.Public(), KeyID: "svc-key-1", Algorithm: "ES256", Use: "sig"}
		set, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{jwk}})
		svc, _ := d.app(clients.Settings{Name: "Signed", GrantTypes: []string{clients.GrantClientCredentials},
			Scopes: []string{"reports"}, TokenEndpointAuthMethod: clients.AuthPrivateKeyJWT, JWKS: set})
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: "svc-key-1"}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		assertion := func(jti string, aud string) string {
			now := time.Now()
			a, err := josejwt.Signed(signer).Claims(josejwt.Claims{Issuer: svc.ID, Subject: svc.ID, Audience: josejwt.Audience{aud},
				ID: jti, IssuedAt: josejwt.NewNumericDate(now), Expiry: josejwt.NewNumericDate(now.Add(time.Minute))}).Serialize()
			if err != nil {
				t.Fatal(err)
			}
			return a
		}
		call := func(a string) (int, string) {
			status, body, _ := d.postForm(oauth.TokenPath, url.Values{"grant_type": {"client_credentials"}, "scope": {"reports"},
				"client_id": {svc.ID}, "client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
				"client_assertion": {a}}, "", "")
			return status, string(body)
		}
		good := assertion("jti-1-"+store.NewID(), d.issuer+oauth.TokenPath)
		if status, body := call(good); status != http.StatusOK {
			t.Fatalf("a good assertion: %d %s", status, body)
		}
		if status, body := call(good); status != http.StatusUnauthorized || !strings.Contains(body, "invalid_client") {
			t.Errorf("an assertion used twice: %d %s", status, body)
		}
		if status, _ := call(assertion("jti-2-"+store.NewID(), "https://elsewhere.example/token")); status != http.StatusUnauthorized {
			t.Errorf("an assertion for another audience: %d", status)
		}
		other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		signer, _ = jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: other, KeyID: "svc-key-1"}}, nil)
		if status, _ := call(assertion("jti-3-"+store.NewID(), d.issuer+oauth.TokenPath)); status != http.StatusUnauthorized {
			t.Errorf("an assertion signed by another key: %d", status)
		}
	})
}

func TestFormTargetsAreTheOriginsTheAppRegistered(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		d := newIDP(t, db, idpOptions{})
		web, _ := d.webApp("https://app.example.com:8443/cb")
		native, _ := d.app(clients.Settings{Public: true, RedirectURIs: []string{"com.example.notes:/oauth", "http://127.0.0.1/cb"},
			GrantTypes: []string{clients.GrantAuthorizationCode}, Scopes: []string{"openid"}})
		ctx := t.Context()
		for name, c := range map[string]struct {
			returnTo string
			want     []string
		}{
			"an authorization":      {oauth.AuthorizePath + "?client_id=" + web.ID + "&request_uri=urn:x", []string{"https://app.example.com:8443"}},
			"a native app":          {oauth.AuthorizePath + "?client_id=" + native.ID, []string{"com.example.notes:", "http://127.0.0.1"}},
			"a sign-out":            {oauth.EndSessionPath + "?client_id=" + web.ID, []string{"https://app.example.com:8443"}},
			"an unknown client":     {oauth.AuthorizePath + "?client_id=nope", nil},
			"a page of identityd's": {"/account?client_id=" + web.ID, nil},
			"an absolute URL":       {"https://evil.example" + oauth.AuthorizePath + "?client_id=" + web.ID, nil},
		} {
			if got := d.provider.FormTargets(ctx, c.returnTo); !slices.Equal(got, c.want) {
				t.Errorf("%s: %v, want %v", name, got, c.want)
			}
		}
	})
}

// TestAuthorizationResponsesNameTheIssuer checks RFC 9207: every answer sent to the
// app's redirect URI, a code or an error, carries iss, identityd's issuer, beside the
// app's own query parameters, so that an app talking to several servers can tell which
// one answered.
func TestAuthorizationResponsesNameTheIssuer(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		d := newIDP(t, db, idpOptions{})
		ada := d.user(store.NewID() + "@example.com")
		app, _ := d.webApp("http://127.0.0.1:9/cb?tenant=acme")
		b := d.browser()
		p := newPKCE()
		query := func(a answer) url.Values {
			t.Helper()
			u, err := url.Parse(a.location)
			if err != nil || !strings.HasPrefix(a.location, "http://127.0.0.1:9/cb?") {
				t.Fatalf("want a redirect to the app, got %d %q", a.status, a.location)
			}
			return u.Query()
		}
		refused := query(b.get(d.authorizeURL(app, "openid", p, url.Values{"prompt": {"none"}})))
		if refused.Get("error") != "login_required" || refused.Get("iss") != d.issuer || refused.Get("tenant") != "acme" {
			t.Errorf("an error: %v, want login_required with iss %s and the app's tenant", refused, d.issuer)
		}
		granted := query(b.follow(b.signIn(b.get(d.authorizeURL(app, "openid", p, nil)), ada.Email)))
		if granted.Get("code") == "" || granted.Get("iss") != d.issuer || granted.Get("tenant") != "acme" || granted.Get("state") == "" {
			t.Errorf("a code: %v, want a code and state with iss %s and the app's tenant", granted, d.issuer)
		}
	})
}

// TestTheSignInPageAndTheProviderAgreeWhoIsSignedIn: a lockout stops password guessing,
// not the sessions a user has, on the pages and here alike; and a browser whose session
// cookie is no longer usable is shown the sign-in form, never sent round in circles.
func TestTheSignInPageAndTheProviderAgreeWhoIsSignedIn(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		d := newIDP(t, db, idpOptions{})
		ada := d.user(store.NewID() + "@example.com")
		app, _ := d.webApp("http://127.0.0.1:9/cb")
		b := d.browser()
		b.signIn(b.get("/login"), ada.Email)
		if _, err := db.Exec(context.Background(), `UPDATE users SET status = 'locked' WHERE id = $1`, ada.ID); err != nil {
			t.Fatal(err)
		}
		codeFrom(t, b.follow(b.get(d.authorizeURL(app, "openid", newPKCE(), nil))), app.RedirectURIs[0])

		if _, err := db.Exec(context.Background(), `DELETE FROM sessions WHERE user_id = $1`, ada.ID); err != nil {
			t.Fatal(err)
		}
		if a := b.follow(b.get(d.authorizeURL(app, "openid", newPKCE(), nil))); a.status != http.StatusOK || !strings.Contains(a.body, `name="password"`) {
			t.Fatalf("a browser whose session is gone: %d %q, want the sign-in form", a.status, a.location)
		}
	})
}
