package api_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v3"

	"github.com/identityd/identityd/api"
	"github.com/identityd/identityd/audit"
	"github.com/identityd/identityd/clients"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
)

// clientView is a client as create and rotate-secret return it, with its secret.
type clientView struct {
	api.Client
	ClientSecret string `json:"client_secret"`
}

func (a *testAPI) createClient(t testing.TB, body string) clientView {
	t.Helper()
	var c clientView
	wantStatus(t, a.call(t, http.MethodPost, "/v1/clients", body), http.StatusCreated, &c)
	return c
}

func countClients(t testing.TB, db *store.DB) int {
	t.Helper()
	return storetest.Count(t, db, "oauth_clients")
}

// webApp is a confidential web app's registration.
const webApp = `{"name":"Invoices","first_party":true,"redirect_uris":["https://invoices.example.com/callback"],
	"post_logout_redirect_uris":["https://invoices.example.com/"],"grant_types":["authorization_code","refresh_token"],
	"scopes":["openid","profile","email","offline_access","invoices:read"],"audience":["https://api.example.com"],
	"access_token_format":"opaque","access_token_lifetime":900,"refresh_token_lifetime":604800,"id_token_lifetime":300,
	"backchannel_logout_uri":"https://invoices.example.com/logout","introspect_any_token":true}`

