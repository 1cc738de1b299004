package clients

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v3"
)

// FuzzCheckRedirectURI checks that no input panics the redirect URI rules, and that
// whatever they accept is an absolute ASCII URI within the limit, without fragment or
// user information, whose scheme is https, http on loopback (or anywhere in dev mode),
// or a reverse-domain private-use scheme for a public client.
func FuzzCheckRedirectURI(f *testing.F) {
	for _, s := range []string{
		"https://app.example.com/cb", "http://127.0.0.1:8080/cb", "http://[::1]/cb", "http://localhost/cb",
		"com.example.app:/cb", "com.example.app:cb", "javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:,x",
		"https://u@h/", "https://h/#", "http://h:0/", "HTTP://LOCALHOST/", "http://[::ffff:127.0.0.1]/",
		"https:opaque", "http://%6c%6fcalhost/", "http://127.1/", "http://[fe80::1%25lo]/", "a.b://x@y/", "/rel",
	} {
		for _, public := range []bool{false, true} {
			f.Add(s, public, false)
			f.Add(s, public, true)
		}
	}
	f.Fuzz(func(t *testing.T, raw string, public, dev bool) {
		s := &Service{dev: dev}
		if s.checkRedirectURI(raw, public) != "" {
			return
		}
		u, err := url.Parse(raw)
		switch {
		case err != nil:
			t.Fatalf("%q accepted but does not parse: %v", raw, err)
		case len(raw) > MaxURIBytes || !visibleASCII(raw):
			t.Fatalf("%q accepted: too long or not visible ASCII", raw)
		case strings.Contains(raw, "#") || u.User != nil:
			t.Fatalf("%q accepted with a fragment or user information", raw)
		case schemesNeverAllowed[u.Scheme]:
			t.Fatalf("%q accepted with scheme %s", raw, u.Scheme)
		}
		switch {
		case u.Scheme == "https":
		case u.Scheme == "http":
			if !dev && !loopback(u.Hostname()) {
				t.Fatalf("%q accepted: http on a host that is not loopback", raw)
			}
		case strings.Contains(u.Scheme, "."):
			if !public {
				t.Fatalf("%q accepted: private-use scheme for a confidential client", raw)
			}
		default:
			t.Fatalf("%q accepted with scheme %q", raw, u.Scheme)
		}
		if (u.Scheme == "https" || u.Scheme == "http") && (u.Host == "" || u.Opaque != "") {
			t.Fatalf("%q accepted without a host", raw)
		}
	})
}

// FuzzCheckJWKS checks that no key set panics the checks, and that a set they accept is
// stored as public RSA or EC keys only, with no private member left in its JSON.
func FuzzCheckJWKS(f *testing.F) {
	for _, s := range []string{
		`{"keys":[{"kty":"EC","crv":"P-256","x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4","y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"}]}`,
		`{"keys":[{"kty":"EC","crv":"P-256","x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4","y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM","d":"870MB6gfuTJ4HtUnUvYMyJpr5eUZNP4Bk43bVdj3eAE"}]}`,
		`{"keys":[{"kty":"oct","k":"AAAA"}]}`, `{"keys":[]}`, `{"keys":null}`, `[]`, `null`, `{"keys":[1]}`,
		`{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB","P":"AQ"}]}`, `{"KEYS":[{"kty":"EC"}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var errs fieldErrors
		out := checkJWKS(&errs, raw)
		if (out == nil) == (len(errs) == 0) {
			t.Fatalf("%q: stored %q with %d refusals", raw, out, len(errs))
		}
		if out == nil {
			return
		}
		var set jose.JSONWebKeySet
		if err := json.Unmarshal(out, &set); err != nil || len(set.Keys) == 0 || len(set.Keys) > MaxJWKSKeys {
			t.Fatalf("%q: stored %q, which does not parse as 1 to %d keys: %v", raw, out, MaxJWKSKeys, err)
		}
		for _, k := range set.Keys {
			if !k.IsPublic() || !k.Valid() {
				t.Fatalf("%q: stored a key that is not public: %q", raw, out)
			}
		}
		var members struct {
			Keys []map[string]json.RawMessage `json:"keys"`
		}
		if err := json.Unmarshal(out, &members); err != nil {
			t.Fatal(err)
		}
		for _, k := range members.Keys {
			for name := range k {
				for _, p := range privateMembers {
					if strings.EqualFold(name, p) {
						t.Fatalf("%q: stored the private member %s: %q", raw, name, out)
					}
				}
			}
		}
	})
}
