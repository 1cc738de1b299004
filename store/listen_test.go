package store_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
)

// A listener hears what is announced on its channel, catches up in full whenever it
// starts listening, and after its connection is cut it reconnects by itself and catches
// up again; a handler's failure also makes it start over. On SQLite it returns at once.
func TestListenHearsNotificationsAndCatchesUpAfterALostConnection(t *testing.T) {
	base := storetest.FreshPostgresURL(t)
	p := storetest.NewProxy(t, storetest.PostgresAddr(t, base))
	db, err := store.Open(context.Background(), storetest.PostgresURLVia(t, base, p), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	announcer := storetest.Open(t, base) // not through the proxy
	ctx, cancel := context.WithCancel(context.Background())
	var synced, idled atomic.Int32
	heard := make(chan string, 10)
	done := make(chan struct{})
	go func() {
		defer close(done)
		db.Listen(ctx, store.Subscription{Channel: "test channel", Idle: 200 * time.Millisecond,
			Synced: func(context.Context) error { synced.Add(1); return nil },
			OnIdle: func(context.Context) error { idled.Add(1); return nil },
			Notified: func(_ context.Context, payload string) error {
				heard <- payload
				if payload == "fail" {
					return errors.New("the handler fails")
				}
				return nil
			}})
	}()
	waitUntil := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(15 * time.Second); !ok(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}
	// Announces until the listener hears it: an announcement made before LISTEN took
	// effect is missed, which is what Synced is for.
	announce := func(payload string) {
		t.Helper()
		for deadline := time.Now().Add(15 * time.Second); ; {
			if _, err := announcer.Exec(context.Background(), `SELECT pg_notify($1, $2)`, "test channel", payload); err != nil {
				t.Fatal(err)
			}
			select {
			case got := <-heard:
				if got != payload {
					t.Fatalf("heard %q, want %q", got, payload)
				}
				return
			case <-time.After(200 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				t.Fatalf("%q was never heard", payload)
			}
		}
	}

	waitUntil("the first catch-up", func() bool { return synced.Load() == 1 })
	announce("one")
	waitUntil("a quiet connection to be checked", func() bool { return idled.Load() > 0 })

	p.Cut()
	time.Sleep(300 * time.Millisecond)
	p.Restore()
	waitUntil("a catch-up after the cut", func() bool { return synced.Load() == 2 })
	announce("two")

	announce("fail")
	waitUntil("a catch-up after the handler failed", func() bool { return synced.Load() == 3 })
	announce("three")

	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Listen did not return when its context ended")
	}

	sqlite := storetest.SQLite(t)
	returned := make(chan struct{})
	go func() {
		sqlite.Listen(context.Background(), store.Subscription{Channel: "x"})
		close(returned)
	}()
	select {
	case <-returned:
	case <-time.After(5 * time.Second):
		t.Fatal("Listen on SQLite did not return at once")
	}
}
