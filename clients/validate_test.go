package clients_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/identityd/identityd/clients"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
)

// change is a registration made from a valid one by a change.
type change struct {
	name string
	base func() clients.Settings
	edit func(n *clients.Settings)
}

func (c change) client() clients.Settings {
	n := c.base()
	c.edit(&n)
	return n
}

// many returns n distinct values made by f.
func many(n int, f func(i int) string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}

// refusedRegistrations are registrations that must be refused, with exactly the fields
// they must be refused for. Each starts from a valid client and breaks one rule.
func refusedRegistrations(t *testing.T) []struct {
	change
	fields []string
} {
	rsaPub := jwk(t, &rsaKey().PublicKey, "rsa-1", "sig", "RS256")
	ecPub := jwk(t, &ecP256Key().PublicKey, "ec-1", "sig", "ES256")
	rsaPriv := jwk(t, rsaKey(), "rsa-1", "sig", "RS256")
	ecPriv := jwk(t, ecP256Key(), "ec-1", "sig", "ES256")
	var ecMembers map[string]string
	if err := json.Unmarshal([]byte(ecPub), &ecMembers); err != nil {
		t.Fatal(err)
	}
	offCurve := strings.Replace(ecPub, ecMembers["x"], "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 1)
	var rsaMembers map[string]string
	if err := json.Unmarshal([]byte(rsaPub), &rsaMembers); err != nil {
		t.Fatal(err)
	}
	exponentOne := strings.Replace(rsaPub, `"e":"`+rsaMembers["e"]+`"`, `"e":"AQ"`, 1)
	huge := jwks(rsaPub, `{"kty":"RSA","n":"`+strings.Repeat("A", clients.MaxJWKSBytes)+`","e":"AQAB"}`)

	type refused = struct {
		change
		fields []string
	}
	web, native, svc := webApp, nativeApp, machine
	redirect := func(uri string) func(n *clients.Settings) {
		return func(n *clients.Settings) { n.RedirectURIs = []string{uri} }
	}
	keys := func(set string) func(n *clients.Settings) {
		return func(n *clients.Settings) {
			n.TokenEndpointAuthMethod, n.JWKS = clients.AuthPrivateKeyJWT, json.RawMessage(set)
		}
	}
	r := func(name string, base func() clients.Settings, edit func(n *clients.Settings), fields ...string) refused {
		return refused{change{name, base, edit}, fields}
	}
	return []refused{
		r("no name", web, func(n *clients.Settings) { n.Name = "" }, "name"),
		r("long name", web, func(n *clients.Settings) { n.Name = strings.Repeat("é", 101) }, "name"),
		r("padded name", web, func(n *clients.Settings) { n.Name = " Invoices" }, "name"),
		r("control in name", web, func(n *clients.Settings) { n.Name = "In\tvoices" }, "name"),
		r("invalid utf-8 name", web, func(n *clients.Settings) { n.Name = "In\xffvoices" }, "name"),

		r("javascript redirect", web, redirect("javascript:alert(document.cookie)"), "redirect_uris[0]"),
		r("javascript redirect for a public client", native, redirect("javascript://%0aalert(1)"), "redirect_uris[0]"),
		r("data redirect", native, redirect("data:text/html,<script>alert(1)</script>"), "redirect_uris[0]"),
		r("file redirect", native, redirect("file:///etc/passwd"), "redirect_uris[0]"),
		r("vbscript redirect", native, redirect("vbscript:msgbox(1)"), "redirect_uris[0]"),
		r("fragment", web, redirect("https://invoices.example.com/callback#done"), "redirect_uris[0]"),
		r("empty fragment", web, redirect("https://invoices.example.com/callback#"), "redirect_uris[0]"),
		r("relative", web, redirect("/callback"), "redirect_uris[0]"),
		r("no scheme", web, redirect("invoices.example.com/callback"), "redirect_uris[0]"),
		r("user and password", web, redirect("https://user:pw@invoices.example.com/callback"), "redirect_uris[0]"),
		r("user", web, redirect("https://user@invoices.example.com/callback"), "redirect_uris[0]"),
		r("http outside loopback", web, redirect("http://invoices.example.com/callback"), "redirect_uris[0]"),
		r("http on a private address", web, redirect("http://10.0.0.1/callback"), "redirect_uris[0]"),
		r("http on a localhost look-alike", web, redirect("http://localhost.evil.example/callback"), "redirect_uris[0]"),
		r("http on a loopback look-alike", native, redirect("http://127.0.0.1.nip.io/callback"), "redirect_uris[0]"),
		r("private-use scheme for a confidential client", web, redirect("com.example.invoices:/callback"), "redirect_uris[0]"),
		r("custom scheme not a reverse domain", native, redirect("invoices:/callback"), "redirect_uris[0]"),
		r("private-use scheme with an empty label", native, redirect("com..invoices:/callback"), "redirect_uris[0]"),
		r("private-use scheme without a path", native, redirect("com.example.invoices:callback"), "redirect_uris[0]"),
		r("opaque https", web, redirect("https:invoices.example.com/callback"), "redirect_uris[0]"),
		r("no host", web, redirect("https:///callback"), "redirect_uris[0]"),
		r("port out of range", web, redirect("https://invoices.example.com:99999/callback"), "redirect_uris[0]"),
		r("empty port", web, redirect("https://invoices.example.com:/callback"), "redirect_uris[0]"),
		r("space", web, redirect("https://invoices.example.com/call back"), "redirect_uris[0]"),
		r("not ascii", web, redirect("https://invöices.example.com/callback"), "redirect_uris[0]"),
		r("control character", web, redirect("https://invoices.example.com/\x00"), "redirect_uris[0]"),
		r("wildcard host", web, redirect("https://*.example.com/callback"), "redirect_uris[0]"),
		r("ipv6 zone", native, redirect("http://[fe80::1%25en0]/callback"), "redirect_uris[0]"),
		r("empty uri", web, redirect(""), "redirect_uris[0]"),
		r("too long", web, redirect("https://invoices.example.com/"+strings.Repeat("a", 2049-29)), "redirect_uris[0]"),
		r("repeated uri", web, func(n *clients.Settings) {
			n.RedirectURIs = []string{"https://a.example.com/cb", "https://b.example.com/cb", "https://a.example.com/cb"}
		}, "redirect_uris[2]"),
		r("two bad uris", web, func(n *clients.Settings) {
			n.RedirectURIs = []string{"javascript:x", "https://ok.example.com/cb", "http://example.com/cb"}
		}, "redirect_uris[0]", "redirect_uris[2]"),
		r("too many uris", web, func(n *clients.Settings) {
			n.RedirectURIs = many(21, func(i int) string { return fmt.Sprintf("https://invoices.example.com/%d", i) })
		}, "redirect_uris"),
		r("authorization code without redirect uris", web, func(n *clients.Settings) { n.RedirectURIs = nil }, "redirect_uris"),

		r("javascript logout", web, func(n *clients.Settings) {
			n.PostLogoutRedirectURIs = []string{"https://invoices.example.com/bye", "javascript:alert(1)"}
		}, "post_logout_redirect_uris[1]"),
		r("http logout", web, func(n *clients.Settings) {
			n.PostLogoutRedirectURIs = []string{"http://invoices.example.com/bye"}
		}, "post_logout_redirect_uris[0]"),
		r("logout fragment", web, func(n *clients.Settings) {
			n.PostLogoutRedirectURIs = []string{"https://invoices.example.com/bye#x"}
		}, "post_logout_redirect_uris[0]"),
		r("too many logout uris", web, func(n *clients.Settings) {
			n.PostLogoutRedirectURIs = many(21, func(i int) string { return fmt.Sprintf("https://invoices.example.com/%d", i) })
		}, "post_logout_redirect_uris"),

		r("http back-channel", web, func(n *clients.Settings) { n.BackchannelLogoutURI = "http://invoices.example.com/logout" },
			"backchannel_logout_uri"),
		r("private-use back-channel", native, func(n *clients.Settings) { n.BackchannelLogoutURI = "com.example.invoices:/logout" },
			"backchannel_logout_uri"),
		r("back-channel fragment", web, func(n *clients.Settings) { n.BackchannelLogoutURI = "https://invoices.example.com/logout#x" },
			"backchannel_logout_uri"),
		r("relative back-channel", web, func(n *clients.Settings) { n.BackchannelLogoutURI = "/logout" },
			"backchannel_logout_uri"),
		r("back-channel with a password", web, func(n *clients.Settings) {
			n.BackchannelLogoutURI = "https://u:p@invoices.example.com/logout"
		}, "backchannel_logout_uri"),

		r("no grant types", web, func(n *clients.Settings) { n.GrantTypes = nil }, "grant_types"),
		r("password grant", web, func(n *clients.Settings) { n.GrantTypes = []string{"password"} }, "grant_types[0]"),
		r("implicit grant", web, func(n *clients.Settings) {
			n.GrantTypes = []string{"authorization_code", "implicit"}
		}, "grant_types[1]"),
		r("refresh without code", web, func(n *clients.Settings) { n.GrantTypes = []string{"refresh_token"} }, "grant_types"),
		r("client credentials for a public client", native, func(n *clients.Settings) {
			n.GrantTypes = []string{"authorization_code", "client_credentials"}
		}, "grant_types"),
		r("public client credentials and refresh without code", native, func(n *clients.Settings) {
			n.GrantTypes = []string{"refresh_token", "client_credentials"}
		}, "grant_types", "grant_types"),
		r("repeated grant", web, func(n *clients.Settings) {
			n.GrantTypes = []string{"authorization_code", "authorization_code"}
		}, "grant_types[1]"),
		r("four grants", web, func(n *clients.Settings) {
			n.GrantTypes = []string{"authorization_code", "refresh_token", "client_credentials", "password"}
		}, "grant_types"),

		r("upper-case scope", web, func(n *clients.Settings) { n.Scopes = []string{"Invoices:Read"} }, "scopes[0]"),
		r("scope with a space", web, func(n *clients.Settings) { n.Scopes = []string{"openid", "invoices read"} }, "scopes[1]"),
		r("empty scope", web, func(n *clients.Settings) { n.Scopes = []string{""} }, "scopes[0]"),
		r("scope starting with punctuation", web, func(n *clients.Settings) { n.Scopes = []string{"-invoices"} }, "scopes[0]"),
		r("long scope", web, func(n *clients.Settings) { n.Scopes = []string{strings.Repeat("a", 65)} }, "scopes[0]"),
		r("unicode scope", web, func(n *clients.Settings) { n.Scopes = []string{"récapitulatif"} }, "scopes[0]"),
		r("repeated scope", web, func(n *clients.Settings) { n.Scopes = []string{"openid", "email", "openid"} }, "scopes[2]"),
		r("too many scopes", web, func(n *clients.Settings) {
			n.Scopes = many(51, func(i int) string { return fmt.Sprintf("s%d", i) })
		}, "scopes"),

		r("empty audience", web, func(n *clients.Settings) { n.Audience = []string{""} }, "audience[0]"),
		r("audience with a space", web, func(n *clients.Settings) { n.Audience = []string{"api one"} }, "audience[0]"),
		r("audience with a NUL", web, func(n *clients.Settings) { n.Audience = []string{"api\x00"} }, "audience[0]"),
		r("long audience", web, func(n *clients.Settings) { n.Audience = []string{strings.Repeat("a", 257)} }, "audience[0]"),
		r("repeated audience", web, func(n *clients.Settings) { n.Audience = []string{"a", "a"} }, "audience[1]"),
		r("too many audiences", web, func(n *clients.Settings) {
			n.Audience = many(21, func(i int) string { return fmt.Sprintf("api-%d", i) })
		}, "audience"),

		r("public client with a secret method", native, func(n *clients.Settings) {
			n.TokenEndpointAuthMethod = clients.AuthClientSecretBasic
		}, "token_endpoint_auth_method"),
		r("public client with private_key_jwt", native, keys(jwks(rsaPub)), "token_endpoint_auth_method"),
		r("confidential client with none", web, func(n *clients.Settings) {
			n.TokenEndpointAuthMethod = clients.AuthNone
		}, "token_endpoint_auth_method"),
		r("client_secret_jwt", web, func(n *clients.Settings) { n.TokenEndpointAuthMethod = "client_secret_jwt" },
			"token_endpoint_auth_method"),
		r("unknown method", web, func(n *clients.Settings) { n.TokenEndpointAuthMethod = "basic" },
			"token_endpoint_auth_method"),
		r("private_key_jwt without keys", web, func(n *clients.Settings) {
			n.TokenEndpointAuthMethod = clients.AuthPrivateKeyJWT
		}, "jwks"),
		r("private_key_jwt with keys and a uri", web, func(n *clients.Settings) {
			keys(jwks(rsaPub))(n)
			n.JWKSURI = "https://invoices.example.com/jwks.json"
		}, "jwks_uri"),
		r("keys for a secret client", web, func(n *clients.Settings) { n.JWKS = json.RawMessage(jwks(rsaPub)) }, "jwks"),
		r("key uri for a secret client", web, func(n *clients.Settings) { n.JWKSURI = "https://invoices.example.com/jwks.json" },
			"jwks_uri"),
		r("keys for a public client", native, func(n *clients.Settings) { n.JWKS = json.RawMessage(jwks(ecPub)) }, "jwks"),
		r("http key uri", web, func(n *clients.Settings) {
			n.TokenEndpointAuthMethod, n.JWKSURI = clients.AuthPrivateKeyJWT, "http://invoices.example.com/jwks.json"
		}, "jwks_uri"),
		r("loopback http key uri", web, func(n *clients.Settings) {
			n.TokenEndpointAuthMethod, n.JWKSURI = clients.AuthPrivateKeyJWT, "http://127.0.0.1/jwks.json"
		}, "jwks_uri"),
		r("key uri with a fragment", web, func(n *clients.Settings) {
			n.TokenEndpointAuthMethod, n.JWKSURI = clients.AuthPrivateKeyJWT, "https://invoices.example.com/jwks.json#k"
		}, "jwks_uri"),

		r("key set not json", web, keys("not json"), "jwks"),
		r("key set an array", web, keys(`[`+rsaPub+`]`), "jwks"),
		r("key set without keys", web, keys(`{}`), "jwks"),
		r("key set with null keys", web, keys(`{"keys":null}`), "jwks"),
		r("empty key set", web, keys(`{"keys":[]}`), "jwks"),
		r("eleven keys", web, keys(jwks(many(11, func(i int) string {
			return jwk(t, &ecP256Key().PublicKey, fmt.Sprint(i), "sig", "ES256")
		})...)), "jwks"),
		r("huge key set", web, keys(huge), "jwks"),
		r("rsa private key", web, keys(jwks(rsaPriv)), "jwks.keys[0]"),
		r("ec private key", web, keys(jwks(ecPub, ecPriv)), "jwks.keys[1]"),
		r("rsa primes without d", web, keys(jwks(withMember(withMember(rsaPub, "p", "AQAB"), "q", "AQAB"))), "jwks.keys[0]"),
		r("private member in upper case", web, keys(jwks(withMember(ecPub, "D", "AQAB"))), "jwks.keys[0]"),
		r("symmetric key", web, keys(jwks(`{"kty":"oct","k":"c2VjcmV0c2VjcmV0c2VjcmV0"}`)), "jwks.keys[0]"),
		r("small rsa key", web, keys(jwks(jwk(t, &rsaSmall().PublicKey, "small", "sig", "RS256"))), "jwks.keys[0]"),
		r("rsa exponent one", web, keys(jwks(exponentOne)), "jwks.keys[0]"),
		r("p-521 key", web, keys(jwks(jwk(t, &ecP521Key().PublicKey, "p521", "sig", ""))), "jwks.keys[0]"),
		r("ed25519 key", web, keys(jwks(jwk(t, ed25519Public(t), "ed", "sig", "EdDSA"))), "jwks.keys[0]"),
		r("point off the curve", web, keys(jwks(offCurve)), "jwks.keys[0]"),
		r("encryption key", web, keys(jwks(jwk(t, &rsaKey().PublicKey, "enc", "enc", ""))), "jwks.keys[0]"),
		r("alg of another key type", web, keys(jwks(jwk(t, &rsaKey().PublicKey, "k", "sig", "ES256"))), "jwks.keys[0]"),
		r("alg of another curve", web, keys(jwks(jwk(t, &ecP256Key().PublicKey, "k", "sig", "ES384"))), "jwks.keys[0]"),
		r("symmetric alg", web, keys(jwks(jwk(t, &rsaKey().PublicKey, "k", "sig", "HS256"))), "jwks.keys[0]"),
		r("alg none", web, keys(jwks(jwk(t, &ecP256Key().PublicKey, "k", "sig", "none"))), "jwks.keys[0]"),
		r("repeated kid", web, keys(jwks(jwk(t, &rsaKey().PublicKey, "same", "sig", ""), jwk(t, &ecP256Key().PublicKey, "same", "sig", ""))),
			"jwks.keys[1]"),
		r("key not an object", web, keys(`{"keys":["key"]}`), "jwks.keys[0]"),
		r("unknown key type", web, keys(jwks(`{"kty":"XYZ","n":"AQAB"}`)), "jwks.keys[0]"),
		r("rsa key without n", web, keys(jwks(`{"kty":"RSA","e":"AQAB"}`)), "jwks.keys[0]"),
		r("good and bad keys", web, keys(jwks(rsaPub, rsaPriv, ecPub, `{}`)), "jwks.keys[1]", "jwks.keys[3]"),

		r("upper-case format", web, func(n *clients.Settings) { n.AccessTokenFormat = "JWT" }, "access_token_format"),
		r("unknown format", web, func(n *clients.Settings) { n.AccessTokenFormat = "paseto" }, "access_token_format"),

		r("negative access lifetime", web, func(n *clients.Settings) { n.AccessTokenLifetime = -time.Minute }, "access_token_lifetime"),
		r("short access lifetime", web, func(n *clients.Settings) { n.AccessTokenLifetime = 59 * time.Second }, "access_token_lifetime"),
		r("long access lifetime", web, func(n *clients.Settings) { n.AccessTokenLifetime = 24*time.Hour + time.Second }, "access_token_lifetime"),
		r("fractional access lifetime", web, func(n *clients.Settings) { n.AccessTokenLifetime = 90*time.Second + time.Millisecond }, "access_token_lifetime"),
		r("short refresh lifetime", web, func(n *clients.Settings) { n.RefreshTokenLifetime = time.Second }, "refresh_token_lifetime"),
		r("long refresh lifetime", web, func(n *clients.Settings) { n.RefreshTokenLifetime = 8761 * time.Hour }, "refresh_token_lifetime"),
		r("short id token lifetime", web, func(n *clients.Settings) { n.IDTokenLifetime = time.Nanosecond }, "id_token_lifetime"),
		r("long id token lifetime", web, func(n *clients.Settings) { n.IDTokenLifetime = 48 * time.Hour }, "id_token_lifetime"),

		r("id token alg HS256", web, func(n *clients.Settings) { n.IDTokenSignedResponseAlg = "HS256" }, "id_token_signed_response_alg"),
		r("id token alg none", web, func(n *clients.Settings) { n.IDTokenSignedResponseAlg = "none" }, "id_token_signed_response_alg"),
		r("lower-case id token alg", web, func(n *clients.Settings) { n.IDTokenSignedResponseAlg = "es256" }, "id_token_signed_response_alg"),

		r("public client introspecting", native, func(n *clients.Settings) { n.IntrospectAnyToken = true }, "introspect_any_token"),

		r("everything wrong at once", native, func(n *clients.Settings) {
			*n = clients.Settings{Name: "", Public: true, RedirectURIs: []string{"javascript:x"},
				PostLogoutRedirectURIs: []string{"data:x"}, GrantTypes: []string{"client_credentials", "password"},
				Scopes: []string{"BAD"}, Audience: []string{" "}, TokenEndpointAuthMethod: "client_secret_post",
				JWKS: json.RawMessage(jwks(rsaPub)), JWKSURI: "https://keys.example.com/", AccessTokenFormat: "x",
				AccessTokenLifetime: time.Second, RefreshTokenLifetime: time.Second, IDTokenLifetime: time.Second,
				BackchannelLogoutURI: "ftp://x", IntrospectAnyToken: true, IDTokenSignedResponseAlg: "PS256"}
		}, "name", "redirect_uris[0]", "post_logout_redirect_uris[0]", "grant_types[1]", "grant_types", "scopes[0]",
			"audience[0]", "token_endpoint_auth_method", "jwks", "jwks_uri", "access_token_format", "access_token_lifetime",
			"refresh_token_lifetime", "id_token_lifetime", "id_token_signed_response_alg", "backchannel_logout_uri",
			"introspect_any_token"),

		r("confidential service without its grant", svc, func(n *clients.Settings) { n.GrantTypes = []string{} }, "grant_types"),
	}
}

func TestCreateRefusesEveryBrokenRuleByFieldAndWritesNothing(t *testing.T) {
	cases := refusedRegistrations(t)
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, clients.Config{})
		for _, c := range cases {
			_, secret, err := f.svc.Create(context.Background(), c.client())
			if err == nil {
				t.Errorf("%s: accepted", c.name)
				continue
			}
			want := slices.Sorted(slices.Values(c.fields))
			if got := fieldsRefused(t, err); !slices.Equal(got, want) {
				t.Errorf("%s: refused %v, want %v (%v)", c.name, got, want, err)
			}
			if secret != "" {
				t.Errorf("%s: a refused registration returned a secret", c.name)
			}
		}
		if n := storetest.Count(t, db, "oauth_clients"); n != 0 {
			t.Fatalf("refused registrations wrote %d clients", n)
		}
		if n := storetest.Count(t, db, "audit_pending"); n != 0 {
			t.Fatalf("refused registrations recorded %d events", n)
		}
	})
}

