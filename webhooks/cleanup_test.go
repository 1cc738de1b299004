package webhooks_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/identityd/identityd/audit"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
	"github.com/identityd/identityd/webhooks"
)

// TestCleanupEndsAbandonedDeliveriesThenDeletesThemWithTheOldLog is a delivery whose last
// attempt a crash cut short: River gives its job up and nothing would ever finish it.
// The cleanup marks such a delivery failed, and only once no attempt of it can still be
// due; it deletes finished deliveries after DeliveryRetention.
func TestCleanupEndsAbandonedDeliveriesThenDeletesThemWithTheOldLog(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db, webhooks.Config{AllowPrivateNetworks: true})
		sub, _ := e.create(t, "https://hooks.example.com/identityd", "admin.token.*")
		// Dispatched but never worked: the queue does not run here.
		e.record(t, audit.AdminTokenCreated("tok1", "ci", time.Now()), audit.AdminTokenRevoked("tok1", "ci"))
		e.seal(t)
		if ds := e.deliveries(t, sub.ID); len(ds) != 2 || ds[0].Status != webhooks.StatusPending {
			t.Fatalf("deliveries before the cleanup: %+v", ds)
		}
		cleanupAt := func(later time.Duration) {
			t.Helper()
			s := webhooks.New(db, e.kr, e.log, webhooks.Config{AllowPrivateNetworks: true}, func() time.Time { return time.Now().Add(later) })
			if err := webhooks.CleanupTask(s).Run(ctx); err != nil {
				t.Fatalf("cleanup %s later: %v", later, err)
			}
		}

		// Within the default schedule (10 attempts, retries up to an hour apart) a
		// delivery may still be pending for good reason.
		cleanupAt(12 * time.Hour)
		for _, d := range e.deliveries(t, sub.ID) {
			if d.Status != webhooks.StatusPending {
				t.Fatalf("after 12 hours: %+v, want it still pending", d)
			}
		}
		cleanupAt(3 * 24 * time.Hour)
		ds := e.deliveries(t, sub.ID)
		for _, d := range ds {
			if d.Status != webhooks.StatusFailed || !strings.Contains(d.LastError, "abandoned") {
				t.Fatalf("after 3 days: %+v, want it failed as abandoned", d)
			}
		}
		if len(ds) != 2 {
			t.Fatalf("after 3 days: %d deliveries, want both kept", len(ds))
		}
		cleanupAt(webhooks.DeliveryRetention + time.Hour)
		if ds := e.deliveries(t, sub.ID); len(ds) != 0 {
			t.Fatalf("after the retention: %+v, want none", ds)
		}
	})
}
