package webhooks_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/identityd/identityd/audit"
	"github.com/identityd/identityd/jobs"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
	"github.com/identityd/identityd/webhooks"
)

func TestAFlakyReceiverGetsEachEventOnceSignedWithAStableIDAfterRetries(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		cfg := fastConfig()
		cfg.MaxAttempts = 5
		e := newEnv(t, db, cfg)
		rc := newReceiver(t, 2) // 500, 500, then 204
		sub, secret := e.create(t, rc.url(), "admin.token.*")
		e.record(t, audit.AdminTokenCreated("tok1", "ci", time.Now()), audit.AdminTokenRevoked("tok1", "ci"))
		e.seal(t)
		e.start(t)
		waitFor(t, "both deliveries to finish", 20*time.Second, func() bool { return e.allDone(t, sub.ID, 2) })
		time.Sleep(300 * time.Millisecond) // room for a stray extra attempt to show

		ds := e.deliveries(t, sub.ID)
		accepted := rc.acceptedIDs()
		if len(accepted) != 2 {
			t.Fatalf("accepted webhook-ids %v, want the two deliveries", accepted)
		}
		sealed := map[string]audit.Event{}
		for _, ev := range e.sealedEvents() {
			sealed[ev.ID] = ev
		}
		for _, d := range ds {
			if d.Status != webhooks.StatusSucceeded || d.Attempts != 3 || d.LastStatusCode == nil ||
				*d.LastStatusCode != http.StatusNoContent || d.LastError != "" || d.DeliveredAt == nil || d.LastAttemptAt == nil {
				t.Errorf("delivery log: %+v, want succeeded after 3 attempts", d)
			}
			if accepted[d.ID] != 1 {
				t.Errorf("delivery %s accepted %d times, want once", d.ID, accepted[d.ID])
			}
			var attempts []request
			for _, r := range rc.got() {
				if r.id == d.ID {
					attempts = append(attempts, r)
				}
			}
			if len(attempts) != 3 {
				t.Fatalf("receiver saw webhook-id %s %d times, want 3 (the same id on every retry)", d.ID, len(attempts))
			}
			for i, r := range attempts {
				if !verifyStandardWebhook(secret, r) {
					t.Errorf("attempt %d of %s: signature %q does not verify", i+1, d.ID, r.signature)
				}
				if !bytes.Equal(r.body, attempts[0].body) {
					t.Errorf("attempt %d sent other bytes than the first", i+1)
				}
				if r.header.Get("Content-Type") != "application/json" || r.header.Get("User-Agent") != "identityd-webhooks" {
					t.Errorf("headers: %v", r.header)
				}
			}
			// Backoff: RetryBase (50ms) before the second attempt, twice that before the
			// third, each within 10% jitter.
			if gap := attempts[1].at.Sub(attempts[0].at); gap < 45*time.Millisecond {
				t.Errorf("second attempt %v after the first, want at least 45ms", gap)
			}
			if gap := attempts[2].at.Sub(attempts[1].at); gap < 90*time.Millisecond {
				t.Errorf("third attempt %v after the second, want at least 90ms", gap)
			}

			var body struct {
				Type      string          `json:"type"`
				Timestamp time.Time       `json:"timestamp"`
				Data      json.RawMessage `json:"data"`
			}
			if err := json.Unmarshal(attempts[0].body, &body); err != nil {
				t.Fatalf("payload %s: %v", attempts[0].body, err)
			}
			var data audit.Event
			if err := json.Unmarshal(body.Data, &data); err != nil {
				t.Fatal(err)
			}
			ev, ok := sealed[d.EventID]
			if !ok || data.ID != ev.ID || body.Type != ev.Type || d.EventType != ev.Type || !body.Timestamp.Equal(ev.Time) ||
				data.Seq != ev.Seq || data.Seq == 0 || data.Target != ev.Target {
				t.Errorf("payload %s does not describe sealed event %+v", attempts[0].body, ev)
			}
		}
	})
}

