package audit_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/identityd/identityd/audit"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
)

// eachBackend runs a benchmark on SQLite and on PostgreSQL (a database of its own).
func eachBackend(b *testing.B, fn func(b *testing.B, db *store.DB)) {
	b.Run("sqlite", func(b *testing.B) { fn(b, storetest.SQLite(b)) })
	b.Run("postgres", func(b *testing.B) { fn(b, storetest.FreshPostgres(b)) })
}

// insertToken is the change the benchmark transaction makes: what creating an admin token
// writes.
func insertToken(ctx context.Context, tx *store.Tx) error {
	var raw [32]byte
	_, _ = rand.Read(raw[:])
	hash := sha256.Sum256(raw[:])
	now := time.Now().UTC()
	_, err := tx.Exec(ctx, `INSERT INTO admin_tokens (id, name, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
		fmt.Sprintf("%x", raw[:10]), "bench", hash[:], now, now.Add(time.Hour))
	return err
}

// BenchmarkTransaction is the baseline: a transaction that creates an admin token.
func BenchmarkTransaction(b *testing.B) {
	eachBackend(b, func(b *testing.B, db *store.DB) {
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			if err := db.Tx(ctx, func(tx *store.Tx) error { return insertToken(ctx, tx) }); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkTransactionWithAuditEvent is the same transaction recording its audit event:
// the difference to BenchmarkTransaction is what recording costs.
func BenchmarkTransactionWithAuditEvent(b *testing.B) {
	eachBackend(b, func(b *testing.B, db *store.DB) {
		ctx := context.Background()
		l, _ := newLog(b, db)
		ev := audit.AdminTokenCreated("bench", "bench", time.Now())
		b.ReportAllocs()
		for b.Loop() {
			err := db.Tx(ctx, func(tx *store.Tx) error {
				if err := insertToken(ctx, tx); err != nil {
					return err
				}
				return l.Record(ctx, tx, ev)
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkConcurrentRecording records events from 64 goroutines, each in its own
// transaction, and reports events per second — without a sealer, and with one sealing
// them as they come.
func BenchmarkConcurrentRecording(b *testing.B) {
	for _, sealing := range []bool{false, true} {
		name := "unsealed"
		if sealing {
			name = "sealing"
		}
		b.Run(name, func(b *testing.B) {
			eachBackend(b, func(b *testing.B, db *store.DB) {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				l, _ := newLog(b, db)
				if sealing {
					go audit.NewSealer(l, nil, audit.SealerConfig{Interval: 10 * time.Millisecond}).Run(ctx)
				}
				ev := audit.AdminTokenCreated("bench", "bench", time.Now())
				b.SetParallelism(32) // 64 writers on 2 cores
				start := time.Now()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if err := l.RecordNow(ctx, ev); err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
			})
		})
	}
}
