package oauth_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/identityd/identityd/clients"
	"github.com/identityd/identityd/oauth"
	"github.com/identityd/identityd/sessions"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
	"github.com/identityd/identityd/users"
)

func TestIntrospectionTellsAResourceServerOnlyAboutTokensMeantForIt(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		d := newIDP(t, db, idpOptions{})
		api, apiSecret := d.app(clients.Settings{Name: "Invoices API", GrantTypes: []string{clients.GrantClientCredentials}})
		other, otherSecret := d.app(clients.Settings{Name: "Other API", GrantTypes: []string{clients.GrantClientCredentials}})
		gateway, gatewaySecret := d.app(clients.Settings{Name: "Gateway", GrantTypes: []string{clients.GrantClientCredentials},
			IntrospectAnyToken: true})
		caller, callerSecret := d.service([]string{"invoices:read"}, []string{api.ID})
		tok := d.token(url.Values{"grant_type": {"client_credentials"}, "scope": {"invoices:read"}, "audience": {api.ID}},
			caller.ID, callerSecret).AccessToken

		got := d.introspect(tok, api.ID, apiSecret)
		if got["active"] != true || got["client_id"] != caller.ID || got["scope"] != "invoices:read" || got["sub"] != caller.ID ||
			got["iss"] != d.issuer || got["token_type"] != "Bearer" {
			t.Errorf("the audience's introspection: %v", got)
		}
		if got := d.introspect(tok, other.ID, otherSecret); got["active"] != false || len(got) != 1 {
			t.Errorf("another resource server's introspection: %v; want only active=false", got)
		}
		if !d.active(tok, gateway.ID, gatewaySecret) {
			t.Error("a client allowed to introspect any token was told no")
		}
		if !d.active(tok, caller.ID, callerSecret) {
			t.Error("the token's own client was told no")
		}
		// Introspection needs a client that authenticates.
		status, body, _ := d.postForm(oauth.IntrospectPath, url.Values{"token": {tok}}, api.ID, "wrong")
		if status != http.StatusUnauthorized {
			t.Errorf("introspection with a wrong secret: %d %s", status, body)
		}
		native, _ := d.app(clients.Settings{Public: true, RedirectURIs: []string{"http://127.0.0.1/n"},
			GrantTypes: []string{clients.GrantAuthorizationCode}, Scopes: []string{"openid"}})
		status, body, _ = d.postForm(oauth.IntrospectPath, url.Values{"token": {tok}, "client_id": {native.ID}}, "", "")
		if status != http.StatusUnauthorized {
			t.Errorf("introspection by a public client: %d %s", status, body)
		}
		if status, body, _ := d.postForm(oauth.IntrospectPath, url.Values{}, api.ID, apiSecret); status != http.StatusBadRequest {
			t.Errorf("introspection without a token: %d %s", status, body)
		}
	})
}

func TestRevokingTokensHolds(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		d := newIDP(t, db, idpOptions{})
		ada := d.user(store.NewID() + "@example.com")
		app, secret := d.webApp("http://127.0.0.1:9/cb")
		other, otherSecret := d.webApp("http://127.0.0.1:9/other")
		b := d.browser()
		p := newPKCE()
		grant := func() tokenResponse {
			return d.exchange(app, secret, b.codeFor(app, "openid offline_access", p, ""), p)
		}
		b.signIn(b.get("/login"), ada.Email)
		revoke := func(token, id, secret string) int {
			status, _, _ := d.postForm(oauth.RevokePath, url.Values{"token": {token}}, id, secret)
			return status
		}

		// A JWT access token: by its jti, nothing else.
		one := grant()
		if s := revoke(one.AccessToken, other.ID, otherSecret); s != http.StatusBadRequest {
			t.Errorf("another client revoking the token: %d, want 400", s)
		}
		if !d.active(one.AccessToken, app.ID, secret) {
			t.Fatal("another client could revoke the token")
		}
		if s := revoke(one.AccessToken, app.ID, secret); s != http.StatusOK {
			t.Fatalf("revoke: %d", s)
		}
		if d.active(one.AccessToken, app.ID, secret) {
			t.Error("a revoked JWT access token is active")
		}
		if !d.active(one.RefreshToken, app.ID, secret) {
			t.Error("revoking an access token ended its refresh token")
		}
		if s := revoke(one.AccessToken, app.ID, secret); s != http.StatusOK {
			t.Errorf("revoking it again: %d, want 200", s)
		}

		// A refresh token: its whole grant.
		two := grant()
		if s := revoke(two.RefreshToken, app.ID, secret); s != http.StatusOK {
			t.Fatalf("revoke: %d", s)
		}
		if d.active(two.RefreshToken, app.ID, secret) || d.active(two.AccessToken, app.ID, secret) {
			t.Error("a revoked refresh token's grant is still active")
		}
		if n := len(d.events("oauth.token.revoked", app.ID)); n != 2 {
			t.Errorf("%d oauth.token.revoked events, want 2", n)
		}
		// Storage stays bounded: the JWT's revocation is one row, with an expiry.
		if n := storetest.Count(t, db, "oauth_revocations WHERE key LIKE 'jti:%' AND expires_at > revoked_at"); n < 1 {
			t.Errorf("%d jti revocations", n)
		}
	})
}

