package signingkeys_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/identityd/identityd/audit"
	"github.com/identityd/identityd/signingkeys"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
	"github.com/identityd/identityd/testclock"
)

func TestRotateByHand(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := testclock.New()
		cfg := esOnly()
		s := newService(t, db, c.Now, cfg, nil)
		lead := signingkeys.DefaultConfig().PublishLead + signingkeys.DefaultConfig().ReloadEvery

		// With no key yet there is nothing to be published ahead of: the key signs at once.
		first, err := s.Rotate(ctx, signingkeys.ES256, false)
		if err != nil {
			t.Fatal(err)
		}
		if first.State != signingkeys.StateCurrent || !first.ActivatesAt.Equal(c.Now()) || signingID(t, s, signingkeys.ES256) != first.ID {
			t.Fatalf("first rotation gave %+v: want a key that signs at once", first)
		}

		c.Advance(time.Hour)
		next, err := s.Rotate(ctx, signingkeys.ES256, false)
		if err != nil {
			t.Fatal(err)
		}
		if next.State != signingkeys.StateNext || !next.ActivatesAt.Equal(c.Now().Add(lead)) || next.Signer() != nil {
			t.Fatalf("rotation gave %+v: want a next key activating %s from now", next, lead)
		}
		if signingID(t, s, signingkeys.ES256) != first.ID || !slices.Equal(published(t, s), sorted(first.ID, next.ID)) {
			t.Fatal("after a rotation the current key must still sign and both be published")
		}
		again, err := s.Rotate(ctx, signingkeys.ES256, false)
		if !errors.Is(err, signingkeys.ErrNextKeyPending) || again.ID != next.ID || again.State != signingkeys.StateNext {
			t.Fatalf("rotating with a next key pending = %+v, %v; want that key and ErrNextKeyPending", again, err)
		}
		if keys := list(t, s); len(keys) != 2 {
			t.Fatalf("a refused rotation left %d keys", len(keys))
		}

		// A compromised key: the new one signs now; every other is gone at once.
		now, err := s.Rotate(ctx, signingkeys.ES256, true)
		if err != nil {
			t.Fatal(err)
		}
		if now.State != signingkeys.StateCurrent || !now.ActivatesAt.Equal(c.Now()) || signingID(t, s, signingkeys.ES256) != now.ID {
			t.Fatalf("immediate rotation gave %+v: want a key that signs at once", now)
		}
		if !isUnknown(s, first.ID) || !isUnknown(s, next.ID) || !slices.Equal(published(t, s), []string{now.ID}) {
			t.Fatal("after an immediate rotation the replaced keys are still published")
		}
		if keys := list(t, s); len(keys) != 1 || keys[0].ID != now.ID {
			t.Fatalf("keys %v after an immediate rotation, want only the new one", ids(keys))
		}
		for typ, want := range map[string]int{audit.TypeSigningKeyRotated: 3, audit.TypeSigningKeyCreated: 3,
			audit.TypeSigningKeyDeleted: 2} {
			if n := countEvents(t, db, typ); n != want {
				t.Errorf("%d %s events, want %d", n, typ, want)
			}
		}

		if _, err := s.Rotate(ctx, signingkeys.RS256, false); !errors.Is(err, signingkeys.ErrUnsupportedAlg) {
			t.Fatalf("rotating an algorithm not configured = %v, want ErrUnsupportedAlg", err)
		}
	})
}

func TestSigningNeedsNoDatabase(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		c := testclock.New()
		s := newService(t, db, c.Now, esOnly(), nil)
		maintain(t, s)
		old := signingID(t, s, signingkeys.ES256)
		next, err := s.Rotate(context.Background(), signingkeys.ES256, false)
		if err != nil {
			t.Fatal(err)
		}
		db.Close()
		c.Advance(next.ActivatesAt.Sub(c.Now()))
		if signingID(t, s, signingkeys.ES256) != next.ID {
			t.Fatal("without the database, the next key does not take over at its activation")
		}
		if k, err := s.Verification(old); err != nil || k.State != signingkeys.StateRetired {
			t.Fatalf("without the database, Verification(old) = %+v, %v", k, err)
		}
		if got := published(t, s); !slices.Equal(got, sorted(old, next.ID)) {
			t.Fatalf("without the database, JWKS %v", got)
		}
	})
}
