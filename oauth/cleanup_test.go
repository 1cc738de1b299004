package oauth_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/identityd/identityd/oauth"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
)

func TestCleanupDeletesWhatHasExpiredInBatches(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		d := newIDP(t, db, idpOptions{config: func(c *oauth.Config) { c.RefreshTokenLifetime = 2 * time.Hour }})
		ctx := context.Background()
		ada := d.user(store.NewID() + "@example.com")
		app, secret := d.webApp("http://127.0.0.1:9/cb")
		b := d.browser()
		p := newPKCE()
		var grants []tokenResponse
		for range 3 {
			grants = append(grants, d.exchange(app, secret, b.codeFor(app, "openid offline_access", p, ada.Email), p))
			b = d.browser()
		}
		for _, g := range grants {
			d.postForm(oauth.RevokePath, url.Values{"token": {g.AccessToken}}, app.ID, secret)
		}
		b.get(d.authorizeURL(app, "openid", p, nil)) // a continuation that is never used
		tables := []string{"oauth_requests", "oauth_refresh_tokens", "oauth_revocations", "oauth_session_clients"}
		for _, table := range tables {
			if storetest.Count(t, db, table) == 0 {
				t.Fatalf("%s is empty before the cleanup", table)
			}
		}
		if n, err := d.provider.DeleteExpired(ctx, 2); err != nil || n != 0 {
			t.Fatalf("nothing has expired yet, but %d went (%v)", n, err)
		}
		// Refresh tokens expire in 2h, sessions in 12h, revocations with the longest
		// access token.
		d.clock.Advance(13 * time.Hour)
		n, err := d.provider.DeleteExpired(ctx, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, table := range tables {
			if c := storetest.Count(t, db, table); c != 0 {
				t.Errorf("%s holds %d rows after the cleanup", table, c)
			}
		}
		if n < 10 {
			t.Errorf("deleted %d rows, want every one", n)
		}
		if evs := d.events("oauth.expired_deleted", "expired"); len(evs) == 0 {
			t.Error("no oauth.expired_deleted event")
		}
	})
}
