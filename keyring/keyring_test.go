package keyring_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/identityd/identityd/keyring"
)

// testKey returns a fixed key whose bytes all equal b: tests that need several distinct
// keys stay readable, and failures reproduce.
func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, keyring.KeySize) }

func newKeyring(t testing.TB, keys ...[]byte) *keyring.Keyring {
	t.Helper()
	k, err := keyring.New(keys)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return k
}

func encrypt(t testing.TB, k *keyring.Keyring, plaintext, aad string) []byte {
	t.Helper()
	ct, err := k.Encrypt([]byte(plaintext), []byte(aad))
	if err != nil {
		t.Fatalf("Encrypt: %v", err)
	}
	return ct
}

func TestEncryptDecryptRoundTrip(t *testing.T) {
	k := newKeyring(t, testKey(1))
	tests := []struct {
		name      string
		plaintext []byte
		aad       []byte
	}{
		{"TOTP seed bound to its user", []byte("JBSWY3DPEHPK3PXP"), []byte("mfa_totp:user-1")},
		{"empty plaintext", []byte{}, []byte("webhook_secret:hook-1")},
		{"nil plaintext", nil, []byte("webhook_secret:hook-1")},
		{"no additional data", []byte("secret"), nil},
		{"binary plaintext", []byte{0, 1, 2, 0xff, 0xfe}, []byte("signing_key:k1")},
		{"large plaintext", bytes.Repeat([]byte("x"), 1<<20), []byte("big")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ct, err := k.Encrypt(tt.plaintext, tt.aad)
			if err != nil {
				t.Fatalf("Encrypt: %v", err)
			}
			if want := 1 + 8 + 12 + len(tt.plaintext) + 16; len(ct) != want {
				t.Errorf("ciphertext is %d bytes, want version+id+nonce+plaintext+tag = %d", len(ct), want)
			}
			if len(tt.plaintext) > 0 && bytes.Contains(ct, tt.plaintext) {
				t.Error("ciphertext contains the plaintext")
			}
			got, err := k.Decrypt(ct, tt.aad)
			if err != nil {
				t.Fatalf("Decrypt: %v", err)
			}
			if got == nil || !bytes.Equal(got, tt.plaintext) {
				t.Errorf("Decrypt = %q, want %q (and non-nil)", got, tt.plaintext)
			}
		})
	}
}

func TestEncryptGivesDifferentCiphertextsForTheSameInput(t *testing.T) {
	k := newKeyring(t, testKey(1))
	a := encrypt(t, k, "same secret", "same:row")
	b := encrypt(t, k, "same secret", "same:row")
	if bytes.Equal(a, b) {
		t.Fatal("two encryptions of the same plaintext are identical; nonces must be random")
	}
	if bytes.Equal(a[9:21], b[9:21]) {
		t.Error("two encryptions share a nonce")
	}
}

// TestFormat builds a ciphertext from the format description in the package comment,
// with no help from the package, and checks the keyring agrees in both directions.
func TestFormat(t *testing.T) {
	key := testKey(7)
	aad := []byte("mfa_totp:user-1")
	k := newKeyring(t, key)

	idSum := sha256.Sum256(append([]byte("identityd keyring key id\x00"), key...))
	wantID := idSum[:8]
	if got := k.CurrentKeyID(); got != hex.EncodeToString(wantID) {
		t.Errorf("CurrentKeyID = %s, want first 8 bytes of SHA-256(prefix||key) = %x", got, wantID)
	}

	header := append([]byte{0x01}, wantID...)
	byHand := sealByHand(t, key, bytes.Repeat([]byte{0x42}, 12), []byte("by hand"), aad)
	gcm := gcmByHand(t, key)

	t.Run("keyring opens a ciphertext made by hand", func(t *testing.T) {
		got, err := k.Decrypt(byHand, aad)
		if err != nil {
			t.Fatalf("Decrypt: %v", err)
		}
		if string(got) != "by hand" {
			t.Errorf("Decrypt = %q, want %q", got, "by hand")
		}
	})
	t.Run("a ciphertext from the keyring opens by hand", func(t *testing.T) {
		ct := encrypt(t, k, "by keyring", string(aad))
		if !bytes.Equal(ct[:9], header) {
			t.Fatalf("header = %x, want version 01 then key id: %x", ct[:9], header)
		}
		got, err := gcm.Open(nil, ct[9:21], ct[21:], append(append([]byte{}, header...), aad...))
		if err != nil {
			t.Fatalf("open by hand: %v", err)
		}
		if string(got) != "by keyring" {
			t.Errorf("opened by hand = %q, want %q", got, "by keyring")
		}
	})
}