func TestRotatingTheSecretChangesTheSignature(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db, fastConfig())
		rc := newReceiver(t, 0)
		sub, old := e.create(t, rc.url(), "admin.token.created")
		e.start(t)
		e.record(t, audit.AdminTokenCreated("before", "n", time.Now()))
		e.seal(t)
		waitFor(t, "the first delivery", 20*time.Second, func() bool { return e.allDone(t, sub.ID, 1) })
		rotated, err := e.svc.RotateSecret(ctx, sub.ID)
		if err != nil {
			t.Fatal(err)
		}
		e.record(t, audit.AdminTokenCreated("after", "n", time.Now()))
		e.seal(t)
		waitFor(t, "the second delivery", 20*time.Second, func() bool { return e.allDone(t, sub.ID, 2) })
		got := rc.got()
		if len(got) != 2 {
			t.Fatalf("receiver got %d requests, want 2", len(got))
		}
		if !verifyStandardWebhook(old, got[0]) || verifyStandardWebhook(rotated, got[0]) {
			t.Error("the delivery before rotation is not signed with the old secret only")
		}
		if !verifyStandardWebhook(rotated, got[1]) || verifyStandardWebhook(old, got[1]) {
			t.Error("the delivery after rotation is not signed with the new secret only")
		}
	})
}

func TestADeadReceiverIsRetriedThenFailedWithoutHoldingUpAnythingElse(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		cfg := fastConfig()
		cfg.MaxAttempts = 3
		cfg.Timeout = 1500 * time.Millisecond
		e := newEnv(t, db, cfg)

		release := make(chan struct{})
		var deadCalls atomic.Int32
		dead := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			deadCalls.Add(1)
			<-release // never answers while the test runs
		}))
		t.Cleanup(dead.Close)
		t.Cleanup(func() { close(release) }) // runs first: lets dead.Close finish
		healthy := newReceiver(t, 0)

		deadSub, _ := e.create(t, dead.URL+"/hook", "admin.token.*")
		okSub, secret := e.create(t, healthy.url(), "admin.token.*")
		e.start(t)

		for i, id := range []string{"t1", "t2"} {
			e.record(t, audit.AdminTokenCreated(id, "n", time.Now()))
			e.seal(t)
			sealedAt := time.Now()
			waitFor(t, "the healthy receiver's delivery", 10*time.Second, func() bool { return len(healthy.acceptedIDs()) == i+1 })
			// Waiting behind one of the dead receiver's attempts would take its timeout.
			if took := time.Since(sealedAt); took >= cfg.Timeout {
				t.Errorf("healthy delivery took %v behind a dead receiver", took)
			}
		}
		// The dead receiver's first delivery is still being retried meanwhile.
		first := e.deliveries(t, deadSub.ID)
		if len(first) != 2 || first[1].Status != webhooks.StatusPending {
			t.Fatalf("dead receiver's deliveries while the healthy ones arrived: %+v, want still pending", first)
		}
		// Recording is not slowed by a delivery hanging on a receiver.
		ctx := context.Background()
		for range 3 {
			start := time.Now()
			if err := db.Tx(ctx, func(tx *store.Tx) error { return e.log.Record(ctx, tx, audit.SystemStopped()) }); err != nil {
				t.Fatal(err)
			}
			if took := time.Since(start); took > 400*time.Millisecond {
				t.Errorf("recording an event took %v while a receiver hung", took)
			}
			time.Sleep(100 * time.Millisecond)
		}

		waitFor(t, "the dead receiver's deliveries to fail", 30*time.Second, func() bool { return e.allDone(t, deadSub.ID, 2) })
		for _, d := range e.deliveries(t, deadSub.ID) {
			if d.Status != webhooks.StatusFailed || d.Attempts != 3 || d.LastStatusCode != nil ||
				!strings.Contains(d.LastError, "timed out") || d.DeliveredAt != nil {
				t.Errorf("dead delivery: %+v, want failed after 3 timed-out attempts", d)
			}
		}
		if n := deadCalls.Load(); n != 6 {
			t.Errorf("dead receiver was called %d times, want 3 attempts × 2 deliveries", n)
		}
		for _, r := range healthy.got() {
			if !verifyStandardWebhook(secret, r) {
				t.Error("healthy delivery signature does not verify")
			}
		}
		if ds := e.deliveries(t, okSub.ID); len(ds) != 2 || ds[0].Attempts != 1 || ds[1].Attempts != 1 {
			t.Errorf("healthy deliveries: %+v", ds)
		}
	})
}

