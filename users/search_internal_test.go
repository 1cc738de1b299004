package users

import (
	"context"
	"strings"
	"testing"

	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
)

// A search's substring match is answered from the trigram index on both backends, not
// by reading every user: the plan of the very query search runs names the index.
func TestSearchUsesTheTrigramIndex(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		query, args, err := searchQuery(db.Dialect(), ` WHERE 1 = 1`, nil, "lovelace", Filter{Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		err = db.ReadTx(ctx, func(tx *store.Tx) error {
			explain := `EXPLAIN QUERY PLAN `
			if db.Dialect() == store.Postgres {
				// On a table this small a sequential scan is cheaper, and the planner
				// would rightly choose it; forbidding it shows the index can serve.
				if _, err := tx.Exec(ctx, `SET LOCAL enable_seqscan = off`); err != nil {
					return err
				}
				explain = `EXPLAIN `
			}
			rows, err := tx.Query(ctx, explain+query, args...)
			if err != nil {
				return err
			}
			for rows.Next() {
				cols := []any{new(any), new(any), new(any), new(any)}
				if db.Dialect() == store.Postgres {
					cols = cols[:1]
				}
				if err := rows.Scan(cols...); err != nil {
					return err
				}
				for _, c := range cols {
					if v, ok := (*c.(*any)).(string); ok {
						plan = append(plan, v)
					}
				}
			}
			rows.Close()
			return rows.Err()
		})
		if err != nil {
			t.Fatal(err)
		}
		text := strings.Join(plan, "\n")
		want := "users_search"
		if db.Dialect() == store.SQLite {
			want = "VIRTUAL TABLE INDEX"
		}
		if !strings.Contains(text, want) {
			t.Errorf("the search's plan does not use the trigram index (%s):\n%s", want, text)
		}
	})
}
