package webhooks_test

import (
	"context"
	"testing"

	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
)

func TestTheWebhooksMigrationGoesDownAndUpAgain(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		m, err := store.NewMigrator(db)
		if err != nil {
			t.Fatal(err)
		}
		count := func() int {
			var n int
			q := `SELECT count(*) FROM information_schema.tables WHERE table_name IN ('webhook_subscriptions', 'webhook_deliveries')`
			if db.Dialect() == store.SQLite {
				q = `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('webhook_subscriptions', 'webhook_deliveries')`
			}
			if err := db.QueryRow(ctx, q).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		if n := count(); n != 2 {
			t.Fatalf("%d webhook tables after up, want 2", n)
		}
		if _, err := m.DownTo(ctx, 3); err != nil {
			t.Fatalf("down to 3: %v", err)
		}
		if n := count(); n != 0 {
			t.Fatalf("%d webhook tables after down, want none", n)
		}
		if _, err := m.Up(ctx); err != nil {
			t.Fatalf("up again: %v", err)
		}
		if n := count(); n != 2 {
			t.Fatalf("%d webhook tables after up again, want 2", n)
		}
	})
}