// publicJWKS is a JWK Set holding one new P-256 public key.
func publicJWKS(t testing.TB) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &k.PublicKey, KeyID: "k1", Use: "sig", Algorithm: "ES256"}}})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestClientsAreRegisteredShownChangedAndDeletedThroughTheAPI(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		a := newAPI(t, db)
		ctx := context.Background()
		web := a.createClient(t, webApp)
		if !strings.HasPrefix(web.ClientSecret, clients.SecretPrefix) || !web.HasSecret || web.Public ||
			web.TokenEndpointAuthMethod != "client_secret_basic" || web.ID == "" {
			t.Fatalf("created %+v", web)
		}
		if web.AccessTokenLifetime != 900 || web.RefreshTokenLifetime != 604800 || web.IDTokenLifetime != 300 ||
			web.AccessTokenFormat != "opaque" || !web.FirstParty || !web.IntrospectAnyToken || web.IDTokenAlg != "RS256" ||
			!slices.Equal(web.Scopes, []string{"openid", "profile", "email", "offline_access", "invoices:read"}) ||
			!slices.Equal(web.Audience, []string{"https://api.example.com"}) || web.BackchannelLogoutURI != "https://invoices.example.com/logout" {
			t.Errorf("created registration %+v", web)
		}
		// The secret authenticates the client; the API never shows it again.
		if err := a.clients.VerifySecret(ctx, web.ID, web.ClientSecret); err != nil {
			t.Fatalf("the secret create returned does not authenticate: %v", err)
		}
		res := a.call(t, http.MethodGet, "/v1/clients/"+web.ID, "")
		var got api.Client
		wantStatus(t, res, http.StatusOK, &got)
		if strings.Contains(string(res.body), web.ClientSecret) || strings.Contains(string(res.body), "client_secret\"") {
			t.Errorf("GET shows the secret: %s", res.body)
		}
		if got.ID != web.ID || got.Name != "Invoices" || !got.HasSecret || got.AccessTokenLifetime != 900 || got.SecretRotatedAt != nil {
			t.Errorf("GET %+v", got)
		}

		// A new secret replaces the old one at once.
		a.clock.Advance(time.Minute)
		var rotated clientView
		wantStatus(t, a.call(t, http.MethodPost, "/v1/clients/"+web.ID+"/secret", ""), http.StatusOK, &rotated)
		if rotated.ClientSecret == "" || rotated.ClientSecret == web.ClientSecret || rotated.ID != web.ID ||
			rotated.SecretRotatedAt == nil || !rotated.SecretRotatedAt.Equal(a.clock.Now()) {
			t.Fatalf("rotated %+v", rotated)
		}
		if err := a.clients.VerifySecret(ctx, web.ID, web.ClientSecret); !errors.Is(err, clients.ErrInvalidSecret) {
			t.Errorf("the old secret after rotation: %v, want ErrInvalidSecret", err)
		}
		if err := a.clients.VerifySecret(ctx, web.ID, rotated.ClientSecret); err != nil {
			t.Errorf("the new secret: %v", err)
		}
		res = a.call(t, http.MethodGet, "/v1/clients", "")
		if strings.Contains(string(res.body), rotated.ClientSecret) || strings.Contains(string(res.body), "client_secret\"") {
			t.Errorf("the list shows the secret: %s", res.body)
		}

		// A patch changes what it names and leaves the rest.
		got = api.Client{}
		wantStatus(t, a.call(t, http.MethodPatch, "/v1/clients/"+web.ID,
			`{"name":"Invoices 2","access_token_lifetime":0,"scopes":["openid"],"backchannel_logout_uri":"",
			"id_token_signed_response_alg":"ES256"}`), http.StatusOK, &got)
		if got.Name != "Invoices 2" || got.AccessTokenLifetime != 0 || got.RefreshTokenLifetime != 604800 || got.IDTokenAlg != "ES256" ||
			!slices.Equal(got.Scopes, []string{"openid"}) || got.BackchannelLogoutURI != "" || !got.HasSecret ||
			!slices.Equal(got.RedirectURIs, web.RedirectURIs) {
			t.Errorf("PATCH %+v", got)
		}
		wantStatus(t, a.call(t, http.MethodPatch, "/v1/clients/"+web.ID, `{}`), http.StatusOK, &got)
		if got.Name != "Invoices 2" {
			t.Errorf("an empty PATCH changed the client: %+v", got)
		}
		p := wantProblem(t, a.call(t, http.MethodPatch, "/v1/clients/"+web.ID, `{"public":true,"name":"x"}`), http.StatusUnprocessableEntity)
		if !slices.Equal(p.locations(), []string{"body.public"}) {
			t.Errorf("patching public: locations %v, want body.public", p.locations())
		}

		wantStatus(t, a.call(t, http.MethodDelete, "/v1/clients/"+web.ID, ""), http.StatusNoContent, nil)
		for _, req := range []request{
			{method: http.MethodGet, target: "/v1/clients/" + web.ID},
			{method: http.MethodDelete, target: "/v1/clients/" + web.ID},
			{method: http.MethodPatch, target: "/v1/clients/" + web.ID, body: `{"name":"x"}`},
			{method: http.MethodPost, target: "/v1/clients/" + web.ID + "/secret"},
		} {
			wantProblem(t, a.do(t, req), http.StatusNotFound)
		}
		if err := a.clients.VerifySecret(ctx, web.ID, rotated.ClientSecret); !errors.Is(err, clients.ErrNotFound) {
			t.Errorf("a deleted client's secret: %v, want ErrNotFound", err)
		}

		// Each change is audited with the admin token that made it.
		var page struct{ Items []api.AuditEvent }
		wantStatus(t, a.call(t, http.MethodGet, "/v1/audit/events?target=oauth_client:"+web.ID, ""), http.StatusOK, &page)
		var types []string
		for _, e := range page.Items {
			types = append(types, e.Type)
			if e.Actor.Kind != "admin_token" {
				t.Errorf("%s actor = %+v, want the admin token", e.Type, e.Actor)
			}
		}
		want := []string{audit.TypeClientDeleted, audit.TypeClientUpdated, audit.TypeClientSecretRotated, audit.TypeClientCreated}
		if !slices.Equal(types, want) {
			t.Errorf("events %v, want %v", types, want)
		}
		if strings.Contains(string(a.call(t, http.MethodGet, "/v1/audit/events", "").body), rotated.ClientSecret) {
			t.Error("the audit log holds a secret")
		}
	})
}

