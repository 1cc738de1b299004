package passwords_test

import (
	"context"
	"strings"
	"testing"

	"github.com/identityd/identityd/passwords"
)

// Hashing with the default parameters: what one sign-up or rehash costs.
func BenchmarkHash(b *testing.B) {
	h := newHasher(b, passwords.Config{Params: passwords.DefaultParams()})
	ctx := context.Background()
	for b.Loop() {
		if _, err := h.Hash(ctx, staple); err != nil {
			b.Fatal(err)
		}
	}
}

// One successful verification of a current hash with the default parameters: the raw
// rate that the sign-in benchmarks of other packages are compared to.
func BenchmarkVerifyArgon2id(b *testing.B) {
	h := newHasher(b, passwords.Config{Params: passwords.DefaultParams()})
	ctx := context.Background()
	encoded, err := h.Hash(ctx, staple)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if res, err := h.Verify(ctx, staple, encoded); err != nil || !res.OK {
			b.Fatal(res, err)
		}
	}
}

// The unknown-user path; it should cost what BenchmarkVerifyArgon2id costs.
func BenchmarkVerifyDummy(b *testing.B) {
	h := newHasher(b, passwords.Config{Params: passwords.DefaultParams()})
	ctx := context.Background()
	for b.Loop() {
		if err := h.VerifyDummy(ctx, staple); err != nil {
			b.Fatal(err)
		}
	}
}

// Policy checks that pass every stage, so zxcvbn runs: on a typical password, on
// exactly the 100 runes zxcvbn is limited to, and on a 1 KiB passphrase of which
// zxcvbn sees the first 100.
func BenchmarkPolicyCheck(b *testing.B) {
	const sentence = "the quick brown fox jumps over the lazy dog while seven wizards quietly hex the jovial zebra "
	for _, bc := range []struct{ name, password string }{
		{"12 runes", "kx8#Lm2@vQ-z"},
		{"100 runes", (sentence + sentence)[:100]},
		{"1024 bytes", strings.Repeat(sentence, 12)[:1024]},
	} {
		b.Run(bc.name, func(b *testing.B) {
			p := passwords.DefaultPolicy()
			if err := p.Check(bc.password, "jdoe42@example.com", "Jane Doe"); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				_ = p.Check(bc.password, "jdoe42@example.com", "Jane Doe")
			}
		})
	}
}
