package clients_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/identityd/identityd/audit/audittest"
	"github.com/identityd/identityd/clients"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
	"github.com/identityd/identityd/testclock"
)

func TestLookupSeesEveryChangeMadeThroughTheSameServiceAtOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db, clients.Config{})
		c, secret := f.create(t, webApp())
		got, err := f.svc.Lookup(ctx, c.ID)
		if err != nil || got.Name != "Invoices" {
			t.Fatalf("Lookup = %+v, %v", got, err)
		}
		// A caller changing what it was given does not change what others are given.
		got.RedirectURIs[0], got.Scopes = "https://evil.example/", nil
		if again, _ := f.svc.Lookup(ctx, c.ID); again.RedirectURIs[0] != "https://invoices.example.com/callback" || len(again.Scopes) != 5 {
			t.Fatalf("the cached client was changed through a copy: %+v", again)
		}
		if _, h, _ := f.svc.LookupWithSecretHash(ctx, c.ID); len(h) == 32 {
			h[0] ^= 0xff
			if err := f.svc.VerifySecret(ctx, c.ID, secret); err != nil {
				t.Fatalf("the cached hash was changed through a copy: %v", err)
			}
		}

		if _, err := f.svc.Update(ctx, c.ID, clients.Patch{Name: ptr("Renamed")}); err != nil {
			t.Fatal(err)
		}
		if got, _ := f.svc.Lookup(ctx, c.ID); got.Name != "Renamed" {
			t.Fatalf("Lookup after Update = %q", got.Name)
		}
		_, rotated, err := f.svc.RotateSecret(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.svc.VerifySecret(ctx, c.ID, secret); !errors.Is(err, clients.ErrInvalidSecret) {
			t.Fatalf("the old secret right after rotation: %v", err)
		}
		if err := f.svc.VerifySecret(ctx, c.ID, rotated); err != nil {
			t.Fatalf("the new secret right after rotation: %v", err)
		}
		if err := f.svc.Delete(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Lookup(ctx, c.ID); !errors.Is(err, clients.ErrNotFound) {
			t.Fatalf("Lookup after Delete = %v", err)
		}
		if err := f.svc.VerifySecret(ctx, c.ID, rotated); !errors.Is(err, clients.ErrNotFound) {
			t.Fatalf("VerifySecret after Delete = %v", err)
		}
	})
}

// TestChangesWithoutNotificationReachTheCacheWithinItsTTL is the SQLite case of a CLI
// changing the database beside the server, and the PostgreSQL case of a lost
// notification: another Service changes a client, and this one serves what it cached
// until the cache's TTL has passed — a second on SQLite, CacheTTL on PostgreSQL — then
// the change.
func TestChangesWithoutNotificationReachTheCacheWithinItsTTL(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		ttl := clients.CacheTTL
		if db.Dialect() == store.SQLite {
			ttl = clients.SQLiteCacheTTL
		}
		server := newFixture(t, db, clients.Config{})
		cli := clients.New(db, audittest.NewLog(t, db), server.clock.Now, clients.Config{})
		c, secret := server.create(t, webApp())
		if _, err := server.svc.Lookup(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := cli.Update(ctx, c.ID, clients.Patch{Name: ptr("Renamed")}); err != nil {
			t.Fatal(err)
		}
		_, rotated, err := cli.RotateSecret(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		server.clock.Advance(ttl - time.Microsecond)
		if got, _ := server.svc.Lookup(ctx, c.ID); got.Name != "Invoices" {
			t.Fatalf("Lookup before the TTL = %q, want the cached name", got.Name)
		}
		if err := server.svc.VerifySecret(ctx, c.ID, secret); err != nil {
			t.Fatalf("the cached secret before the TTL: %v", err)
		}
		server.clock.Advance(time.Microsecond)
		if got, _ := server.svc.Lookup(ctx, c.ID); got.Name != "Renamed" {
			t.Fatalf("Lookup at the TTL = %q, want the change", got.Name)
		}
		if err := server.svc.VerifySecret(ctx, c.ID, secret); !errors.Is(err, clients.ErrInvalidSecret) {
			t.Fatalf("the old secret at the TTL: %v", err)
		}
		if err := server.svc.VerifySecret(ctx, c.ID, rotated); err != nil {
			t.Fatalf("the new secret at the TTL: %v", err)
		}

		if err := cli.Delete(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := server.svc.Lookup(ctx, c.ID); err != nil {
			t.Fatalf("Lookup of the deleted client before the TTL: %v, want it cached", err)
		}
		server.clock.Advance(ttl)
		if _, err := server.svc.Lookup(ctx, c.ID); !errors.Is(err, clients.ErrNotFound) {
			t.Fatalf("Lookup of the deleted client at the TTL = %v", err)
		}
	})
}

func TestLookupDoesNotCacheMisses(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db, clients.Config{})
		c, _ := f.create(t, machine())
		id := "misscachedclient"
		if _, err := f.svc.Lookup(ctx, id); !errors.Is(err, clients.ErrNotFound) {
			t.Fatalf("Lookup of an unknown id = %v", err)
		}
		// The client appears behind the Service's back (an import, another replica).
		_, err := db.Exec(ctx, `INSERT INTO oauth_clients (id, name, public, first_party, redirect_uris,
			post_logout_redirect_uris, grant_types, scopes, audience, token_endpoint_auth_method, jwks, jwks_uri,
			access_token_format, access_token_lifetime, refresh_token_lifetime, id_token_lifetime,
			backchannel_logout_uri, introspect_any_token, secret_hash, secret_rotated_at, created_at, updated_at)
			SELECT $1, 'Appeared', public, first_party, redirect_uris, post_logout_redirect_uris, grant_types, scopes,
			audience, token_endpoint_auth_method, jwks, jwks_uri, access_token_format, access_token_lifetime,
			refresh_token_lifetime, id_token_lifetime, backchannel_logout_uri, introspect_any_token, secret_hash,
			secret_rotated_at, created_at, updated_at FROM oauth_clients WHERE id = $2`, id, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := f.svc.Lookup(ctx, id); err != nil || got.Name != "Appeared" {
			t.Fatalf("Lookup after the client appeared = %+v, %v", got, err)
		}
	})
}

