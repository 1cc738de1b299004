package signingkeys_test

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/identityd/identityd/audit"
	"github.com/identityd/identityd/signingkeys"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
	"github.com/identityd/identityd/testclock"
)

// replicas opens the database at url twice, as two servers would, migrated once.
func replicas(t *testing.T, url string) (*store.DB, *store.DB) {
	t.Helper()
	a := storetest.Open(t, url)
	storetest.Migrate(t, a)
	return a, storetest.Open(t, url)
}

func TestReplicasFollowEachOthersRotations(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, url string) {
		ctx := context.Background()
		dbA, dbB := replicas(t, url)
		cfg := esOnly()
		if dbA.Dialect() == store.Postgres {
			// So long that only the notification can tell B in time.
			cfg.PublishLead, cfg.ReloadEvery = 2*time.Hour, time.Hour
		}
		// SQLite has no notifications: one server per file, which looks for what a
		// command beside it (identityd keys rotate) changed every second, whatever
		// ReloadEvery says (the default minute here).
		c := testclock.New()
		a, b := newService(t, dbA, c.Now, cfg, nil), newService(t, dbB, c.Now, cfg, nil)
		maintain(t, a)
		if err := b.Load(ctx); err != nil {
			t.Fatal(err)
		}
		first := signingID(t, b, signingkeys.ES256)

		lctx, stop := context.WithCancel(ctx)
		var wg sync.WaitGroup
		for _, s := range []*signingkeys.Service{a, b} {
			wg.Go(func() { s.Listen(lctx, slog.New(slog.DiscardHandler)) })
		}
		defer func() { stop(); wg.Wait() }()

		// B reloads right after it starts listening, so seeing this first change proves
		// that it listens: what follows reaches it only by notification (PostgreSQL) or
		// by its periodic reload (SQLite).
		pending, err := a.Rotate(ctx, signingkeys.ES256, false)
		if err != nil {
			t.Fatal(err)
		}
		eventually(t, "B publishing the next key A made", func() bool {
			return slices.Equal(published(t, b), sorted(first, pending.ID))
		})

		now, err := a.Rotate(ctx, signingkeys.ES256, true)
		if err != nil {
			t.Fatal(err)
		}
		eventually(t, "B signing with the key A rotated to immediately", func() bool {
			k, _, err := b.Signing(signingkeys.ES256)
			return err == nil && k.ID == now.ID
		})
		if !isUnknown(b, first) || !isUnknown(b, pending.ID) {
			t.Fatal("B still publishes keys A replaced immediately")
		}

		next, err := a.Rotate(ctx, signingkeys.ES256, false)
		if err != nil {
			t.Fatal(err)
		}
		eventually(t, "B publishing the next key A made", func() bool {
			return slices.Equal(published(t, b), sorted(now.ID, next.ID))
		})
		c.Advance(next.ActivatesAt.Sub(c.Now()))
		if signingID(t, b, signingkeys.ES256) != next.ID || signingID(t, a, signingkeys.ES256) != next.ID {
			t.Fatal("at its activation time, the next key does not sign on both replicas")
		}
	})
}

func TestConcurrentMaintainMakesOneKeyPerAlgorithm(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, url string) {
		dbA, dbB := replicas(t, url)
		c := testclock.New()
		// Both algorithms: each replica runs into the other on each of them.
		a := newService(t, dbA, c.Now, signingkeys.Config{}, nil)
		b := newService(t, dbB, c.Now, signingkeys.Config{}, nil)
		maintainAtOnce(t, a, b)
		keys := list(t, a)
		if len(keys) != 2 || keys[0].Alg != signingkeys.ES256 || keys[1].Alg != signingkeys.RS256 {
			t.Fatalf("concurrent Maintain made %+v, want one key per algorithm", keys)
		}
		if n := countEvents(t, dbA, audit.TypeSigningKeyCreated); n != 2 {
			t.Errorf("%d %s events, want 2", n, audit.TypeSigningKeyCreated)
		}
		for _, s := range []*signingkeys.Service{a, b} {
			if signingID(t, s, signingkeys.ES256) != keys[0].ID || signingID(t, s, signingkeys.RS256) != keys[1].ID {
				t.Fatal("the replicas sign with different keys")
			}
		}

		// Time for a next key, with five Maintains on each replica at once; ES256 keys
		// come fast enough for them all to collide.
		a, b = newService(t, dbA, c.Now, esOnly(), nil), newService(t, dbB, c.Now, esOnly(), nil)
		c.Advance(signingkeys.DefaultConfig().RotationPeriod)
		maintainAtOnce(t, a, b, a, b, a, b, a, b, a, b)
		keys = list(t, b)
		if len(keys) != 3 || keys[1].State != signingkeys.StateNext {
			t.Fatalf("concurrent Maintain made %+v, want the two current keys and one next key", keys)
		}
		// RS256 is no longer configured: its key is left alone, and still signs.
		if err := a.Load(context.Background()); err != nil || signingID(t, a, signingkeys.RS256) != keys[2].ID {
			t.Fatalf("the key of an algorithm dropped from the configuration does not sign (load: %v)", err)
		}
	})
}

// maintainAtOnce runs Maintain on every service at the same time.
func maintainAtOnce(t *testing.T, services ...*signingkeys.Service) {
	t.Helper()
	start := make(chan struct{})
	errs := make(chan error, len(services))
	for _, s := range services {
		go func() {
			<-start
			errs <- s.Maintain(context.Background())
		}()
	}
	close(start)
	for range services {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
