package passwords_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/identityd/identityd/passwords"
)

// seedHashes are every hash the other tests use: good, hostile and malformed.
func seedHashes() []string {
	var seeds []string
	for _, v := range vectors {
		seeds = append(seeds, v.encoded)
	}
	for _, h := range hostile {
		seeds = append(seeds, h.encoded)
	}
	for _, m := range malformed {
		seeds = append(seeds, m.encoded)
	}
	return seeds
}

// fuzzLimits are tight enough that any hash they admit derives in milliseconds, so
// the fuzzer can run Verify on everything it finds; the cheap parameters fit in them.
var fuzzLimits = passwords.Limits{
	Argon2MaxMemory:     7168,
	Argon2MaxWork:       7168,
	Argon2MaxThreads:    4,
	BcryptMaxCost:       5,
	PBKDF2MaxIterations: 2000,
	ScryptMaxMemory:     1 << 20,
	ScryptMaxWork:       1 << 14,
}

func FuzzVerify(f *testing.F) {
	for _, v := range vectors {
		f.Add(v.password, v.encoded)
	}
	for _, encoded := range seedHashes() {
		f.Add("ﬁsh and chips", encoded)
	}
	h := newHasher(f, passwords.Config{Limits: fuzzLimits})
	f.Fuzz(func(t *testing.T, password, encoded string) {
		before := h.Stats().Derivations
		start := time.Now()
		res, err := h.Verify(context.Background(), password, encoded)
		elapsed := time.Since(start)
		derivations := h.Stats().Derivations - before

		verr := h.Validate(encoded)
		if (err == nil) != (verr == nil) {
			t.Fatalf("Verify error %v but Validate error %v", err, verr)
		}
		tries := uint64(1)
		if passwords.Normalize(password) != password {
			tries = 2
		}
		if err != nil {
			if !errors.Is(err, passwords.ErrInvalidHash) && !errors.Is(err, passwords.ErrLimitExceeded) {
				t.Fatalf("Verify error %v wraps neither ErrInvalidHash nor ErrLimitExceeded", err)
			}
			if res != (passwords.Result{}) || !h.NeedsRehash(encoded) {
				t.Fatalf("a refused hash gave %+v and NeedsRehash %v", res, h.NeedsRehash(encoded))
			}
			// Only the dummy work: nothing was derived with the refused parameters.
			if derivations != tries {
				t.Fatalf("refused hash: %d derivations, want the %d of the dummy", derivations, tries)
			}
			return
		}
		if derivations < 1 || derivations > tries {
			t.Fatalf("%d derivations for %d possible tries", derivations, tries)
		}
		if res.NeedsRehash && !res.OK {
			t.Fatal("NeedsRehash without a match")
		}
		// fuzzLimits admit nothing that takes long.
		if elapsed > 5*time.Second {
			t.Fatalf("Verify took %v within fuzzLimits", elapsed)
		}
	})
}

func FuzzValidate(f *testing.F) {
	for _, encoded := range seedHashes() {
		f.Add(encoded)
	}
	h := newHasher(f, passwords.Config{})
	f.Fuzz(func(t *testing.T, encoded string) {
		err := h.Validate(encoded)
		if err != nil && !errors.Is(err, passwords.ErrInvalidHash) && !errors.Is(err, passwords.ErrLimitExceeded) {
			t.Fatalf("Validate error %v wraps neither ErrInvalidHash nor ErrLimitExceeded", err)
		}
		if err != nil && !h.NeedsRehash(encoded) {
			t.Fatal("NeedsRehash = false for a hash Validate refuses")
		}
		if again := h.Validate(encoded); (again == nil) != (err == nil) || (err != nil && again.Error() != err.Error()) {
			t.Fatalf("Validate is not deterministic: %v, then %v", err, again)
		}
		if n := h.Stats().Derivations; n != 0 {
			t.Fatalf("Validate and NeedsRehash ran %d derivations", n)
		}
	})
}

// Check runs third-party code (zxcvbn) on what people type: it must not panic, and it
// must answer with one of the documented codes.
func FuzzPolicyCheck(f *testing.F) {
	for _, s := range []string{staple, "kx8#Lm2@vQ", "password123", "ﬁx8#Lm2", "kx8#e\u0301Lm", "İİİİİİİİİ", "\ufdfa\ufdfa", "Zq!jdoe42#Lm", "1987-05-19!x", "qwertyuiop[]", "\xff\xfe"} {
		f.Add(s, "jdoe42@example.com")
	}
	codes := map[string]bool{
		passwords.CodeInvalidUTF8: true, passwords.CodeTooLong: true, passwords.CodeControlCharacters: true,
		passwords.CodeTooShort: true, passwords.CodeCommon: true, passwords.CodeContainsPersonal: true, passwords.CodeGuessable: true,
	}
	p := passwords.DefaultPolicy()
	f.Fuzz(func(t *testing.T, password, personal string) {
		err := p.Check(password, personal)
		if err == nil {
			return
		}
		var pe *passwords.PolicyError
		if !errors.As(err, &pe) || !codes[pe.Code] || pe.Message == "" {
			t.Fatalf("Check = %#v, want a *PolicyError with a known code and a message", err)
		}
	})
}
