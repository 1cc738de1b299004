package passwords_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/identityd/identityd/passwords"
)

func TestHashIsArgon2idPHCWithTheConfiguredParameters(t *testing.T) {
	p := cheap
	p.Time, p.SaltLen, p.KeyLen = 2, 24, 40
	h := newHasher(t, passwords.Config{Params: p})
	ctx := context.Background()
	encoded, err := h.Hash(ctx, staple)
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Split(encoded, "$")
	if len(fields) != 6 || fields[0] != "" || fields[1] != "argon2id" || fields[2] != "v=19" || fields[3] != "m=7168,t=2,p=1" {
		t.Fatalf("Hash = %q, want $argon2id$v=19$m=7168,t=2,p=1$salt$hash", encoded)
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(fields[4])
	key, err2 := base64.RawStdEncoding.DecodeString(fields[5])
	if err1 != nil || err2 != nil || len(salt) != 24 || len(key) != 40 {
		t.Fatalf("salt %d bytes (%v), key %d bytes (%v); want 24 and 40 in unpadded base64", len(salt), err1, len(key), err2)
	}
	res, err := h.Verify(ctx, staple, encoded)
	if err != nil || !res.OK || res.NeedsRehash {
		t.Fatalf("Verify(own hash) = %+v, %v; want OK without rehash", res, err)
	}
	if res, err := h.Verify(ctx, staple+" ", encoded); err != nil || res.OK {
		t.Fatalf("Verify(wrong) = %+v, %v", res, err)
	}
	again, _ := h.Hash(ctx, staple)
	if again == encoded {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}
}

func TestNeedsRehash(t *testing.T) {
	h := newHasher(t, passwords.Config{})
	own, err := h.Hash(context.Background(), staple)
	if err != nil {
		t.Fatal(err)
	}
	// Hashes from Hashers that differ from h in one parameter each.
	other := func(mutate func(*passwords.Params)) string {
		p := cheap
		mutate(&p)
		encoded, err := newHasher(t, passwords.Config{Params: p}).Hash(context.Background(), staple)
		if err != nil {
			t.Fatal(err)
		}
		return encoded
	}
	for _, tc := range []struct {
		name    string
		encoded string
		want    bool
	}{
		{"own hash", own, false},
		{"more memory", other(func(p *passwords.Params) { p.Memory = 8192 }), true},
		{"more passes", other(func(p *passwords.Params) { p.Time = 2 }), true},
		{"more lanes", other(func(p *passwords.Params) { p.Threads = 2 }), true},
		{"longer salt", other(func(p *passwords.Params) { p.SaltLen = 32 }), true},
		{"longer key", other(func(p *passwords.Params) { p.KeyLen = 64 }), true},
		{"argon2i with the same parameters", "$argon2i" + strings.TrimPrefix(own, "$argon2id"), true},
		{"Django's argon2 wrapper around the same hash", "argon2" + own, true},
		{"bcrypt", "$2b$05$rRPC7bKA8.l7lapdBimew.YFnR3v/QpoE2gkwzNEg48zZBz9hp.jm", true},
		{"malformed", own[:len(own)-3] + "$$", true},
		{"empty", "", true},
	} {
		if got := h.NeedsRehash(tc.encoded); got != tc.want {
			t.Errorf("%s: NeedsRehash = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// A foreign system hashed the raw bytes of a password that NFKC changes: the
// decomposed "é" (e + U+0301) and the ligature "ﬁ" (U+FB01).
func TestVerifyFallsBackToTheRawPasswordAndAsksForARehash(t *testing.T) {
	const (
		// Django 3.2.25: PBKDF2PasswordHasher().encode(p, "seasalt0123456789ABCD", 1000) for
		// p = "cafe\u0301 au lait", "\ufb01sh and chips" and "fish and chips".
		decomposedHash = "pbkdf2_sha256$1000$seasalt0123456789ABCD$K/J3xqEsSHWEAOVveJ2CHHPoLdEDCzk9Cyeze+fv7PA="
		ligatureHash   = "pbkdf2_sha256$1000$seasalt0123456789ABCD$/+Z6fa3bBOIeBasrvP7dLfrppXaZMDYPRhTaDV530Ds="
		fishHash       = "pbkdf2_sha256$1000$seasalt0123456789ABCD$ST2eLm1f/jDOv5sV05yvgF/xAERe98RoVkS75Q9p67E="
		// echo -n "fish and chips" | argon2 0123456789abcdef -id -t 1 -k 7168 -p 1 -l 32 -e
		fishCurrent = "$argon2id$v=19$m=7168,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$ZOdNATR7qyV70jnVH1DOhL76M0W2qXTp4YRg2DUigRc"

		decomposed = "cafe\u0301 au lait"
		composed   = "caf\u00e9 au lait"
		ligature   = "\ufb01sh and chips"
		fish       = "fish and chips"
	)
	h := newHasher(t, passwords.Config{})
	for _, tc := range []struct {
		name, password, encoded string
		want                    passwords.Result
		derivations             uint64
	}{
		{"raw decomposed input matches the raw hash", decomposed, decomposedHash, passwords.Result{OK: true, NeedsRehash: true}, 2},
		{"composed input does not match a decomposed hash", composed, decomposedHash, passwords.Result{}, 1},
		{"raw ligature input matches the raw hash", ligature, ligatureHash, passwords.Result{OK: true, NeedsRehash: true}, 2},
		{"plain input does not match a ligature hash", fish, ligatureHash, passwords.Result{}, 1},
		{"ligature input matches a plain hash by its normal form", ligature, fishHash, passwords.Result{OK: true, NeedsRehash: true}, 1},
		{"ligature input matches a current hash without rehash", ligature, fishCurrent, passwords.Result{OK: true}, 1},
		{"a wrong non-NFKC password costs two derivations", ligature + "!", fishCurrent, passwords.Result{}, 2},
	} {
		before := h.Stats().Derivations
		got, err := h.Verify(context.Background(), tc.password, tc.encoded)
		if err != nil || got != tc.want {
			t.Errorf("%s: Verify = %+v, %v; want %+v", tc.name, got, err, tc.want)
		}
		if n := h.Stats().Derivations - before; n != tc.derivations {
			t.Errorf("%s: %d derivations, want %d", tc.name, n, tc.derivations)
		}
	}

	// Hash stores the normal form, so either spelling verifies.
	own, err := h.Hash(context.Background(), ligature)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{ligature, fish} {
		if res, err := h.Verify(context.Background(), p, own); err != nil || !res.OK || res.NeedsRehash {
			t.Errorf("Verify(%q, Hash(ligature)) = %+v, %v; want OK without rehash", p, res, err)
		}
	}
}

func TestBcryptUsesOnlyTheFirst72Bytes(t *testing.T) {
	// pyca bcrypt 3.2.2, which truncates as OpenBSD does:
	//   long = ("x"*70 + "αβγ").encode()   # 76 bytes; "β" starts at byte 72
	//   bcrypt.hashpw(long, bcrypt.gensalt(4))
	//   bcrypt.checkpw(long[:72], h) == True; bcrypt.checkpw(long[:71], h) == False
	const encoded = "$2b$04$sb59hjZlCnQVhI2iEfGKgeomovjXiTqPz5KEedGsuJQyQ7N7p/n8K"
	x70 := strings.Repeat("x", 70)
	h := newHasher(t, passwords.Config{})
	for password, want := range map[string]bool{
		x70 + "αβγ":        true,
		x70 + "α":          true, // exactly the 72 bytes bcrypt read
		x70 + "αδδδδδδδδδ": true, // differs only after byte 72
		x70:                false,
		x70 + "β":          false,
	} {
		res, err := h.Verify(context.Background(), password, encoded)
		if err != nil || res.OK != want {
			t.Errorf("Verify(%d bytes) = %+v, %v; want OK=%v", len(password), res, err, want)
		}
	}
	// The same cut applies inside Django's plain bcrypt hasher.
	if res, err := h.Verify(context.Background(), x70+"αβγ", "bcrypt$"+encoded); err != nil || !res.OK {
		t.Errorf("Django bcrypt: Verify = %+v, %v", res, err)
	}
}

// VerifyDummy must cost what Verify costs, derivation for derivation, or response
// times would tell known users from unknown ones.
func TestVerifyDummySpendsTheWorkOfVerify(t *testing.T) {
	h := newHasher(t, passwords.Config{})
	ctx := context.Background()
	current, err := h.Hash(ctx, staple)
	if err != nil {
		t.Fatal(err)
	}
	count := func(f func()) uint64 {
		before := h.Stats().Derivations
		f()
		return h.Stats().Derivations - before
	}
	for _, password := range []string{"wrong password", "wrong ﬁsh", "wrong cafe\u0301"} {
		verify := count(func() { _, _ = h.Verify(ctx, password, current) })
		dummy := count(func() {
			if err := h.VerifyDummy(ctx, password); err != nil {
				t.Fatal(err)
			}
		})
		broken := count(func() {
			if _, err := h.Verify(ctx, password, "$argon2id$v=19$m=7168,t=1,p=1$broken"); !errors.Is(err, passwords.ErrInvalidHash) {
				t.Fatalf("Verify(broken hash) = %v", err)
			}
		})
		want := uint64(1)
		if passwords.Normalize(password) != password {
			want = 2
		}
		if verify != want || dummy != want || broken != want {
			t.Errorf("%q: Verify %d, VerifyDummy %d, Verify(broken) %d derivations; want %d each", password, verify, dummy, broken, want)
		}
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  passwords.Config
		want string
	}{
		{"memory meant in MiB", passwords.Config{Params: passwords.Params{Memory: 19, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}}, "memory 19 KiB is below the minimum"},
		{"no passes", passwords.Config{Params: passwords.Params{Memory: 19456, Threads: 1, SaltLen: 16, KeyLen: 32}}, "time must be at least 1"},
		{"short salt", passwords.Config{Params: passwords.Params{Memory: 19456, Time: 1, Threads: 1, SaltLen: 8, KeyLen: 32}}, "salt length 8 is below 16"},
		{"params beyond the configured limits", passwords.Config{Params: passwords.DefaultParams(), Limits: passwords.Limits{Argon2MaxMemory: 8192}}, "argon2 memory 19456 KiB is above the limit of 8192 KiB"},
		{"negative budget", passwords.Config{MemoryBudget: -1}, "memory budget -1 bytes is negative"},
		{"bcrypt cost limit beyond bcrypt", passwords.Config{Limits: passwords.Limits{BcryptMaxCost: 32}}, "BcryptMaxCost 32 is outside"},
		{"inverted salt range", passwords.Config{Limits: passwords.Limits{MinSaltLen: 65}}, "MinSaltLen 65 and MaxSaltLen 64"},
	} {
		_, err := passwords.New(tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: New = %v, want an error containing %q", tc.name, err, tc.want)
		}
	}

	// The zero Config is the default everything.
	h, err := passwords.New(passwords.Config{})
	if err != nil || h.Params() != passwords.DefaultParams() || h.Concurrency() != 4 {
		t.Fatalf("New(Config{}) = params %+v, concurrency %d, %v; want defaults and 4", h.Params(), h.Concurrency(), err)
	}
}

func TestParamsValidate(t *testing.T) {
	if err := passwords.DefaultParams().Validate(); err != nil {
		t.Fatalf("DefaultParams().Validate() = %v", err)
	}
	bad := passwords.Params{Memory: 512 * 1024, Time: 0, Threads: 0, SaltLen: 4, KeyLen: 100}
	err := bad.Validate()
	if err == nil {
		t.Fatal("Validate accepted nonsense")
	}
	// Every problem is reported at once.
	for _, want := range []string{"time must be at least 1", "threads must be at least 1", "salt length 4 is below 16", "argon2 memory 524288 KiB is above the limit of 262144 KiB", "hash of 100 bytes is longer than the maximum of 64"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate = %q, want it to mention %q", err, want)
		}
	}
}

func TestConcurrencyFollowsTheBudget(t *testing.T) {
	for _, tc := range []struct {
		budget int64
		want   int
	}{
		{7168 * 1024, 1},
		{7168*1024*3 + 1, 3},
		{1, 1}, // smaller than one hash: still one at a time, never zero
	} {
		h := newHasher(t, passwords.Config{MemoryBudget: tc.budget})
		if got := h.Concurrency(); got != tc.want {
			t.Errorf("budget %d: Concurrency = %d, want %d", tc.budget, got, tc.want)
		}
	}
	// Even a budget smaller than one hash lets hashes run.
	h := newHasher(t, passwords.Config{MemoryBudget: 1})
	if _, err := h.Hash(context.Background(), staple); err != nil {
		t.Fatalf("Hash under a 1-byte budget = %v", err)
	}
}

func ExampleHasher() {
	h, err := passwords.New(passwords.Config{})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	// An account imported from Django: the password verifies, and asks to be
	// rehashed with the current parameters.
	const imported = "pbkdf2_sha256$1000$seasalt0123456789ABCD$bv7Ukm/GIpsvogv3MDh0GPIJ8IUUuxKmyMzdJxLflmQ="
	res, err := h.Verify(ctx, "correct horse battery staple", imported)
	fmt.Println(res.OK, res.NeedsRehash, err)
	if res.OK && res.NeedsRehash {
		upgraded, _ := h.Hash(ctx, "correct horse battery staple")
		fmt.Println(strings.HasPrefix(upgraded, "$argon2id$v=19$m=19456,t=2,p=1$"), h.NeedsRehash(upgraded))
	}
	// Output:
	// true true <nil>
	// true false
}
