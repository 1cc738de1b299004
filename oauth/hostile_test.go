package oauth_test

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/identityd/identityd/oauth"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
)

// hostile is a request no client should send.
type hostile struct {
	name, method, path, contentType, body string
	header                                map[string]string
}

func hostileRequests(clientID string) []hostile {
	form := "application/x-www-form-urlencoded"
	big := "token=" + strings.Repeat("A", 200<<10)
	nul := url.Values{"client_id": {"a\x00b"}, "token": {"x\x00y"}, "grant_type": {"client_credentials"},
		"redirect_uri": {"http://127.0.0.1:9/\x00"}, "scope": {"openid\x00"}, "response_type": {"code"}}.Encode()
	bad := "token=%zz&client_id=%"
	var out []hostile
	for _, path := range []string{oauth.TokenPath, oauth.IntrospectPath, oauth.RevokePath, oauth.PushedAuthorizePath,
		oauth.AuthorizePath, oauth.EndSessionPath, oauth.UserinfoPath} {
		out = append(out,
			hostile{name: "oversized", method: "POST", path: path, contentType: form, body: big},
			hostile{name: "NUL bytes", method: "POST", path: path, contentType: form, body: nul},
			hostile{name: "bad escapes", method: "POST", path: path, contentType: form, body: bad},
			hostile{name: "JSON", method: "POST", path: path, contentType: "application/json", body: `{"token":"x"}`},
			hostile{name: "multipart", method: "POST", path: path, contentType: "multipart/form-data; boundary=x", body: "--x\r\n"},
			hostile{name: "empty", method: "POST", path: path, contentType: form},
			hostile{name: "basic auth garbage", method: "POST", path: path, contentType: form, body: "token=x&grant_type=client_credentials",
				header: map[string]string{"Authorization": "Basic %%%not-base64"}},
			hostile{name: "basic auth with NUL", method: "POST", path: path, contentType: form, body: "token=x&grant_type=client_credentials",
				header: map[string]string{"Authorization": "Basic " + "YQBiOmMAZA=="}},
			hostile{name: "bearer garbage", method: "POST", path: path, contentType: form, body: "",
				header: map[string]string{"Authorization": "Bearer " + strings.Repeat("x.", 5000)}},
			hostile{name: "duplicated parameters", method: "POST", path: path, contentType: form,
				body: "client_id=" + clientID + "&client_id=other&grant_type=client_credentials&grant_type=refresh_token&token=a&token=b"},
		)
	}
	for _, q := range []string{
		"client_id=%00&response_type=code",
		"client_id=" + clientID + "&response_type=code&redirect_uri=javascript:alert(1)",
		"client_id=" + clientID + "&response_type=token&redirect_uri=http://127.0.0.1:9/cb",
		"client_id=" + clientID + "&response_type=code&request_uri=urn:ietf:params:oauth:request_uri:" + strings.Repeat("z", 5000),
		"client_id=" + clientID + "&request=eyJhbGciOiJub25lIn0.e30.",
		"id_token_hint=" + strings.Repeat("e", 20000),
		"id_token_hint=eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.&post_logout_redirect_uri=https://evil.example",
		"prompt=none%00login&max_age=-1&client_id=" + clientID,
	} {
		for _, path := range []string{oauth.AuthorizePath, oauth.EndSessionPath, oauth.UserinfoPath} {
			out = append(out, hostile{name: "query " + q[:min(len(q), 30)], method: "GET", path: path + "?" + q})
		}
	}
	return out
}

func TestHostileRequestsGetAClearAnswerNeverAServerError(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		d := newIDP(t, db, idpOptions{})
		app, _ := d.webApp("http://127.0.0.1:9/cb")
		for _, h := range hostileRequests(app.ID) {
			r, err := http.NewRequest(h.method, d.base+h.path, bytes.NewReader([]byte(h.body)))
			if err != nil {
				t.Fatal(err)
			}
			if h.contentType != "" {
				r.Header.Set("Content-Type", h.contentType)
			}
			for k, v := range h.header {
				r.Header.Set(k, v)
			}
			res, err := http.DefaultTransport.RoundTrip(r)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode >= 500 || res.StatusCode < 200 {
				t.Errorf("%s %s (%s): %d %s", h.method, h.path, h.name, res.StatusCode, body)
			}
		}
	})
}

func FuzzTokensAtIntrospectionAndUserinfo(f *testing.F) {
	db := storetest.SQLite(f)
	storetest.Migrate(f, db)
	d := newIDP(f, db, idpOptions{})
	svc, secret := d.service([]string{"reports"}, nil)
	good := d.token(url.Values{"grant_type": {"client_credentials"}, "scope": {"reports"}}, svc.ID, secret).AccessToken
	for _, seed := range []string{good, good[:len(good)-3], "a.b.c", "idd_at_x.y", "idd_rt_", "eyJhbGciOiJub25lIn0.e30.", ""} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, token string) {
		d := *d
		d.t = t
		status, body, _ := d.postForm(oauth.IntrospectPath, url.Values{"token": {token}}, svc.ID, secret)
		if status != http.StatusOK && status != http.StatusBadRequest {
			t.Fatalf("introspection of %q: %d %s", token, status, body)
		}
		if token != good && strings.Contains(string(body), `"active":true`) {
			t.Fatalf("%q is active", token)
		}
		if strings.ContainsFunc(token, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return // no HTTP client can send it as a header
		}
		if status, body, _ := d.bearer(oauth.UserinfoPath, token); status >= 500 {
			t.Fatalf("userinfo with %q: %d %s", token, status, body)
		}
	})
}

