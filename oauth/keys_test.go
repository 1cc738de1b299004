package oauth_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/identityd/identityd/oauth"
	"github.com/identityd/identityd/signingkeys"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
)

// shortLead publishes new keys 5 minutes ahead, so tests can rotate without waiting an
// hour; retired keys stay published two hours, beyond the one-hour access tokens.
var shortLead = signingkeys.Config{RotationPeriod: 24 * time.Hour, PublishLead: 5 * time.Minute,
	ReloadEvery: 30 * time.Second, MaxTokenLifetime: 2 * time.Hour}

func TestATokenSignedBeforeARotationVerifiesUntilItExpires(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		d := newIDP(t, db, idpOptions{keys: shortLead})
		ctx := context.Background()
		svc, secret := d.service([]string{"reports"}, nil)
		issue := func() string {
			return d.token(url.Values{"grant_type": {"client_credentials"}, "scope": {"reports"}}, svc.ID, secret).AccessToken
		}
		before := issue()
		oldKid := headerKid(t, before)

		next, err := d.keys.Rotate(ctx, signingkeys.ES256, false)
		if err != nil {
			t.Fatal(err)
		}
		if set := d.jwks(); len(set.Key(next.ID)) != 1 {
			t.Fatal("the next key is not published before it signs")
		}
		if kid := headerKid(t, issue()); kid != oldKid {
			t.Fatalf("a token was signed with the next key (%s) before it activated", kid)
		}
		if _, err := d.keys.Rotate(ctx, signingkeys.ES256, false); !errors.Is(err, signingkeys.ErrNextKeyPending) {
			t.Errorf("a second rotation = %v, want ErrNextKeyPending", err)
		}

		d.clock.Advance(6 * time.Minute)
		if err := d.keys.Maintain(ctx); err != nil {
			t.Fatal(err)
		}
		after := issue()
		if kid := headerKid(t, after); kid != next.ID {
			t.Fatalf("after activation tokens are signed with %s, want the new key %s", kid, next.ID)
		}
		if !d.active(before, svc.ID, secret) || !d.active(after, svc.ID, secret) {
			t.Fatal("tokens from before and after the rotation should both verify")
		}
		if _, err := d.verifyLocally(before); err != nil {
			t.Errorf("a resource server with the JWKS cannot verify the older token: %v", err)
		}
		d.clock.Advance(55 * time.Minute)
		if d.active(before, svc.ID, secret) {
			t.Error("the older token outlived its expiry")
		}

		// An immediate rotation unpublishes the old keys at once: what they signed is dead.
		if _, err := d.keys.Rotate(ctx, signingkeys.ES256, true); err != nil {
			t.Fatal(err)
		}
		if d.active(after, svc.ID, secret) {
			t.Error("a token signed by a key rotated out immediately is still active")
		}
		fresh := issue()
		if _, err := d.verifyLocally(fresh); err != nil || headerKid(t, fresh) == next.ID {
			t.Errorf("after an immediate rotation new tokens should verify under a new kid: %v", err)
		}
	})
}

func TestReplicasOnOnePostgreSQLShareTokensRevocationsAndKeys(t *testing.T) {
	db := storetest.FreshPostgres(t)
	a := newIDP(t, db, idpOptions{})
	b := newIDP(t, db, idpOptions{issuer: a.issuer})
	svc, secret := a.service([]string{"reports"}, nil)
	tok := a.token(url.Values{"grant_type": {"client_credentials"}, "scope": {"reports"}}, svc.ID, secret).AccessToken
	if !b.active(tok, svc.ID, secret) {
		t.Fatal("a token from one replica does not introspect on the other")
	}
	// b learns of a's revocation by notification, long before its periodic reload.
	if status, _, _ := a.postForm(oauth.RevokePath, url.Values{"token": {tok}}, svc.ID, secret); status != http.StatusOK {
		t.Fatal(status)
	}
	eventually(t, 3*time.Second, "the other replica sees the revocation", func() bool { return !b.active(tok, svc.ID, secret) })

	// A rotation on a is followed by b.
	key, err := a.keys.Rotate(context.Background(), signingkeys.ES256, true)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 3*time.Second, "the other replica signs with the new key", func() bool {
		tok := b.token(url.Values{"grant_type": {"client_credentials"}, "scope": {"reports"}}, svc.ID, secret).AccessToken
		return headerKid(t, tok) == key.ID
	})
}

// eventually waits up to limit for cond.
func eventually(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: not yet: %s", limit, what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}