func TestClientsWithoutASecretGetNoneAndCannotRotateOne(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a := newAPI(t, db)
		spaReg := `{"name":"SPA","public":true,"redirect_uris":["https://app.example.com/cb","com.example.app:/cb"],
			"grant_types":["authorization_code","refresh_token"],"scopes":["openid"]}`
		res := a.call(t, http.MethodPost, "/v1/clients", spaReg)
		var spa clientView
		wantStatus(t, res, http.StatusCreated, &spa)
		if strings.Contains(string(res.body), "client_secret\"") || spa.HasSecret || !spa.Public || spa.TokenEndpointAuthMethod != "none" {
			t.Errorf("a public client: %s", res.body)
		}
		p := wantProblem(t, a.call(t, http.MethodPost, "/v1/clients/"+spa.ID+"/secret", ""), http.StatusConflict)
		if !strings.Contains(p.Detail, "public") {
			t.Errorf("rotating a public client's secret: %+v", p)
		}

		jwt := a.createClient(t, `{"name":"Batch","grant_types":["client_credentials"],"token_endpoint_auth_method":"private_key_jwt",
			"jwks":`+publicJWKS(t)+`}`)
		if jwt.ClientSecret != "" || jwt.HasSecret || len(jwt.JWKS) == 0 {
			t.Errorf("a private_key_jwt client: %+v", jwt)
		}
		p = wantProblem(t, a.call(t, http.MethodPost, "/v1/clients/"+jwt.ID+"/secret", ""), http.StatusConflict)
		if !strings.Contains(p.Detail, "private_key_jwt") {
			t.Errorf("rotating a private_key_jwt client's secret: %+v", p)
		}
		// Switched to a secret method (null removes the key set), it has no secret until one
		// is rotated in.
		var got api.Client
		wantStatus(t, a.call(t, http.MethodPatch, "/v1/clients/"+jwt.ID, `{"token_endpoint_auth_method":"client_secret_post","jwks":null}`),
			http.StatusOK, &got)
		if got.HasSecret || got.JWKS != nil || got.TokenEndpointAuthMethod != "client_secret_post" {
			t.Errorf("switched to client_secret_post: %+v", got)
		}
		var rotated clientView
		wantStatus(t, a.call(t, http.MethodPost, "/v1/clients/"+jwt.ID+"/secret", ""), http.StatusOK, &rotated)
		if !rotated.HasSecret || a.clients.VerifySecret(context.Background(), jwt.ID, rotated.ClientSecret) != nil {
			t.Errorf("the secret rotated in does not work: %+v", rotated)
		}
		// Back to private_key_jwt, by a key set's URL this time: the secret goes.
		wantStatus(t, a.call(t, http.MethodPatch, "/v1/clients/"+jwt.ID,
			`{"token_endpoint_auth_method":"private_key_jwt","jwks_uri":"https://batch.example.com/jwks.json"}`), http.StatusOK, &got)
		if got.HasSecret || got.JWKSURI != "https://batch.example.com/jwks.json" ||
			a.clients.VerifySecret(context.Background(), jwt.ID, rotated.ClientSecret) == nil {
			t.Errorf("switched back to private_key_jwt: %+v", got)
		}
	})
}

