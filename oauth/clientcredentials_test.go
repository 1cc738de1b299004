package oauth_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/identityd/identityd/clients"
	"github.com/identityd/identityd/oauth"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
)

// service registers a confidential client of the client credentials grant, allowed
// scopes and audience.
func (d *idp) service(scopes, audience []string) (clients.Client, string) {
	d.t.Helper()
	return d.app(clients.Settings{Name: "Billing", GrantTypes: []string{clients.GrantClientCredentials}, Scopes: scopes,
		Audience: audience})
}

// jwks fetches and parses identityd's published keys, as a resource server would.
func (d *idp) jwks() jose.JSONWebKeySet {
	d.t.Helper()
	res, err := http.Get(d.base + oauth.JWKSPath)
	if err != nil {
		d.t.Fatal(err)
	}
	defer res.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(res.Body).Decode(&set); err != nil {
		d.t.Fatal(err)
	}
	return set
}

// verifyLocally checks an access token as a resource server with the JWKS would: the
// header names at+jwt and a published key, and the signature holds.
func (d *idp) verifyLocally(token string) (map[string]any, error) {
	d.t.Helper()
	jws, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256, jose.RS256})
	if err != nil {
		return nil, err
	}
	h := jws.Signatures[0].Protected
	if h.ExtraHeaders[jose.HeaderType] != "at+jwt" {
		d.t.Errorf("typ %v, want at+jwt (RFC 9068)", h.ExtraHeaders[jose.HeaderType])
	}
	set := d.jwks()
	keys := set.Key(h.KeyID)
	if len(keys) != 1 {
		d.t.Fatalf("kid %s: %d keys published", h.KeyID, len(keys))
	}
	payload, err := jws.Verify(keys[0])
	if err != nil {
		return nil, err
	}
	var claims map[string]any
	return claims, json.Unmarshal(payload, &claims)
}

func TestClientCredentialsGiveAnRFC9068AccessToken(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		d := newIDP(t, db, idpOptions{})
		svc, secret := d.service([]string{"invoices:read", "invoices:write"}, []string{"https://api.example.com"})
		cc := clientcredentials.Config{ClientID: svc.ID, ClientSecret: secret, TokenURL: d.base + oauth.TokenPath,
			Scopes: []string{"invoices:read"}, EndpointParams: map[string][]string{"audience": {"https://api.example.com"}}}
		tok, err := cc.Token(context.Background())
		if err != nil {
			t.Fatalf("client credentials: %v", err)
		}
		if tok.RefreshToken != "" {
			t.Error("client credentials gave a refresh token")
		}
		if tok.Expiry.Sub(time.Now()) < 59*time.Minute {
			t.Errorf("expiry %s, want an hour away", tok.Expiry)
		}
		claims, err := d.verifyLocally(tok.AccessToken)
		if err != nil {
			t.Fatalf("verify with the JWKS: %v", err)
		}
		if jwtPart(t, tok.AccessToken, 0)["alg"] != "ES256" {
			t.Errorf("alg %v, want ES256", jwtPart(t, tok.AccessToken, 0)["alg"])
		}
		for k, want := range map[string]any{"iss": d.issuer, "sub": svc.ID, "client_id": svc.ID, "scope": "invoices:read"} {
			if claims[k] != want {
				t.Errorf("claim %s = %v, want %v", k, claims[k], want)
			}
		}
		if aud, _ := claims["aud"].([]any); len(aud) != 1 || aud[0] != "https://api.example.com" {
			t.Errorf("aud %v, want the API", claims["aud"])
		}
		for _, k := range []string{"jti", "iat", "exp"} {
			if claims[k] == nil {
				t.Errorf("claim %s missing", k)
			}
		}
		if jti, _ := claims["jti"].(string); !strings.Contains(jti, ".") {
			t.Errorf("jti %q should name its grant", jti)
		}
		// No row: a JWT access token is self-contained.
		if n := storetest.Count(t, db, "oauth_access_tokens WHERE client_id = '"+svc.ID+"'"); n != 0 {
			t.Errorf("%d access token rows for a JWT, want 0", n)
		}
		evs := d.events("oauth.token.issued", svc.ID)
		if len(evs) != 1 || evs[0].Actor != "client:"+svc.ID || evs[0].Details["grant_type"] != "client_credentials" {
			t.Errorf("events %+v; want one oauth.token.issued by the client", evs)
		}

		// Scopes the client may not have, and user scopes, are refused.
		for _, scope := range []string{"invoices:delete", "openid", "offline_access"} {
			tr := d.token(map[string][]string{"grant_type": {"client_credentials"}, "scope": {scope}}, svc.ID, secret)
			if tr.status != http.StatusBadRequest || tr.Error != "invalid_scope" {
				t.Errorf("scope %s: %d %s, want 400 invalid_scope", scope, tr.status, tr.Error)
			}
		}
		tr := d.token(map[string][]string{"grant_type": {"client_credentials"}, "audience": {"https://evil.example"}}, svc.ID, secret)
		if tr.status != http.StatusBadRequest || tr.Error != "invalid_request" {
			t.Errorf("an unregistered audience: %d %s, want 400 invalid_request", tr.status, tr.Error)
		}
	})
}

func TestAClientMayChooseOpaqueAccessTokens(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		d := newIDP(t, db, idpOptions{})
		svc, secret := d.app(clients.Settings{Name: "Opaque", GrantTypes: []string{clients.GrantClientCredentials},
			Scopes: []string{"reports"}, AccessTokenFormat: clients.FormatOpaque})
		tr := d.token(map[string][]string{"grant_type": {"client_credentials"}, "scope": {"reports"}}, svc.ID, secret)
		if tr.status != http.StatusOK || !strings.HasPrefix(tr.AccessToken, "idd_at_") {
			t.Fatalf("opaque token: %d %+v", tr.status, tr)
		}
		if n := storetest.Count(t, db, "oauth_access_tokens WHERE client_id = '"+svc.ID+"'"); n != 1 {
			t.Errorf("%d rows, want the token's hash stored once", n)
		}
		got := d.introspect(tr.AccessToken, svc.ID, secret)
		if got["active"] != true || got["scope"] != "reports" || got["client_id"] != svc.ID {
			t.Errorf("introspection %v", got)
		}
		// Only its hash is stored.
		var raw []byte
		if err := db.QueryRow(context.Background(), `SELECT token_hash FROM oauth_access_tokens WHERE client_id = $1`, svc.ID).
			Scan(&raw); err != nil {
			t.Fatal(err)
		}
		if len(raw) != 32 || strings.Contains(string(raw), tr.AccessToken[7:20]) {
			t.Errorf("stored %x; want a SHA-256", raw)
		}
	})
}
