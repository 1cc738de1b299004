package oauth_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/identityd/identityd/clients"
	"github.com/identityd/identityd/oauth"
	"github.com/identityd/identityd/signingkeys"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
)

// rp is a relying party built from other people's libraries: golang.org/x/oauth2 for
// the protocol and coreos/go-oidc for discovery and ID token verification.
type rp struct {
	cfg      oauth2.Config
	provider *oidc.Provider
	verifier *oidc.IDTokenVerifier
}

func (d *idp) relyingParty(ctx context.Context, c clients.Client, secret string, scopes ...string) rp {
	d.t.Helper()
	provider, err := oidc.NewProvider(ctx, d.issuer)
	if err != nil {
		d.t.Fatalf("discovery: %v", err)
	}
	return rp{
		cfg: oauth2.Config{ClientID: c.ID, ClientSecret: secret, Endpoint: withAuthStyle(provider.Endpoint()), RedirectURL: c.RedirectURIs[0],
			Scopes: scopes},
		provider: provider,
		verifier: provider.Verifier(&oidc.Config{ClientID: c.ID, Now: d.clock.Now}),
	}
}

// signInTo runs the authorization code flow with PKCE in b for the relying party: the
// browser goes to identityd, signs in if it must, and comes back with a code, which the
// app exchanges. It returns the tokens and the verified ID token.
func (r rp) signInTo(ctx context.Context, t *testing.T, b *browser, email string) (*oauth2.Token, *oidc.IDToken) {
	t.Helper()
	verifier := oauth2.GenerateVerifier()
	nonce := "n-" + oauth2.GenerateVerifier()[:16]
	a := b.get(r.cfg.AuthCodeURL("state-"+oauth2.GenerateVerifier()[:12], oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce)))
	if email != "" {
		a = b.signIn(a, email)
	}
	code := codeFrom(t, b.follow(a), r.cfg.RedirectURL)
	tok, err := r.cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	id, err := r.verifier.Verify(ctx, raw)
	if err != nil {
		t.Fatalf("go-oidc refuses the ID token: %v", err)
	}
	if id.Nonce != nonce {
		t.Fatalf("ID token nonce %q, want %q", id.Nonce, nonce)
	}
	if err := id.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Fatalf("at_hash: %v", err)
	}
	return tok, id
}

func TestTheCodeFlowWithPKCEWorksWithGoOIDCAndXOAuth2(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		d := newIDP(t, db, idpOptions{})
		ctx := oidc.ClientContext(context.Background(), http.DefaultClient)
		ada := d.user(store.NewID() + "@example.com")
		app, secret := d.webApp("http://127.0.0.1:9/callback")
		r := d.relyingParty(ctx, app, secret, oidc.ScopeOpenID, "profile", "email", oidc.ScopeOfflineAccess)
		b := d.browser()
		tok, id := r.signInTo(ctx, t, b, ada.Email)

		var claims struct {
			Email         string   `json:"email"`
			EmailVerified bool     `json:"email_verified"`
			Name          string   `json:"name"`
			SID           string   `json:"sid"`
			AMR           []string `json:"amr"`
			AuthTime      int64    `json:"auth_time"`
		}
		if err := id.Claims(&claims); err != nil {
			t.Fatal(err)
		}
		if id.Subject != ada.ID || claims.Email != ada.Email || !claims.EmailVerified || claims.Name != ada.Name ||
			claims.SID == "" || !slices.Equal(claims.AMR, []string{"pwd"}) || claims.AuthTime == 0 {
			t.Errorf("ID token: sub %s, claims %+v; want the user's", id.Subject, claims)
		}
		if tok.RefreshToken == "" || !strings.HasPrefix(tok.RefreshToken, "idd_rt_") {
			t.Errorf("refresh token %q: offline_access should give one", tok.RefreshToken)
		}

		// userinfo, through go-oidc.
		info, err := r.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			t.Fatalf("userinfo: %v", err)
		}
		if info.Subject != ada.ID || info.Email != ada.Email || !info.EmailVerified {
			t.Errorf("userinfo %+v; want the user", info)
		}

		// A refresh through x/oauth2's token source gives new tokens, with an ID token
		// signed by the current key, and the old refresh token stops working.
		old := *tok
		tok.Expiry = d.clock.Now().Add(-1)
		fresh, err := r.cfg.TokenSource(ctx, tok).Token()
		if err != nil {
			t.Fatalf("refresh: %v", err)
		}
		if fresh.AccessToken == old.AccessToken || fresh.RefreshToken == old.RefreshToken {
			t.Fatal("a refresh gave the same tokens back")
		}
		rawID, _ := fresh.Extra("id_token").(string)
		if _, err := r.verifier.Verify(ctx, rawID); err != nil {
			t.Fatalf("the refreshed ID token: %v", err)
		}
		current, _, err := d.keys.Signing(signingkeys.RS256)
		if err != nil {
			t.Fatal(err)
		}
		if kid := headerKid(t, rawID); kid != current.ID {
			t.Errorf("refreshed ID token kid %s, want the current key %s", kid, current.ID)
		}
		if !d.active(fresh.AccessToken, app.ID, secret) {
			t.Error("the refreshed access token is not active")
		}
		if n := len(d.events("oauth.token.issued", app.ID)); n != 1 {
			t.Errorf("%d oauth.token.issued events, want 1", n)
		}
		if evs := d.events("oauth.token.refreshed", app.ID); len(evs) != 1 || evs[0].Actor != "user:"+ada.ID {
			t.Errorf("oauth.token.refreshed events %+v; want one by the user", evs)
		}
	})
}

func TestASecondAppSignsInWithoutTheLoginPage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		d := newIDP(t, db, idpOptions{})
		ctx := oidc.ClientContext(context.Background(), http.DefaultClient)
		ada := d.user(store.NewID() + "@example.com")
		one, s1 := d.webApp("http://127.0.0.1:9/one")
		two, s2 := d.webApp("http://127.0.0.1:9/two")
		b := d.browser()
		_, id1 := d.relyingParty(ctx, one, s1, oidc.ScopeOpenID).signInTo(ctx, t, b, ada.Email)
		// No email: signInTo fails if the login page shows.
		_, id2 := d.relyingParty(ctx, two, s2, oidc.ScopeOpenID).signInTo(ctx, t, b, "")
		var c1, c2 struct {
			SID string `json:"sid"`
		}
		if err := id1.Claims(&c1); err != nil {
			t.Fatal(err)
		}
		if err := id2.Claims(&c2); err != nil {
			t.Fatal(err)
		}
		if id1.Subject != id2.Subject || c1.SID == "" || c1.SID != c2.SID {
			t.Errorf("two apps, one sign-in: subjects %s/%s, sids %s/%s", id1.Subject, id2.Subject, c1.SID, c2.SID)
		}
	})
}

// headerKid is the kid of a JWT's header.
func headerKid(t testing.TB, jwt string) string {
	t.Helper()
	h := jwtPart(t, jwt, 0)
	kid, _ := h["kid"].(string)
	return kid
}

var _ = url.Values{}
var _ = oauth.TokenPath

// withAuthStyle sends client credentials in the Authorization header, as
// client_secret_basic clients must; x/oauth2's guessing would hide the first answer.
func withAuthStyle(e oauth2.Endpoint) oauth2.Endpoint {
	e.AuthStyle = oauth2.AuthStyleInHeader
	return e
}
