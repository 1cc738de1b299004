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

// BenchmarkAuditOverhead measures what recording an event adds to a transaction that
// creates an admin token, with a sealer draining the pending events as a server's does.
// The plain and the recording transaction alternate in one loop, so that drift in the
// machine's load or its disk's flush times — and the sealer's work — hits both alike; it
// reports each one's mean time and the overhead as a percentage.
func BenchmarkAuditOverhead(b *testing.B) {
	eachBackend(b, func(b *testing.B, db *store.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		l, _ := newLog(b, db)
		if err := l.Prepare(ctx); err != nil {
			b.Fatal(err)
		}
		go audit.NewSealer(l, nil, audit.SealerConfig{}).Run(ctx)
		ev := audit.AdminTokenCreated("bench", "bench", time.Now())
		var plain, recorded time.Duration
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			start := time.Now()
			var err error
			if i%2 == 0 {
				err = db.Tx(ctx, func(tx *store.Tx) error { return insertToken(ctx, tx) })
				plain += time.Since(start)
			} else {
				err = db.Tx(ctx, func(tx *store.Tx) error {
					if err := insertToken(ctx, tx); err != nil {
						return err
					}
					return l.Record(ctx, tx, ev)
				})
				recorded += time.Since(start)
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		n := float64(b.N / 2)
		if n == 0 {
			return
		}
		b.ReportMetric(float64(plain.Nanoseconds())/n, "tx-ns")
		b.ReportMetric(float64(recorded.Nanoseconds())/n, "tx+event-ns")
		b.ReportMetric(100*(float64(recorded)/float64(plain)-1), "overhead-%")
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

// BenchmarkBatchedRecording records events from 64 goroutines through a Batcher, which
// commits them in groups, and reports events per second; compare with
// BenchmarkConcurrentRecording/unsealed, a transaction per event.
func BenchmarkBatchedRecording(b *testing.B) {
	eachBackend(b, func(b *testing.B, db *store.DB) {
		ctx := context.Background()
		l, _ := newLog(b, db)
		if err := l.Prepare(ctx); err != nil {
			b.Fatal(err)
		}
		batcher := audit.NewBatcher(l)
		ev := audit.AdminTokenCreated("bench", "bench", time.Now())
		b.SetParallelism(32)
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := batcher.Record(ctx, ev); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
	})
}