func TestFiltersDisabledSubscriptionsAndRepeatedDispatchDeliverEachEventOnce(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db, fastConfig())
		tokens, started, off := newReceiver(t, 0), newReceiver(t, 0), newReceiver(t, 0)
		tokenSub, _ := e.create(t, tokens.url(), "admin.token.*")
		startedSub, _ := e.create(t, started.url(), "system.started")
		offSub, _ := e.create(t, off.url(), "*")
		if _, err := e.svc.Update(ctx, offSub.ID, webhooks.Update{Enabled: ptr(false)}); err != nil {
			t.Fatal(err)
		}
		e.record(t, audit.AdminTokenCreated("a", "n", time.Now()), audit.SystemStarted("1.0", nil),
			audit.AdminTokenRevoked("a", "n"), audit.SystemStopped())
		e.seal(t)
		e.start(t)
		waitFor(t, "the deliveries", 20*time.Second, func() bool {
			return e.allDone(t, tokenSub.ID, 2) && e.allDone(t, startedSub.ID, 1)
		})

		// The sealer hands the same events to Dispatch again (a retried sealing
		// transaction, say): nothing new is queued.
		again := e.sealedEvents()
		if err := db.Tx(ctx, func(tx *store.Tx) error { return e.svc.Dispatch(ctx, tx, e.q, again) }); err != nil {
			t.Fatal(err)
		}
		time.Sleep(500 * time.Millisecond)

		types := func(rc *receiver) []string {
			var out []string
			for _, r := range rc.got() {
				var p struct{ Type string }
				_ = json.Unmarshal(r.body, &p)
				out = append(out, p.Type)
			}
			slices.Sort(out)
			return out
		}
		if got := types(tokens); !slices.Equal(got, []string{audit.TypeAdminTokenCreated, audit.TypeAdminTokenRevoked}) {
			t.Errorf("admin.token.* got %v", got)
		}
		if got := types(started); !slices.Equal(got, []string{audit.TypeSystemStarted}) {
			t.Errorf("system.started got %v", got)
		}
		if got := off.got(); len(got) != 0 {
			t.Errorf("a disabled subscription got %d requests", len(got))
		}
		if ds := e.deliveries(t, offSub.ID); len(ds) != 0 {
			t.Errorf("a disabled subscription has deliveries: %+v", ds)
		}
		if n := len(e.deliveries(t, tokenSub.ID)); n != 2 {
			t.Errorf("admin.token.* has %d deliveries after a second dispatch, want 2", n)
		}
		for id, n := range tokens.acceptedIDs() {
			if n != 1 {
				t.Errorf("delivery %s accepted %d times", id, n)
			}
		}
	})
}

func TestADeliveryWhoseSubscriptionWasDisabledOrDeletedIsNotSent(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db, fastConfig())
		disabled, deleted := newReceiver(t, 0), newReceiver(t, 0)
		disabledSub, _ := e.create(t, disabled.url(), "admin.token.*")
		deletedSub, _ := e.create(t, deleted.url(), "admin.token.*")
		e.record(t, audit.AdminTokenCreated("a", "n", time.Now()))
		e.seal(t) // dispatched to both, not sent yet
		if _, err := e.svc.Update(ctx, disabledSub.ID, webhooks.Update{Enabled: ptr(false)}); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.Delete(ctx, deletedSub.ID); err != nil {
			t.Fatal(err)
		}
		e.start(t)
		waitFor(t, "the disabled subscription's delivery to fail", 20*time.Second, func() bool { return e.allDone(t, disabledSub.ID, 1) })
		d := e.deliveries(t, disabledSub.ID)[0]
		if d.Status != webhooks.StatusFailed || d.LastError != "subscription disabled" || d.Attempts != 0 {
			t.Errorf("delivery to a disabled subscription: %+v", d)
		}
		waitFor(t, "both jobs to complete", 20*time.Second, func() bool {
			list, err := e.q.List(ctx, jobs.ListParams{Kind: webhooks.DeliverArgs{}.Kind()})
			if err != nil {
				t.Fatal(err)
			}
			for _, j := range list {
				if j.State != "completed" {
					return false
				}
			}
			return len(list) == 2
		})
		if n := len(disabled.got()) + len(deleted.got()); n != 0 {
			t.Errorf("%d requests went to disabled or deleted subscriptions", n)
		}
	})
}