// replica is one identityd process: its own pool, its own Service, its own listener.
func replica(t *testing.T, url string, clock *testclock.Clock) *clients.Service {
	t.Helper()
	db := storetest.Open(t, url)
	svc := clients.New(db, audittest.NewLog(t, db), clock.Now, clients.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		svc.Listen(ctx, slog.New(slog.DiscardHandler))
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return svc
}

// waitListening waits until n connections listen for client changes, so that what the
// test changes next reaches them as notifications and not as the flush of a listener
// that connects late.
func waitListening(t *testing.T, db *store.DB, n int) {
	t.Helper()
	waitFor(t, "the listeners", 10*time.Second, func() bool {
		return storetest.Count(t, db, `pg_stat_activity WHERE datname = current_database() AND query = 'LISTEN "identityd_clients"'`) == n
	})
}

func TestReplicasSeeEachOthersChangesThroughNotifications(t *testing.T) {
	ctx := context.Background()
	url := storetest.FreshPostgresURL(t)
	storetest.Migrate(t, storetest.Open(t, url))
	// The clock never moves: whatever a replica sees, it did not see by expiry.
	clock := testclock.New()
	a, b := replica(t, url, clock), replica(t, url, clock)
	waitListening(t, storetest.Open(t, url), 2)

	c, secret, err := a.Create(ctx, webApp())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []*clients.Service{a, b} {
		if got, err := s.Lookup(ctx, c.ID); err != nil || got.Name != "Invoices" {
			t.Fatalf("Lookup = %+v, %v", got, err)
		}
	}
	if _, err := b.Update(ctx, c.ID, clients.Patch{Name: ptr("Renamed by b")}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a to see b's update", 5*time.Second, func() bool {
		got, err := a.Lookup(ctx, c.ID)
		return err == nil && got.Name == "Renamed by b"
	})

	_, rotated, err := a.RotateSecret(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b to refuse the old secret", 5*time.Second, func() bool {
		return errors.Is(b.VerifySecret(ctx, c.ID, secret), clients.ErrInvalidSecret)
	})
	if err := b.VerifySecret(ctx, c.ID, rotated); err != nil {
		t.Fatalf("b with the new secret: %v", err)
	}

	if err := a.Delete(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b to forget the deleted client", 5*time.Second, func() bool {
		_, err := b.Lookup(ctx, c.ID)
		return errors.Is(err, clients.ErrNotFound)
	})
}

func TestListenReconnectsAndForgetsWhatItMayHaveMissed(t *testing.T) {
	ctx := context.Background()
	url := storetest.FreshPostgresURL(t)
	storetest.Migrate(t, storetest.Open(t, url))
	p := storetest.NewProxy(t, storetest.PostgresAddr(t, url))
	clock := testclock.New()
	cut := replica(t, storetest.PostgresURLVia(t, url, p), clock)
	other := replica(t, url, clock)
	watch := storetest.Open(t, url)
	waitListening(t, watch, 2)

	c, _, err := other.Create(ctx, webApp())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cut.Lookup(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	// While the connection is down the change is announced, and nobody hears it there.
	p.Cut()
	waitListening(t, watch, 1)
	if _, err := other.Update(ctx, c.ID, clients.Patch{Name: ptr("Changed while cut off")}); err != nil {
		t.Fatal(err)
	}
	p.Restore()
	waitFor(t, "the cut-off replica to see the change", 15*time.Second, func() bool {
		got, err := cut.Lookup(ctx, c.ID)
		return err == nil && got.Name == "Changed while cut off"
	})
}

func TestListenOnSQLiteReturnsAtOnce(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), clients.Config{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.svc.Listen(context.Background(), nil)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Listen on SQLite did not return")
	}
}
