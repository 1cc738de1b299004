package clients_test

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"testing"
	"time"

	"github.com/identityd/identityd/audit/audittest"
	"github.com/identityd/identityd/clients"
	"github.com/identityd/identityd/store/storetest"
)

// benchService is a Service on the real clock with one client, already cached: the
// benchmarks measure the cached path the token endpoint takes, which never reaches the
// database (on SQLite it rereads the client once every SQLiteCacheTTL, a second).
func benchService(b *testing.B) (*clients.Service, clients.Client, string) {
	b.Helper()
	db := storetest.SQLite(b)
	svc := clients.New(db, audittest.NewLog(b, db), time.Now, clients.Config{})
	c, secret, err := svc.Create(context.Background(), webApp())
	if err != nil {
		b.Fatal(err)
	}
	if _, err := svc.Lookup(context.Background(), c.ID); err != nil {
		b.Fatal(err)
	}
	return svc, c, secret
}

func BenchmarkLookup(b *testing.B) {
	svc, c, _ := benchService(b)
	ctx := context.Background()
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := svc.Lookup(ctx, c.ID); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := svc.Lookup(ctx, c.ID); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}

// BenchmarkVerifySecret compares checking a secret through the Service with the raw
// cost of its crypto, a SHA-256 and a constant-time compare, in the same run.
func BenchmarkVerifySecret(b *testing.B) {
	svc, c, secret := benchService(b)
	ctx := context.Background()
	want := sha256.Sum256([]byte(secret))
	b.Run("sha256", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			got := sha256.Sum256([]byte(secret))
			if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
				b.Fatal("no match")
			}
		}
	})
	b.Run("verify", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := svc.VerifySecret(ctx, c.ID, secret); err != nil {
				b.Fatal(err)
			}
		}
	})
}
