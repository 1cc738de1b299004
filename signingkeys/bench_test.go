package signingkeys_test

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/identityd/identityd/signingkeys"
	"github.com/identityd/identityd/store/storetest"
)

// benchService is a service with a current ES256 key, on the real clock.
func benchService(b *testing.B) *signingkeys.Service {
	b.Helper()
	db := storetest.SQLite(b)
	s := newService(b, db, time.Now, esOnly(), nil)
	maintain(b, s)
	return s
}

// BenchmarkSigning is the lookup a token issue makes before it signs.
func BenchmarkSigning(b *testing.B) {
	s := benchService(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := s.Signing(signingkeys.ES256); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSignES256 is the signature itself, with the signer Signing returns: the raw
// cost the lookup is measured against.
func BenchmarkSignES256(b *testing.B) {
	s := benchService(b)
	_, signer, err := s.Signing(signingkeys.ES256)
	if err != nil {
		b.Fatal(err)
	}
	digest := sha256.Sum256([]byte("header.payload"))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := signer.Sign(rand.Reader, digest[:], crypto.SHA256); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerification is the lookup every token verification makes by kid.
func BenchmarkVerification(b *testing.B) {
	s := benchService(b)
	k, _, err := s.Signing(signingkeys.ES256)
	if err != nil {
		b.Fatal(err)
	}
	kid := k.ID
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Verification(kid); err != nil {
			b.Fatal(err)
		}
	}
}