func TestBadClientInputGetsFieldErrorsAndChangesNothing(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		a := newAPI(t, db)
		web := a.createClient(t, webApp)

		// The registry reports every refused field at once, each where it is.
		p := wantProblem(t, a.call(t, http.MethodPost, "/v1/clients", `{"name":" x","public":true,
			"redirect_uris":["javascript:alert(1)","https://ok.example.com/cb","https://ok.example.com/cb"],
			"grant_types":["client_credentials"],"scopes":["openid","Bad Scope"],"audience":["a b"],
			"access_token_lifetime":30,"backchannel_logout_uri":"http://example.com/bc","introspect_any_token":true}`),
			http.StatusUnprocessableEntity)
		want := []string{"body.name", "body.redirect_uris[0]", "body.redirect_uris[2]", "body.grant_types",
			"body.scopes[1]", "body.audience[0]", "body.access_token_lifetime", "body.backchannel_logout_uri",
			"body.introspect_any_token"}
		if !slices.Equal(p.locations(), want) {
			t.Errorf("locations %v, want %v", p.locations(), want)
		}
		for _, e := range p.Errors {
			if e.Message == "" {
				t.Errorf("%s has no message", e.Location)
			}
		}

		for _, tc := range []struct {
			name, body string
			status     int
			where      string
		}{
			// huma finds a required field missing before the registry sees the rest.
			{"no name", `{"grant_types":["client_credentials"]}`, 422, "body"},
			{"no grant types", `{"name":"x"}`, 422, "body"},
			{"an empty grant type list", `{"name":"x","grant_types":[]}`, 422, "body.grant_types"},
			{"an unknown grant type", `{"name":"x","grant_types":["password"]}`, 422, "body.grant_types[0]"},
			{"authorization_code without a redirect URI", `{"name":"x","grant_types":["authorization_code"]}`, 422, "body.redirect_uris"},
			{"refresh_token alone", `{"name":"x","grant_types":["refresh_token"]}`, 422, "body.grant_types"},
			{"a public client authenticating", `{"name":"x","public":true,"grant_types":["authorization_code"],
				"redirect_uris":["https://a.example.com/cb"],"token_endpoint_auth_method":"client_secret_basic"}`, 422, "body.token_endpoint_auth_method"},
			{"private_key_jwt without keys", `{"name":"x","grant_types":["client_credentials"],"token_endpoint_auth_method":"private_key_jwt"}`, 422, "body.jwks"},
			{"a private key in the key set", `{"name":"x","grant_types":["client_credentials"],"token_endpoint_auth_method":"private_key_jwt",
				"jwks":{"keys":[{"kty":"EC","crv":"P-256","x":"a","y":"b","d":"c"}]}}`, 422, "body.jwks.keys[0]"},
			{"a key set that is a string", `{"name":"x","grant_types":["client_credentials"],"token_endpoint_auth_method":"private_key_jwt",
				"jwks":"keys"}`, 422, "body.jwks"},
			{"an http jwks_uri", `{"name":"x","grant_types":["client_credentials"],"token_endpoint_auth_method":"private_key_jwt",
				"jwks_uri":"http://keys.example.com/"}`, 422, "body.jwks_uri"},
			{"a fragment in a redirect URI", `{"name":"x","grant_types":["authorization_code"],"redirect_uris":["https://a.example.com/cb#x"]}`, 422, "body.redirect_uris[0]"},
			{"a lifetime over the maximum", `{"name":"x","grant_types":["client_credentials"],"refresh_token_lifetime":31536001}`, 422, "body.refresh_token_lifetime"},
			{"a negative lifetime", `{"name":"x","grant_types":["client_credentials"],"id_token_lifetime":-1}`, 422, "body.id_token_lifetime"},
			{"a lifetime that overflows", `{"name":"x","grant_types":["client_credentials"],"access_token_lifetime":9223372036854775807}`, 422, "body.access_token_lifetime"},
			{"a lifetime past int64", `{"name":"x","grant_types":["client_credentials"],"access_token_lifetime":1e30}`, 422, "body.access_token_lifetime"},
			{"a fractional lifetime", `{"name":"x","grant_types":["client_credentials"],"access_token_lifetime":60.5}`, 422, "body.access_token_lifetime"},
			{"a lifetime as a duration", `{"name":"x","grant_types":["client_credentials"],"access_token_lifetime":"1h"}`, 422, "body.access_token_lifetime"},
			{"an unknown access token format", `{"name":"x","grant_types":["client_credentials"],"access_token_format":"paseto"}`, 422, "body.access_token_format"},
			{"a secret offered by the caller", `{"name":"x","grant_types":["client_credentials"],"client_secret":"hunter2hunter2"}`, 422, "body.client_secret"},
			{"a client_id offered by the caller", `{"name":"x","grant_types":["client_credentials"],"client_id":"mine"}`, 422, "body.client_id"},
			{"a name that is not UTF-8", "{\"name\":\"bad \xff\",\"grant_types\":[\"client_credentials\"]}", 422, "body.name"},
			{"a name with a lone surrogate", `{"name":"bad \ud800","grant_types":["client_credentials"]}`, 422, "body.name"},
			{"a name with a NUL", `{"name":"a\u0000b","grant_types":["client_credentials"]}`, 422, "body.name"},
			{"a redirect URI with a NUL", `{"name":"x","grant_types":["authorization_code"],"redirect_uris":["https://a.example.com/\u0000"]}`, 422, "body.redirect_uris[0]"},
			{"a scope with a NUL", `{"name":"x","grant_types":["client_credentials"],"scopes":["a\u0000"]}`, 422, "body.scopes[0]"},
			{"a name of 101 characters", `{"name":"` + strings.Repeat("é", 101) + `","grant_types":["client_credentials"]}`, 422, "body.name"},
			{"21 redirect URIs", `{"name":"x","grant_types":["authorization_code"],"redirect_uris":[` +
				strings.TrimSuffix(strings.Repeat(`"https://a.example.com/cb",`, 21), ",") + `]}`, 422, "body.redirect_uris"},
			{"a huge scope list", `{"name":"x","grant_types":["client_credentials"],"scopes":[` +
				strings.TrimSuffix(strings.Repeat(`"s",`, 100000), ",") + `]}`, 422, "body.scopes"},
			{"redirect URIs of the wrong type", `{"name":"x","grant_types":["authorization_code"],"redirect_uris":"https://a.example.com/cb"}`, 422, "body.redirect_uris"},
			{"public as a string", `{"name":"x","grant_types":["client_credentials"],"public":"false"}`, 422, "body.public"},
			{"not JSON", `{"name":`, 400, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				res := a.call(t, http.MethodPost, "/v1/clients", tc.body)
				p := wantProblem(t, res, tc.status)
				if tc.where != "" && !slices.Contains(p.locations(), tc.where) {
					t.Errorf("locations %v, want %s among them", p.locations(), tc.where)
				}
				if strings.Contains(string(res.body), "hunter2hunter2") {
					t.Errorf("the problem echoes the offered secret: %s", res.body)
				}
			})
		}
		for _, tc := range []struct {
			name, body string
			where      string
		}{
			{"public", `{"public":false}`, "body.public"},
			{"an empty name", `{"name":""}`, "body.name"},
			{"an emptied grant type list", `{"grant_types":[]}`, "body.grant_types"},
			{"redirect URIs removed under authorization_code", `{"redirect_uris":[]}`, "body.redirect_uris"},
			{"none for a confidential client", `{"token_endpoint_auth_method":"none"}`, "body.token_endpoint_auth_method"},
			{"a key set for a secret client", `{"jwks":` + publicJWKS(t) + `}`, "body.jwks"},
			{"a lifetime over the maximum", `{"id_token_lifetime":86401}`, "body.id_token_lifetime"},
			{"an unknown field", `{"secret":"x"}`, "body.secret"},
		} {
			t.Run("PATCH "+tc.name, func(t *testing.T) {
				p := wantProblem(t, a.call(t, http.MethodPatch, "/v1/clients/"+web.ID, tc.body), http.StatusUnprocessableEntity)
				if !slices.Contains(p.locations(), tc.where) {
					t.Errorf("locations %v, want %s among them", p.locations(), tc.where)
				}
			})
		}
		var got api.Client
		wantStatus(t, a.call(t, http.MethodGet, "/v1/clients/"+web.ID, ""), http.StatusOK, &got)
		if !got.UpdatedAt.Equal(web.UpdatedAt) || got.Name != web.Name {
			t.Errorf("bad patches changed the client: %+v", got)
		}
		if n := countClients(t, db); n != 1 {
			t.Errorf("%d clients after bad input, want 1", n)
		}
	})
}