func TestReasonsNeverEchoKeyMaterial(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, clients.Config{})
		priv := jwk(t, rsaKey(), "rsa-1", "sig", "RS256")
		var members map[string]string
		if err := json.Unmarshal([]byte(priv), &members); err != nil {
			t.Fatal(err)
		}
		_, _, err := f.svc.Create(context.Background(), keyJWTApp(jwks(priv)))
		for _, m := range []string{"d", "p", "q", "dp", "dq", "qi"} {
			if strings.Contains(err.Error(), members[m][:16]) {
				t.Fatalf("the refusal quotes the private member %s: %v", m, err)
			}
		}
	})
}

func TestUpdateChecksTheWholeRegistrationAndChangesNothingOnRefusal(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db, clients.Config{})
		c, _ := f.create(t, webApp())
		before := storedText(t, db, c.ID)
		for _, tc := range []struct {
			name   string
			patch  clients.Patch
			fields []string
		}{
			{"bad name and uri", clients.Patch{Name: ptr(""), RedirectURIs: &[]string{"http://example.com/cb"}},
				[]string{"name", "redirect_uris[0]"}},
			{"remove the redirect uris of a code client", clients.Patch{RedirectURIs: &[]string{}}, []string{"redirect_uris"}},
			{"drop authorization_code but keep refresh", clients.Patch{GrantTypes: &[]string{"refresh_token"}}, []string{"grant_types"}},
			{"private_key_jwt without keys", clients.Patch{TokenEndpointAuthMethod: ptr(clients.AuthPrivateKeyJWT)}, []string{"jwks"}},
			{"none for a confidential client", clients.Patch{TokenEndpointAuthMethod: ptr(clients.AuthNone)},
				[]string{"token_endpoint_auth_method"}},
			{"lifetimes", clients.Patch{AccessTokenLifetime: ptr(time.Second), IDTokenLifetime: ptr(-time.Hour)},
				[]string{"access_token_lifetime", "id_token_lifetime"}},
			{"private key", clients.Patch{TokenEndpointAuthMethod: ptr(clients.AuthPrivateKeyJWT),
				JWKS: ptr(json.RawMessage(jwks(jwk(t, ecP256Key(), "", "", "")))), Scopes: &[]string{"a b"}},
				[]string{"jwks.keys[0]", "scopes[0]"}},
		} {
			_, err := f.svc.Update(ctx, c.ID, tc.patch)
			if got := fieldsRefused(t, err); !slices.Equal(got, tc.fields) {
				t.Errorf("%s: refused %v, want %v", tc.name, got, tc.fields)
			}
		}
		if storedText(t, db, c.ID) != before {
			t.Fatal("a refused update changed the client")
		}
		if evs := events(t, db, c.ID); len(evs) != 1 {
			t.Fatalf("refused updates recorded %v", evs[1:])
		}
	})
}

