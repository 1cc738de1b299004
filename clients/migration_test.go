package clients_test

import (
	"context"
	"testing"

	"github.com/identityd/identityd/clients"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
)

func TestTheClientsMigrationGoesDownAndUpAgain(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		m, err := store.NewMigrator(db)
		if err != nil {
			t.Fatal(err)
		}
		tables := func() int {
			q := `SELECT count(*) FROM information_schema.tables WHERE table_name = 'oauth_clients'`
			if db.Dialect() == store.SQLite {
				q = `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'oauth_clients'`
			}
			var n int
			if err := db.QueryRow(ctx, q).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		if tables() != 1 {
			t.Fatal("no oauth_clients table after up")
		}
		if _, err := m.DownTo(ctx, 7); err != nil {
			t.Fatalf("down to 7: %v", err)
		}
		if tables() != 0 {
			t.Fatal("oauth_clients is still there after down")
		}
		if _, err := m.Up(ctx); err != nil {
			t.Fatalf("up again: %v", err)
		}
		if tables() != 1 {
			t.Fatal("no oauth_clients table after up again")
		}
	})
}

// TestTheTableRefusesASecretForAClientThatCannotUseOne checks the schema's own guard:
// whatever code writes, a public or private_key_jwt client never has a secret hash.
func TestTheTableRefusesASecretForAClientThatCannotUseOne(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db, clients.Config{})
		pub, _ := f.create(t, nativeApp())
		key, _ := f.create(t, keyJWTApp(goodJWKS(t)))
		hash := make([]byte, 32)
		for _, id := range []string{pub.ID, key.ID} {
			if _, err := db.Exec(ctx, `UPDATE oauth_clients SET secret_hash = $1 WHERE id = $2`, hash, id); err == nil {
				t.Errorf("client %s took a secret hash", id)
			}
		}
		if _, err := db.Exec(ctx, `UPDATE oauth_clients SET public = $1 WHERE id = $2`, false, pub.ID); err == nil {
			t.Error("a public client became confidential with method none")
		}
	})
}