// gcmByHand sets up AES-256-GCM the way the package comment describes, independently of
// the package: the AES key is HKDF-SHA256 of the configured key.
func gcmByHand(t testing.TB, key []byte) cipher.AEAD {
	t.Helper()
	dataKey, err := hkdf.Key(sha256.New, key, nil, "identityd keyring data encryption v1", 32)
	if err != nil {
		t.Fatal(err)
	}
	block, err := aes.NewCipher(dataKey)
	if err != nil {
		t.Fatal(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	return gcm
}

// sealByHand lays out version, key id, nonce and GCM output as the package comment
// describes, with a nonce of the caller's choosing.
func sealByHand(t testing.TB, key, nonce, plaintext, aad []byte) []byte {
	t.Helper()
	id := sha256.Sum256(append([]byte("identityd keyring key id\x00"), key...))
	header := append([]byte{0x01}, id[:8]...)
	sealed := gcmByHand(t, key).Seal(nil, nonce, plaintext, append(bytes.Clone(header), aad...))
	return append(append(header, nonce...), sealed...)
}

// TestDecryptGoldenCiphertext pins the format and key derivation: secrets already
// stored must stay readable by every later version. The vector was also checked with
// an independent implementation (Python's cryptography: HKDF and AESGCM).
func TestDecryptGoldenCiphertext(t *testing.T) {
	key := make([]byte, keyring.KeySize)
	for i := range key {
		key[i] = byte(i)
	}
	const golden = "01fb617015153fdd19b2b64ad627b4ed894c881b97c48b0fc3b2aa4d335ef25d344c2661600feac72c8353db2f29416ba27892ce80"
	ct, err := hex.DecodeString(golden)
	if err != nil {
		t.Fatal(err)
	}
	k := newKeyring(t, key)
	if got, want := k.CurrentKeyID(), "fb617015153fdd19"; got != want {
		t.Errorf("CurrentKeyID = %s, want %s", got, want)
	}
	got, err := k.Decrypt(ct, []byte("mfa_totp:user-1"))
	if err != nil {
		t.Fatalf("Decrypt: %v", err)
	}
	if string(got) != "JBSWY3DPEHPK3PXP" {
		t.Errorf("Decrypt = %q, want %q", got, "JBSWY3DPEHPK3PXP")
	}
}

func TestCurrentKeyIDIsStableAndNamesTheFirstKey(t *testing.T) {
	a, b := testKey(1), testKey(2)
	idA := newKeyring(t, a).CurrentKeyID()
	if len(idA) != 16 {
		t.Errorf("CurrentKeyID = %q, want 16 hex digits", idA)
	}
	if again := newKeyring(t, a).CurrentKeyID(); again != idA {
		t.Errorf("CurrentKeyID changed between keyrings built from the same key: %s, then %s", idA, again)
	}
	if got := newKeyring(t, a, b).CurrentKeyID(); got != idA {
		t.Errorf("CurrentKeyID of [A, B] = %s, want A's %s", got, idA)
	}
	if got := newKeyring(t, b, a).CurrentKeyID(); got == idA {
		t.Errorf("CurrentKeyID of [B, A] = A's id %s, want B's", got)
	}
}

func TestRotation(t *testing.T) {
	a, b := testKey(0xa), testKey(0xb)
	const aad = "mfa_totp:user-1"
	underA := encrypt(t, newKeyring(t, a), "seed", aad)

	t.Run("new key added second: old data still readable and current", func(t *testing.T) {
		k := newKeyring(t, a, b)
		if _, err := k.Decrypt(underA, []byte(aad)); err != nil {
			t.Fatalf("Decrypt: %v", err)
		}
		if k.NeedsRewrap(underA) {
			t.Error("NeedsRewrap = true for data under the current key")
		}
	})

	t.Run("new key moved first: old data readable and needs rewrap", func(t *testing.T) {
		k := newKeyring(t, b, a)
		got, err := k.Decrypt(underA, []byte(aad))
		if err != nil {
			t.Fatalf("Decrypt: %v", err)
		}
		if string(got) != "seed" {
			t.Errorf("Decrypt = %q, want %q", got, "seed")
		}
		if !k.NeedsRewrap(underA) {
			t.Error("NeedsRewrap = false for data under the old key")
		}

		rewrapped := encrypt(t, k, string(got), aad)
		if k.NeedsRewrap(rewrapped) {
			t.Error("NeedsRewrap = true after rewrapping under the current key")
		}
		// A replica still configured [A, B] reads what [B, A] replicas write.
		if _, err := newKeyring(t, a, b).Decrypt(rewrapped, []byte(aad)); err != nil {
			t.Errorf("Decrypt by a replica not yet moved to B: %v", err)
		}
	})

	t.Run("old key removed: its data is an unknown key", func(t *testing.T) {
		k := newKeyring(t, b)
		got, err := k.Decrypt(underA, []byte(aad))
		if !errors.Is(err, keyring.ErrUnknownKey) {
			t.Fatalf("Decrypt error = %v, want ErrUnknownKey", err)
		}
		if got != nil {
			t.Errorf("Decrypt returned %q alongside an error", got)
		}
		idA := newKeyring(t, a).CurrentKeyID()
		for _, want := range []string{idA, "not among the configured encryption keys"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not contain %q", err, want)
			}
		}
		if !k.NeedsRewrap(underA) {
			t.Error("NeedsRewrap = false for data under an unknown key; the rewrap job should surface it")
		}
	})
}

// TestDecryptRejectsAnyChangedByte flips bits at every position of a ciphertext: the
// version byte makes it malformed, the key id names a key nobody has, and the nonce,
// ciphertext and tag fail authentication.
func TestDecryptRejectsAnyChangedByte(t *testing.T) {
	k := newKeyring(t, testKey(1))
	const aad = "mfa_totp:user-1"
	ct := encrypt(t, k, "a 32-byte secret for the test!!!", aad)
	for i := range ct {
		want := keyring.ErrDecrypt
		switch {
		case i == 0:
			want = keyring.ErrMalformed
		case i <= 8:
			want = keyring.ErrUnknownKey
		}
		for _, mask := range []byte{0x01, 0x80, 0xff} {
			changed := bytes.Clone(ct)
			changed[i] ^= mask
			got, err := k.Decrypt(changed, []byte(aad))
			if !errors.Is(err, want) {
				t.Errorf("byte %d ^ %#02x: Decrypt error = %v, want %v", i, mask, err, want)
			}
			if got != nil {
				t.Errorf("byte %d ^ %#02x: Decrypt returned %q alongside an error", i, mask, got)
			}
		}
	}
}

func TestDecryptRejectsOtherAdditionalData(t *testing.T) {
	k := newKeyring(t, testKey(1))
	ct := encrypt(t, k, "seed", "mfa_totp:user-1")
	for _, aad := range []string{
		"mfa_totp:user-2",  // moved to another user's row
		"webhook:user-1",   // moved to another table
		"mfa_totp:user-1 ", // one byte longer
		"mfa_totp:user-",   // one byte shorter
		"",
	} {
		t.Run(fmt.Sprintf("%q", aad), func(t *testing.T) {
			got, err := k.Decrypt(ct, []byte(aad))
			if !errors.Is(err, keyring.ErrDecrypt) {
				t.Errorf("Decrypt error = %v, want ErrDecrypt", err)
			}
			if got != nil {
				t.Errorf("Decrypt returned %q alongside an error", got)
			}
		})
	}
}

func TestDecryptTreatsNilAndEmptyAdditionalDataAlike(t *testing.T) {
	k := newKeyring(t, testKey(1))
	ct, err := k.Encrypt([]byte("s"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.Decrypt(ct, []byte{}); err != nil {
		t.Errorf("Decrypt with empty aad of a ciphertext sealed with nil aad: %v", err)
	}
}

func TestDecryptRejectsMalformedInput(t *testing.T) {
	k := newKeyring(t, testKey(1))
	ct := encrypt(t, k, "seed", "row")
	const minSize = 1 + 8 + 12 + 16

	t.Run("truncated below the minimum size", func(t *testing.T) {
		for n := range minSize {
			if _, err := k.Decrypt(ct[:n], []byte("row")); !errors.Is(err, keyring.ErrMalformed) {
				t.Errorf("first %d bytes: Decrypt error = %v, want ErrMalformed", n, err)
			}
		}
	})
	t.Run("truncated but long enough fails authentication", func(t *testing.T) {
		for n := minSize; n < len(ct); n++ {
			if _, err := k.Decrypt(ct[:n], []byte("row")); !errors.Is(err, keyring.ErrDecrypt) {
				t.Errorf("first %d bytes: Decrypt error = %v, want ErrDecrypt", n, err)
			}
		}
	})
	t.Run("unknown version", func(t *testing.T) {
		for _, v := range []byte{0x00, 0x02, 0xff} {
			changed := bytes.Clone(ct)
			changed[0] = v
			_, err := k.Decrypt(changed, []byte("row"))
			if !errors.Is(err, keyring.ErrMalformed) {
				t.Errorf("version %#02x: Decrypt error = %v, want ErrMalformed", v, err)
			}
			if !k.NeedsRewrap(changed) {
				t.Errorf("version %#02x: NeedsRewrap = false, want true for anything not in the current format", v)
			}
		}
	})
	t.Run("NeedsRewrap is true for input too short to be current", func(t *testing.T) {
		for _, in := range [][]byte{nil, {}, ct[:9], ct[:minSize-1]} {
			if !k.NeedsRewrap(in) {
				t.Errorf("NeedsRewrap(%x) = false, want true", in)
			}
		}
	})
}

func TestNewRejectsBadKeyLists(t *testing.T) {
	a, b := testKey(0xa), testKey(0xb)
	short, long := testKey(0xc)[:16], append(testKey(0xd), 0xd)
	tests := []struct {
		name string
		keys [][]byte
		want []string // each must appear in the error
	}{
		{"nil list", nil, []string{"no encryption keys configured"}},
		{"empty list", [][]byte{}, []string{"no encryption keys configured"}},
		{"short key", [][]byte{a, short}, []string{"key 2 of 2 is 16 bytes", "exactly 32 bytes"}},
		{"long key", [][]byte{long}, []string{"key 1 of 1 is 33 bytes"}},
		{"empty key", [][]byte{a, b, {}}, []string{"key 3 of 3 is 0 bytes"}},
		{"duplicate", [][]byte{a, b, bytes.Clone(a)}, []string{"key 3 of 3 is the same as key 1"}},
		{"every problem at once", [][]byte{short, a, a, long}, []string{
			"key 1 of 4 is 16 bytes", "key 3 of 4 is the same as key 2", "key 4 of 4 is 33 bytes",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := keyring.New(tt.keys)
			if err == nil {
				t.Fatalf("New succeeded (current key %s), want an error", k.CurrentKeyID())
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
			for _, key := range tt.keys {
				if len(key) == 0 {
					continue
				}
				for _, leak := range []string{string(key), hex.EncodeToString(key), keyring.EncodeKey(key)} {
					if strings.Contains(err.Error(), leak) {
						t.Errorf("error %q contains key material", err)
					}
				}
			}
		})
	}
}

func TestNewDoesNotKeepTheCallersKeyBytes(t *testing.T) {
	key := testKey(1)
	k := newKeyring(t, key)
	ct := encrypt(t, k, "seed", "row")
	clear(key) // a caller wiping its copy must not break the keyring
	if _, err := k.Decrypt(ct, []byte("row")); err != nil {
		t.Errorf("Decrypt after the caller cleared its key: %v", err)
	}
}

func TestZeroKeyringFailsWithoutPanicking(t *testing.T) {
	var k keyring.Keyring
	if _, err := k.Encrypt([]byte("s"), nil); err == nil {
		t.Error("Encrypt on a zero Keyring succeeded")
	}
	ct := encrypt(t, newKeyring(t, testKey(1)), "s", "")
	if _, err := k.Decrypt(ct, nil); !errors.Is(err, keyring.ErrUnknownKey) {
		t.Errorf("Decrypt on a zero Keyring: error = %v, want ErrUnknownKey", err)
	}
	if k.CurrentKeyID() != "" {
		t.Errorf("CurrentKeyID on a zero Keyring = %q, want empty", k.CurrentKeyID())
	}
	if !k.NeedsRewrap(ct) {
		t.Error("NeedsRewrap on a zero Keyring = false")
	}
}

func TestKeyringIsSafeForConcurrentUse(t *testing.T) {
	k := newKeyring(t, testKey(1), testKey(2))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				aad := fmt.Sprintf("row:%d:%d", g, i)
				ct, err := k.Encrypt([]byte(aad), []byte(aad))
				if err != nil {
					t.Errorf("Encrypt: %v", err)
					return
				}
				got, err := k.Decrypt(ct, []byte(aad))
				if err != nil || string(got) != aad {
					t.Errorf("Decrypt = %q, %v; want %q", got, err, aad)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestGenerateKey(t *testing.T) {
	a, err := keyring.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	b, err := keyring.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != keyring.KeySize {
		t.Errorf("GenerateKey returned %d bytes, want %d", len(a), keyring.KeySize)
	}
	if bytes.Equal(a, b) {
		t.Error("two generated keys are equal")
	}
	if _, err := keyring.New([][]byte{a, b}); err != nil {
		t.Errorf("New rejects generated keys: %v", err)
	}
}

func TestEncodeKeyIsStandardBase64(t *testing.T) {
	key := make([]byte, keyring.KeySize)
	for i := range key {
		key[i] = byte(i * 8) // includes bytes that encode to '+' and '/'
	}
	const want = "AAgQGCAoMDhASFBYYGhweICIkJigqLC4wMjQ2ODo8Pg="
	if got := keyring.EncodeKey(key); got != want {
		t.Errorf("EncodeKey = %q, want %q", got, want)
	}
}

// FuzzDecrypt feeds Decrypt arbitrary ciphertexts and additional data. It must never
// panic, must fail with one of its three errors, and must succeed only on the exact
// pairs sealed for the seed corpus: the fuzzer cannot forge a GCM tag.
func FuzzDecrypt(f *testing.F) {
	// Fuzzing runs this setup in several processes, so the genuine ciphertexts must be
	// the same in each: a fixed key, and nonces chosen here rather than at random.
	key := testKey(1)
	k, err := keyring.New([][]byte{key, testKey(2)})
	if err != nil {
		f.Fatal(err)
	}
	genuine := map[string]bool{}
	for i, seed := range []struct{ plaintext, aad string }{
		{"", ""}, {"JBSWY3DPEHPK3PXP", "mfa_totp:user-1"}, {strings.Repeat("x", 100), "webhook:1"},
	} {
		nonce := bytes.Repeat([]byte{byte(i)}, 12)
		ct := sealByHand(f, key, nonce, []byte(seed.plaintext), []byte(seed.aad))
		genuine[string(ct)+"\x00"+seed.aad] = true
		f.Add(ct, []byte(seed.aad))
		f.Add(ct, []byte(seed.aad+"!"))
		f.Add(ct[:len(ct)-1], []byte(seed.aad))
	}
	f.Add([]byte{}, []byte{})
	f.Add([]byte{0x01}, []byte{})
	f.Add(bytes.Repeat([]byte{0x01}, 64), []byte{})

	f.Fuzz(func(t *testing.T, ciphertext, aad []byte) {
		got, err := k.Decrypt(ciphertext, aad)
		if err == nil {
			if !genuine[string(ciphertext)+"\x00"+string(aad)] {
				t.Fatalf("Decrypt accepted input that was never sealed: %x (aad %q) = %q", ciphertext, aad, got)
			}
			return
		}
		if got != nil {
			t.Errorf("Decrypt returned %q alongside an error", got)
		}
		if !errors.Is(err, keyring.ErrMalformed) && !errors.Is(err, keyring.ErrUnknownKey) && !errors.Is(err, keyring.ErrDecrypt) {
			t.Errorf("Decrypt error %v is none of ErrMalformed, ErrUnknownKey, ErrDecrypt", err)
		}
	})
}

// The benchmarks measure a 64-byte secret, the size of a TOTP seed or a webhook secret,
// next to raw AES-256-GCM on the same input, so the keyring's own overhead (header,
// additional data, allocation) reads as a ratio.
func BenchmarkEncrypt(b *testing.B) {
	secret, aad := bytes.Repeat([]byte("s"), 64), []byte("mfa_totp:0194f6a8-7c1e-7b3a-9d2f-3c4e5f6a7b8c")
	b.Run("keyring", func(b *testing.B) {
		k := newKeyring(b, testKey(1))
		b.SetBytes(int64(len(secret)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := k.Encrypt(secret, aad); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("raw AES-GCM", func(b *testing.B) {
		gcm := rawGCM(b)
		b.SetBytes(int64(len(secret)))
		b.ReportAllocs()
		for b.Loop() {
			gcm.Seal(nil, nil, secret, aad)
		}
	})
}

func BenchmarkDecrypt(b *testing.B) {
	secret, aad := bytes.Repeat([]byte("s"), 64), []byte("mfa_totp:0194f6a8-7c1e-7b3a-9d2f-3c4e5f6a7b8c")
	b.Run("keyring", func(b *testing.B) {
		k := newKeyring(b, testKey(1), testKey(2))
		ct, err := k.Encrypt(secret, aad)
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(secret)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := k.Decrypt(ct, aad); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("raw AES-GCM", func(b *testing.B) {
		gcm := rawGCM(b)
		ct := gcm.Seal(nil, nil, secret, aad)
		b.SetBytes(int64(len(secret)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := gcm.Open(nil, nil, ct, aad); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func rawGCM(b *testing.B) cipher.AEAD {
	block, err := aes.NewCipher(testKey(1))
	if err != nil {
		b.Fatal(err)
	}
	gcm, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		b.Fatal(err)
	}
	return gcm
}
