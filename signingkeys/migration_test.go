package signingkeys_test

import (
	"context"
	"testing"

	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
)

func TestTheSigningKeysMigrationGoesDownAndUpAgain(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		m, err := store.NewMigrator(db)
		if err != nil {
			t.Fatal(err)
		}
		exists := func() bool {
			q := `SELECT count(*) FROM information_schema.tables WHERE table_name = 'signing_keys'`
			if db.Dialect() == store.SQLite {
				q = `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'signing_keys'`
			}
			var n int
			if err := db.QueryRow(ctx, q).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n == 1
		}
		if !exists() {
			t.Fatal("no signing_keys table after up")
		}
		if _, err := m.DownTo(ctx, 8); err != nil {
			t.Fatalf("down to 8: %v", err)
		}
		if exists() {
			t.Fatal("signing_keys is still there after down")
		}
		if _, err := m.Up(ctx); err != nil {
			t.Fatalf("up again: %v", err)
		}
		if !exists() {
			t.Fatal("no signing_keys table after up again")
		}
	})
}
