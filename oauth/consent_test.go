package oauth_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/identityd/identityd/clients"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
)

var returnToField = regexp.MustCompile(`name="return_to" value="([^"]+)"`)

// thirdParty registers a client that is not the operator's own.
func (d *idp) thirdParty(redirect string) (clients.Client, string) {
	d.t.Helper()
	return d.app(clients.Settings{Name: "Photo Printer", RedirectURIs: []string{redirect},
		GrantTypes: []string{clients.GrantAuthorizationCode, clients.GrantRefreshToken},
		Scopes:     []string{"openid", "email", "offline_access", "photos:read"}})
}

// answerConsent answers the consent page a leads to with decision.
func (b *browser) answerConsent(a answer, decision string) answer {
	b.t.Helper()
	a = b.follow(a)
	if a.status != http.StatusOK || !strings.Contains(a.body, `value="allow"`) {
		b.t.Fatalf("expected the consent page, got %d %q:\n%s", a.status, a.location, a.body)
	}
	returnTo := strings.ReplaceAll(field(b.t, returnToField, a.body), "&amp;", "&")
	return b.post("/consent", url.Values{"return_to": {returnTo}, "decision": {decision},
		"csrf_token": {field(b.t, csrfField, a.body)}})
}

func TestThirdPartyAppsNeedConsentWhichIsRememberedAndRevocable(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		d := newIDP(t, db, idpOptions{})
		ada := d.user(store.NewID() + "@example.com")
		app, secret := d.thirdParty("http://127.0.0.1:9/printer")
		b := d.browser()
		p := newPKCE()

		a := b.signIn(b.get(d.authorizeURL(app, "openid email photos:read offline_access", p, nil)), ada.Email)
		page := b.follow(a)
		for _, want := range []string{"Photo Printer", "See your email address", "photos:read"} {
			if !strings.Contains(page.body, want) {
				t.Errorf("the consent page does not say %q", want)
			}
		}
		code := codeFrom(t, b.follow(b.answerConsent(page, "allow")), app.RedirectURIs[0])
		tr := d.exchange(app, secret, code, p)
		if tr.status != http.StatusOK {
			t.Fatalf("exchange: %+v", tr)
		}
		if evs := d.events("oauth.consent.granted", app.ID); len(evs) != 1 || evs[0].Actor != "user:"+ada.ID {
			t.Errorf("consent events %+v", evs)
		}
		// Remembered: no page the second time, for the same or fewer scopes.
		codeFrom(t, b.follow(b.get(d.authorizeURL(app, "openid photos:read", p, nil))), app.RedirectURIs[0])
		// prompt=consent asks again.
		b.answerConsent(b.get(d.authorizeURL(app, "openid", p, url.Values{"prompt": {"consent"}})), "allow")

		// The account page lists the app; removing it revokes its tokens.
		acct := b.get("/account")
		if !strings.Contains(acct.body, "Photo Printer") {
			t.Fatalf("the account page does not list the connected app:\n%s", acct.body)
		}
		res := b.post("/account/apps/revoke", url.Values{"client_id": {app.ID}, "csrf_token": {field(t, csrfField, acct.body)}})
		if res.status != http.StatusSeeOther {
			t.Fatalf("revoke: %d %s", res.status, res.body)
		}
		if d.active(tr.AccessToken, app.ID, secret) || d.active(tr.RefreshToken, app.ID, secret) {
			t.Error("the app's tokens survived the revocation of its consent")
		}
		if strings.Contains(b.get("/account").body, "Photo Printer") {
			t.Error("the revoked app is still listed")
		}
		if n := len(d.events("oauth.consent.revoked", app.ID)); n != 1 {
			t.Errorf("%d oauth.consent.revoked events", n)
		}
		// And the next sign-in asks again.
		b.answerConsent(b.get(d.authorizeURL(app, "openid", p, nil)), "allow")
	})
}

func TestDenyingConsentTellsTheAppAccessDenied(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		d := newIDP(t, db, idpOptions{})
		ada := d.user(store.NewID() + "@example.com")
		app, _ := d.thirdParty("http://127.0.0.1:9/printer")
		b := d.browser()
		p := newPKCE()
		a := b.signIn(b.get(d.authorizeURL(app, "openid email", p, nil)), ada.Email)
		if e := errorFrom(t, b.follow(b.answerConsent(a, "deny")), app.RedirectURIs[0]); e != "access_denied" {
			t.Errorf("error %q, want access_denied", e)
		}
		if n := storetest.Count(t, db, "oauth_consents WHERE client_id = '"+app.ID+"'"); n != 0 {
			t.Errorf("%d consents recorded after a denial", n)
		}
		// prompt=none cannot ask: consent_required.
		if e := errorFrom(t, b.get(d.authorizeURL(app, "openid", p, url.Values{"prompt": {"none"}})), app.RedirectURIs[0]); e != "consent_required" {
			t.Errorf("prompt=none without consent: %q, want consent_required", e)
		}
		// A consent page for a request that is gone says so.
		if res := b.get("/consent?return_to=" + url.QueryEscape("/oauth2/auth?client_id=x&request_uri=urn:ietf:params:oauth:request_uri:nope")); res.status != http.StatusBadRequest {
			t.Errorf("a stale consent page: %d", res.status)
		}
	})
}

func TestPromptAndMaxAgeDecideWhenToSignInAgain(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		d := newIDP(t, db, idpOptions{})
		ada := d.user(store.NewID() + "@example.com")
		app, secret := d.webApp("http://127.0.0.1:9/cb")
		b := d.browser()
		p := newPKCE()
		if e := errorFrom(t, b.get(d.authorizeURL(app, "openid", p, url.Values{"prompt": {"none"}})), app.RedirectURIs[0]); e != "login_required" {
			t.Errorf("prompt=none signed out: %q, want login_required", e)
		}
		first := d.exchange(app, secret, b.codeFor(app, "openid", p, ada.Email), p)
		authTime := jwtPart(t, first.IDToken, 1)["auth_time"].(float64)
		// max_age=0 asks for a sign-in even from one made this very moment.
		if a := b.follow(b.get(d.authorizeURL(app, "openid", p, url.Values{"max_age": {"0"}}))); !strings.Contains(a.body, `name="password"`) {
			t.Errorf("max_age=0 right after signing in: %d %q, want the sign-in page", a.status, a.location)
		}
		// prompt=none signed in: a code, no page.
		codeFrom(t, b.follow(b.get(d.authorizeURL(app, "openid", p, url.Values{"prompt": {"none"}}))), app.RedirectURIs[0])

		d.nextSecond()
		for name, q := range map[string]url.Values{"prompt=login": {"prompt": {"login"}}, "max_age=0": {"max_age": {"0"}}} {
			a := b.get(d.authorizeURL(app, "openid", p, q))
			code := codeFrom(t, b.follow(b.signIn(a, ada.Email)), app.RedirectURIs[0])
			again := d.exchange(app, secret, code, p)
			if at := jwtPart(t, again.IDToken, 1)["auth_time"].(float64); at <= authTime {
				t.Errorf("%s: auth_time %v, want after the first sign-in's %v", name, at, authTime)
			}
			d.nextSecond()
		}
		// max_age the sign-in is within: no page.
		codeFrom(t, b.follow(b.get(d.authorizeURL(app, "openid", p, url.Values{"max_age": {"3600"}}))), app.RedirectURIs[0])
	})
}