func TestRegistrationsAtTheLimitsAndInDevModeAreAccepted(t *testing.T) {
	redirect := func(uris ...string) func(n *clients.Settings) {
		return func(n *clients.Settings) { n.RedirectURIs = uris }
	}
	cases := []change{
		{"a name of 100 characters", webApp, func(n *clients.Settings) { n.Name = strings.Repeat("é", 100) }},
		{"https with a query and a port", webApp, redirect("https://invoices.example.com:8443/callback?tenant=a")},
		{"https on an address", webApp, redirect("https://192.0.2.10/callback", "https://[2001:db8::1]/callback")},
		{"loopback http for a public client", nativeApp, redirect("http://127.0.0.1:8080/callback", "http://[::1]/callback",
			"http://localhost:3000/callback", "http://127.0.0.2/callback")},
		{"loopback http for a confidential client", webApp, redirect("http://localhost:8080/callback")},
		{"private-use schemes", nativeApp, redirect("com.example.invoices:/callback", "com.example.invoices://oauth/callback")},
		{"a uri of 2048 bytes", webApp, redirect("https://invoices.example.com/" + strings.Repeat("a", 2048-29))},
		{"twenty uris", webApp, func(n *clients.Settings) {
			n.RedirectURIs = many(20, func(i int) string { return fmt.Sprintf("https://invoices.example.com/%d", i) })
			n.PostLogoutRedirectURIs = n.RedirectURIs
		}},
		{"fifty scopes", webApp, func(n *clients.Settings) {
			n.Scopes = append(many(49, func(i int) string { return fmt.Sprintf("app.s%d:read-all", i) }), "offline_access")
		}},
		{"a scope of 64 characters", webApp, func(n *clients.Settings) { n.Scopes = []string{"0" + strings.Repeat("z", 63)} }},
		{"twenty audiences of 256 characters", webApp, func(n *clients.Settings) {
			n.Audience = many(20, func(i int) string { return fmt.Sprintf("%03d", i) + strings.Repeat("a", 253) })
		}},
		{"lifetimes at the bounds", webApp, func(n *clients.Settings) {
			n.AccessTokenLifetime, n.RefreshTokenLifetime, n.IDTokenLifetime = time.Minute, 8760*time.Hour, 24*time.Hour
		}},
		{"opaque tokens", webApp, func(n *clients.Settings) { n.AccessTokenFormat = clients.FormatOpaque }},
		{"back-channel logout", webApp, func(n *clients.Settings) { n.BackchannelLogoutURI = "https://invoices.example.com/bc?x=1" }},
		{"client_secret_post", webApp, func(n *clients.Settings) { n.TokenEndpointAuthMethod = clients.AuthClientSecretPost }},
		{"a p-384 key", webApp, func(n *clients.Settings) {
			*n = keyJWTApp(jwks(jwk(t, &ecP384Key().PublicKey, "", "", "ES384")))
		}},
		{"a key uri", webApp, func(n *clients.Settings) {
			n.TokenEndpointAuthMethod, n.JWKSURI = clients.AuthPrivateKeyJWT, "https://keys.example.com:8443/jwks.json"
		}},
		{"first-party resource server", machine, func(n *clients.Settings) { n.FirstParty, n.IntrospectAnyToken = true, true }},
		{"no scopes or audience", machine, func(n *clients.Settings) { n.Scopes, n.Audience = nil, nil }},
	}
	// identityd calls these only with oauth_allow_private_networks on; off, they are
	// refused at registration, since every call would be.
	private := []change{
		{"loopback back-channel logout", webApp, func(n *clients.Settings) { n.BackchannelLogoutURI = "http://[::1]:9000/bc" }},
		{"back-channel logout on localhost", webApp, func(n *clients.Settings) { n.BackchannelLogoutURI = "https://localhost/bc" }},
		{"back-channel logout on a private address", webApp, func(n *clients.Settings) { n.BackchannelLogoutURI = "https://10.1.2.3/bc" }},
		{"a key uri on a link-local address", webApp, func(n *clients.Settings) {
			n.TokenEndpointAuthMethod, n.JWKSURI = clients.AuthPrivateKeyJWT, "https://169.254.169.254/jwks.json"
		}},
	}
	dev := []change{
		{"http anywhere in dev mode", webApp, func(n *clients.Settings) {
			n.RedirectURIs = []string{"http://invoices.test:8080/callback"}
			n.PostLogoutRedirectURIs = []string{"http://invoices.test:8080/bye"}
			n.BackchannelLogoutURI = "http://invoices.test:8080/bc"
		}},
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, clients.Config{})
		for _, c := range cases {
			if _, _, err := f.svc.Create(context.Background(), c.client()); err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
		}
		for _, c := range dev {
			if _, _, err := f.svc.Create(context.Background(), c.client()); err == nil {
				t.Errorf("%s: accepted outside dev mode", c.name)
			}
		}
		for _, c := range private {
			if _, _, err := f.svc.Create(context.Background(), c.client()); err == nil || !strings.Contains(err.Error(), "private networks are not allowed") {
				t.Errorf("%s without private networks: %v, want it refused as unreachable", c.name, err)
			}
		}
		privateSvc := newFixture(t, db, clients.Config{AllowPrivateNetworks: true})
		for _, c := range private {
			if _, _, err := privateSvc.svc.Create(context.Background(), c.client()); err != nil {
				t.Errorf("%s with private networks: %v", c.name, err)
			}
		}
		devSvc := newFixture(t, db, clients.Config{Dev: true})
		for _, c := range dev {
			if _, _, err := devSvc.svc.Create(context.Background(), c.client()); err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
		}
		// Dev mode relaxes http, nothing else.
		for _, c := range refusedRegistrations(t) {
			if strings.Contains(c.name, "http") {
				continue
			}
			if _, _, err := devSvc.svc.Create(context.Background(), c.client()); err == nil {
				t.Errorf("%s: accepted in dev mode", c.name)
			}
		}
	})
}

func TestKnownScopesAddToTheCustomPattern(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		n := webApp()
		n.Scopes = []string{"openid", "urn:example:Admin", "read_invoices"}
		_, _, err := newFixture(t, db, clients.Config{}).svc.Create(context.Background(), n)
		if got := fieldsRefused(t, err); !slices.Equal(got, []string{"scopes[1]"}) {
			t.Fatalf("a scope outside the pattern refused %v", got)
		}
		configured := newFixture(t, db, clients.Config{KnownScopes: []string{"openid", "urn:example:Admin"}})
		if _, _, err := configured.svc.Create(context.Background(), n); err != nil {
			t.Fatalf("a configured scope: %v", err)
		}
	})
}