func TestAccountChangesAndAdminsRevokeAUsersTokens(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		d := newIDP(t, db, idpOptions{})
		ctx := context.Background()
		app, secret := d.webApp("http://127.0.0.1:9/cb")
		p := newPKCE()
		signedIn := func(email string) (tokenResponse, *browser) {
			b := d.browser()
			return d.exchange(app, secret, b.codeFor(app, "openid offline_access", p, email), p), b
		}
		mustEnd := func(what string, trs ...tokenResponse) {
			t.Helper()
			for _, tr := range trs {
				if d.active(tr.AccessToken, app.ID, secret) || d.active(tr.RefreshToken, app.ID, secret) {
					t.Errorf("%s: a token is still active", what)
				}
			}
		}

		ada := d.user(store.NewID() + "@example.com")
		before, _ := signedIn(ada.Email)
		disabled := users.StatusDisabled
		if _, err := d.users.Update(ctx, ada.ID, users.Patch{Status: &disabled}); err != nil {
			t.Fatal(err)
		}
		mustEnd("the user disabled", before)
		if evs := d.events("oauth.tokens.revoked", ada.ID); len(evs) != 1 || evs[0].Details["reason"] != "disabled" {
			t.Errorf("events %+v", evs)
		}

		bob := d.user(store.NewID() + "@example.com")
		t1, _ := signedIn(bob.Email)
		d.nextSecond()
		if err := d.users.SetPassword(ctx, bob.ID, "another long passphrase 9"); err != nil {
			t.Fatal(err)
		}
		mustEnd("the password set", t1)

		// An admin ending all the user's sessions ends all their tokens; ending one
		// session ends the tokens issued in it.
		eve := d.user(store.NewID() + "@example.com")
		d.nextSecond()
		e1, _ := signedIn(eve.Email)
		e2, _ := signedIn(eve.Email)
		list, err := d.sessions.List(ctx, eve.ID)
		if err != nil || len(list) != 2 {
			t.Fatalf("sessions %v %v", list, err)
		}
		sid := jwtPart(t, e1.IDToken, 1)["sid"]
		if err := d.sessions.Revoke(ctx, eve.ID, sid.(string), sessions.ReasonAdmin); err != nil {
			t.Fatal(err)
		}
		mustEnd("its session revoked by an admin", e1)
		if !d.active(e2.AccessToken, app.ID, secret) {
			t.Error("ending one session ended the tokens of another")
		}
		if _, err := d.sessions.RevokeAll(ctx, eve.ID, sessions.ReasonAdmin); err != nil {
			t.Fatal(err)
		}
		mustEnd("every session revoked by an admin", e2)
		// New tokens after the revocation work.
		d.nextSecond()
		if after, _ := signedIn(eve.Email); !d.active(after.AccessToken, app.ID, secret) {
			t.Error("a token issued after the revocation is not active")
		}
	})
}
