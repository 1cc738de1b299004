package sessions_test

import (
	"context"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/identityd/identityd/sessions"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
)

// BenchmarkLookup measures what every request with a session cookie pays: Lookup of a
// live session, which TouchEvery keeps from writing. Beside it, in alternate
// iterations so that drift in the machine's load hits both alike, runs the floor that
// cost stands on: hashing the token and reading the same columns of its row by the hash
// index. It reports each one's mean time and what Lookup adds to the floor (checking
// the form, comparing, decoding the methods, deciding liveness) as a percentage.
func BenchmarkLookup(b *testing.B) {
	for _, backend := range []struct {
		name string
		open func(testing.TB) *store.DB
	}{{"sqlite", storetest.SQLite}, {"postgres", storetest.FreshPostgres}} {
		b.Run(backend.name, func(b *testing.B) {
			db := backend.open(b)
			f := newFixture(b, db, sessions.Config{})
			ctx := context.Background()
			uid := f.newUser(b)
			// A user with a few sessions, as the index will hold many.
			for range 10 {
				f.establish(b, "", uid, false)
			}
			tok, _ := f.establish(b, "", uid, false)
			var lookup, floor time.Duration
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				start := time.Now()
				if i%2 == 0 {
					if _, err := f.svc.Lookup(ctx, tok); err != nil {
						b.Fatal(err)
					}
					lookup += time.Since(start)
					continue
				}
				hash := sha256.Sum256([]byte(tok))
				var (
					id, user, ip, ua, amr, acr       string
					created, seen, expires, authTime time.Time
					remember                         bool
					stored                           []byte
				)
				if err := db.QueryRow(ctx, `SELECT id, user_id, created_at, last_seen_at, expires_at, remember, ip, user_agent,
					amr, acr, auth_time, token_hash FROM sessions WHERE token_hash = $1`, hash[:]).Scan(&id, &user, &created,
					&seen, &expires, &remember, &ip, &ua, &amr, &acr, &authTime, &stored); err != nil {
					b.Fatal(err)
				}
				floor += time.Since(start)
			}
			if n := b.N / 2; n > 0 {
				l, fl := lookup/time.Duration(b.N-n), floor/time.Duration(n)
				b.ReportMetric(float64(l.Nanoseconds()), "lookup-ns")
				b.ReportMetric(float64(fl.Nanoseconds()), "floor-ns")
				b.ReportMetric(100*(float64(l)/float64(fl)-1), "overhead-%")
			}
		})
	}
}
