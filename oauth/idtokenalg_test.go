package oauth_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"

	"github.com/identityd/identityd/clients"
	"github.com/identityd/identityd/oauth"
	"github.com/identityd/identityd/signingkeys"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
)

// A client that registered id_token_signed_response_alg ES256 gets ES256 ID tokens — at
// sign-in and on refresh — and ES256 logout tokens, which go-oidc verifies from discovery
// alone; its ES256 ID token is a good id_token_hint. Other clients keep RS256.
func TestAClientRegisteredForES256IDTokensGetsThemAndGoOIDCVerifiesThem(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		d := newIDP(t, db, idpOptions{})
		ctx := oidc.ClientContext(context.Background(), http.DefaultClient)
		ada := d.user(store.NewID() + "@example.com")
		rcv := newLogoutReceiver(t)
		redirect := "http://127.0.0.1:9/es"
		app, secret := d.app(clients.Settings{FirstParty: true, RedirectURIs: []string{redirect},
			PostLogoutRedirectURIs: []string{redirect + "/signed-out"},
			GrantTypes:             []string{clients.GrantAuthorizationCode, clients.GrantRefreshToken},
			Scopes:                 []string{"openid", "offline_access"}, IDTokenSignedResponseAlg: clients.AlgES256,
			BackchannelLogoutURI: rcv.srv.URL + "/backchannel"})
		other, otherSecret := d.webApp("http://127.0.0.1:9/rs")
		es, _, err := d.keys.Signing(signingkeys.ES256)
		if err != nil {
			t.Fatal(err)
		}
		b := d.browser()

		r := d.relyingParty(ctx, app, secret, oidc.ScopeOpenID, oidc.ScopeOfflineAccess)
		tok, _ := r.signInTo(ctx, t, b, ada.Email) // go-oidc has verified it
		rawID, _ := tok.Extra("id_token").(string)
		if alg, kid := jwtPart(t, rawID, 0)["alg"], headerKid(t, rawID); alg != "ES256" || kid != es.ID {
			t.Errorf("ID token signed %v with %s, want ES256 with the current ES256 key %s", alg, kid, es.ID)
		}
		tok.Expiry = d.clock.Now().Add(-1)
		fresh, err := r.cfg.TokenSource(ctx, tok).Token()
		if err != nil {
			t.Fatalf("refresh: %v", err)
		}
		refreshed, _ := fresh.Extra("id_token").(string)
		if _, err := r.verifier.Verify(ctx, refreshed); err != nil || jwtPart(t, refreshed, 0)["alg"] != "ES256" {
			t.Errorf("refreshed ID token: %v, alg %v; want ES256 that go-oidc verifies", err, jwtPart(t, refreshed, 0)["alg"])
		}

		otherTok, _ := d.relyingParty(ctx, other, otherSecret, oidc.ScopeOpenID).signInTo(ctx, t, b, "")
		otherRaw, _ := otherTok.Extra("id_token").(string)
		if alg := jwtPart(t, otherRaw, 0)["alg"]; alg != "RS256" {
			t.Errorf("a client that did not ask for ES256 got an ID token signed %v, want RS256", alg)
		}

		// The ES256 ID token ends the session as a hint, and the logout token is ES256.
		end := url.Values{"id_token_hint": {rawID}, "post_logout_redirect_uri": {redirect + "/signed-out"}, "state": {"bye-bye-state"}}
		if a := b.get(oauth.EndSessionPath + "?" + end.Encode()); a.status != http.StatusSeeOther ||
			a.location != redirect+"/signed-out?state=bye-bye-state" {
			t.Fatalf("end session with an ES256 hint: %d %q", a.status, a.location)
		}
		raw := rcv.await(t, 1)[0]
		lt, err := josejwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256})
		if err != nil {
			t.Fatalf("logout token: %v", err)
		}
		set := d.jwks()
		keys := set.Key(lt.Headers[0].KeyID)
		if len(keys) != 1 {
			t.Fatalf("the logout token's key %s is not published", lt.Headers[0].KeyID)
		}
		var claims josejwt.Claims
		if err := lt.Claims(keys[0].Key, &claims); err != nil || !claims.Audience.Contains(app.ID) {
			t.Errorf("logout token: %v, aud %v", err, claims.Audience)
		}
	})
}