func TestWithoutPrivateNetworksANameResolvingToLoopbackIsRefusedAtDialTime(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		strictCfg := fastConfig()
		strictCfg.AllowPrivateNetworks = false
		strictCfg.MaxAttempts = 2
		e := newEnv(t, db, strictCfg)

		var conns atomic.Int32
		rc := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
		rc.Config.ConnState = func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				conns.Add(1)
			}
		}
		rc.Start()
		t.Cleanup(rc.Close)
		_, port, _ := net.SplitHostPort(rc.Listener.Addr().String())

		// localhost is refused when the subscription is made…
		target := "http://localhost:" + port + "/hook"
		if _, _, err := e.svc.Create(ctx, target, []string{"*"}); !isValidation(err, "url") {
			t.Fatalf("create to localhost: %v, want a url ValidationError", err)
		}
		// …and a name that resolves to loopback (made while private networks were
		// allowed, or re-pointed in DNS later) is refused when a delivery dials it.
		lax := webhooks.New(db, e.kr, e.log, webhooks.Config{AllowPrivateNetworks: true}, time.Now)
		sub, _, err := lax.Create(ctx, target, []string{"admin.token.*"})
		if err != nil {
			t.Fatal(err)
		}
		e.record(t, audit.AdminTokenCreated("a", "n", time.Now()))
		e.seal(t)
		e.start(t)
		waitFor(t, "the delivery to fail", 20*time.Second, func() bool { return e.allDone(t, sub.ID, 1) })
		d := e.deliveries(t, sub.ID)[0]
		if d.Status != webhooks.StatusFailed || d.Attempts != 2 || d.LastStatusCode != nil ||
			!strings.Contains(d.LastError, "not a public address") {
			t.Errorf("delivery to loopback: %+v, want failed, refused as non-public", d)
		}
		if n := conns.Load(); n != 0 {
			t.Errorf("%d connections reached the loopback receiver", n)
		}
	})
}

func TestRedirectsAreNotFollowed(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		cfg := fastConfig()
		cfg.MaxAttempts = 2
		e := newEnv(t, db, cfg)
		elsewhere := newReceiver(t, 0)
		redirector := newAnsweringReceiver(t, 0, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, elsewhere.url(), http.StatusTemporaryRedirect)
		})
		sub, _ := e.create(t, redirector.url(), "admin.token.*")
		e.record(t, audit.AdminTokenCreated("a", "n", time.Now()))
		e.seal(t)
		e.start(t)
		waitFor(t, "the delivery to fail", 20*time.Second, func() bool { return e.allDone(t, sub.ID, 1) })
		d := e.deliveries(t, sub.ID)[0]
		if d.Status != webhooks.StatusFailed || d.LastStatusCode == nil || *d.LastStatusCode != http.StatusTemporaryRedirect ||
			!strings.Contains(d.LastError, "redirect") {
			t.Errorf("delivery answered by a redirect: %+v, want failed with 307", d)
		}
		if n := len(redirector.got()); n != 2 {
			t.Errorf("redirector got %d attempts, want 2", n)
		}
		if n := len(elsewhere.got()); n != 0 {
			t.Errorf("the redirect target got %d requests", n)
		}
	})
}