// FuzzAuthorizationAndLogoutRequestsNeverFailOrRedirectAway sends whatever query a
// browser could carry to the authorization and end-session endpoints, from browsers
// that are signed in, and requires a clear answer that sends the browser nowhere but
// identityd's own pages or the URIs the app registered: never a server error, never an
// open redirect.
func FuzzAuthorizationAndLogoutRequestsNeverFailOrRedirectAway(f *testing.F) {
	db := storetest.SQLite(f)
	storetest.Migrate(f, db)
	d := newIDP(f, db, idpOptions{})
	ada := d.user("ada@example.com")
	app, _ := d.webApp("http://127.0.0.1:9/cb")
	authorizing, leaving := d.browser(), d.browser()
	for _, b := range []*browser{authorizing, leaving} {
		b.signIn(b.get("/login"), ada.Email)
	}
	valid := d.authorizeURL(app, "openid", newPKCE(), nil)
	for _, seed := range []string{"", "&prompt=none", "&prompt=login", "&max_age=0", "&redirect_uri=https://evil.example/cb",
		"&response_mode=fragment", "&scope=openid%20offline_access%20admin", "&code_challenge_method=plain",
		"&client_id=other", "&request_uri=urn:ietf:params:oauth:request_uri:x", "&request=e30.e30.",
		"&post_logout_redirect_uri=http://127.0.0.1:9/cb/signed-out&client_id=" + app.ID + "&state=s",
		"&post_logout_redirect_uri=https://evil.example&id_token_hint=a.b.c", "&%zz", "&state=%00"} {
		f.Add(seed)
	}
	allowed := func(location string) bool {
		if location == "" || (strings.HasPrefix(location, "/") && !strings.HasPrefix(location, "//")) ||
			strings.HasPrefix(location, d.base+"/") {
			return true
		}
		for _, uri := range append(slices.Clone(app.RedirectURIs), app.PostLogoutRedirectURIs...) {
			if location == uri || strings.HasPrefix(location, uri+"?") {
				return true
			}
		}
		return false
	}
	f.Fuzz(func(t *testing.T, extra string) {
		for _, c := range []struct {
			b      *browser
			target string
		}{
			{authorizing, valid + extra},
			{authorizing, oauth.AuthorizePath + "?" + strings.TrimPrefix(extra, "&")},
			{leaving, oauth.EndSessionPath + "?" + strings.TrimPrefix(extra, "&")},
		} {
			r, err := http.NewRequest(http.MethodGet, d.base+c.target, nil)
			if err != nil {
				continue // not a URL a browser could send
			}
			b := *c.b
			b.t = t
			a := b.do(r)
			if a.status >= 500 {
				t.Fatalf("GET %s: %d\n%s", c.target, a.status, a.body)
			}
			if !allowed(a.location) {
				t.Fatalf("GET %s sent the browser to %q", c.target, a.location)
			}
		}
	})
}

// FuzzFormEndpointsAnswerAnyBodyClearly posts whatever body an app's backend could send,
// with the app's own valid credentials, to every endpoint that takes a form, and
// requires an answer in the RFC's terms: never a server error.
func FuzzFormEndpointsAnswerAnyBodyClearly(f *testing.F) {
	db := storetest.SQLite(f)
	storetest.Migrate(f, db)
	d := newIDP(f, db, idpOptions{})
	app, secret := d.webApp("http://127.0.0.1:9/cb")
	p := newPKCE()
	for _, seed := range []string{"", "grant_type=authorization_code&code=idd_ac_x.y&redirect_uri=http://127.0.0.1:9/cb&code_verifier=" + p.verifier,
		"grant_type=refresh_token&refresh_token=idd_rt_x.y&scope=openid%20admin", "grant_type=client_credentials&scope=openid",
		"grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=a.b.c",
		"response_type=code&redirect_uri=http://127.0.0.1:9/cb&scope=openid&code_challenge=" + p.challenge + "&code_challenge_method=S256&state=abcdefgh",
		"response_type=code&request_uri=urn:ietf:params:oauth:request_uri:x", "token=a.b.c&token_type_hint=refresh_token",
		"client_id=other&client_secret=x", "client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer&client_assertion=a.b.c",
		"%zz=1&&&==", "scope=" + strings.Repeat("a ", 500)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		d := *d
		d.t = t
		for _, path := range []string{oauth.TokenPath, oauth.PushedAuthorizePath, oauth.RevokePath, oauth.IntrospectPath} {
			r, err := http.NewRequest(http.MethodPost, d.base+path, strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.SetBasicAuth(app.ID, secret)
			if status, answer, _ := d.send(r); status >= 500 {
				t.Fatalf("POST %s %q: %d %s", path, body, status, answer)
			}
		}
	})
}