func TestTheClientListPagesNewestFirstWithoutRepeatsToTheEnd(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		a := newAPI(t, db)
		var want []string
		for i := range 5 {
			c := a.createClient(t, `{"name":"c`+strconv.Itoa(i)+`","grant_types":["client_credentials"]}`)
			want = append([]string{c.ID}, want...)
			a.clock.Advance(time.Second)
		}
		var got []string
		target := "/v1/clients?limit=2"
		for pages := 0; target != ""; pages++ {
			if pages > 5 {
				t.Fatal("the Link headers do not come to an end")
			}
			res := a.call(t, http.MethodGet, target, "")
			var page struct{ Items []api.Client }
			wantStatus(t, res, http.StatusOK, &page)
			if len(page.Items) > 2 {
				t.Fatalf("a page of %d, over the limit of 2", len(page.Items))
			}
			for _, c := range page.Items {
				got = append(got, c.ID)
			}
			target = ""
			if link := res.header.Get("Link"); link != "" {
				if !strings.HasPrefix(link, "</v1/clients?") || !strings.HasSuffix(link, `>; rel="next"`) || !strings.Contains(link, "limit=2") {
					t.Fatalf("Link %q", link)
				}
				target = strings.TrimSuffix(strings.TrimPrefix(link, "<"), `>; rel="next"`)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("listed %v, want newest first %v", got, want)
		}
		for target, status := range map[string]int{
			"/v1/clients?cursor=!!!":                          http.StatusBadRequest,
			"/v1/clients?cursor=" + strings.Repeat("A", 129):  http.StatusUnprocessableEntity,
			"/v1/clients?limit=0":                             http.StatusUnprocessableEntity,
			"/v1/clients?limit=501":                           http.StatusUnprocessableEntity,
			"/v1/clients?public=true":                         http.StatusUnprocessableEntity,
			"/v1/clients?cursor=MTcwMDAwMDAwMDAwMDAwMDp4%00x": http.StatusBadRequest,
		} {
			wantProblem(t, a.call(t, http.MethodGet, target, ""), status)
		}
	})
}
