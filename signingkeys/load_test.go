package signingkeys_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"strings"
	"testing"

	"github.com/identityd/identityd/keyring"
	"github.com/identityd/identityd/signingkeys"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
	"github.com/identityd/identityd/testclock"
)

func TestKeysStillLoadAfterTheKeyringGainsANewFirstKey(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := testclock.New()
		before := newService(t, db, c.Now, esOnly(), newKeyring(t, encKey1))
		maintain(t, before)
		kid := signingID(t, before, signingkeys.ES256)

		// Step 2 of a keyring rotation: a new key first, the old one still there.
		after := newService(t, db, c.Now, esOnly(), newKeyring(t, encKey2, encKey1))
		if err := after.Load(ctx); err != nil {
			t.Fatalf("load after the keyring gained a new first key: %v", err)
		}
		if signingID(t, after, signingkeys.ES256) != kid {
			t.Fatal("a different key signs after the keyring rotation")
		}
		checkSignatureVerifiesWithTheJWKS(t, after, signingkeys.ES256)

		// Without the key it was sealed under, the key cannot be used: Load says why.
		without := newService(t, db, c.Now, esOnly(), newKeyring(t, encKey2))
		if err := without.Load(ctx); !errors.Is(err, keyring.ErrUnknownKey) {
			t.Fatalf("load without the sealing key = %v, want keyring.ErrUnknownKey", err)
		}

		// New keys are sealed under the new first key.
		fresh, err := after.Rotate(ctx, signingkeys.ES256, true)
		if err != nil {
			t.Fatal(err)
		}
		var enc []byte
		if err := db.QueryRow(ctx, `SELECT private_enc FROM signing_keys WHERE kid = $1`, fresh.ID).Scan(&enc); err != nil {
			t.Fatal(err)
		}
		if newKeyring(t, encKey2).NeedsRewrap(enc) {
			t.Fatal("a new key is not sealed under the keyring's first key")
		}
		if err := without.Load(ctx); err != nil || signingID(t, without, signingkeys.ES256) != fresh.ID {
			t.Fatalf("load with only the new encryption key after the old key was replaced: %v", err)
		}
	})
}

func TestLoadRefusesKeysNotWrittenWithTheKeyring(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := testclock.New()
		s := newService(t, db, c.Now, esOnly(), nil)
		maintain(t, s)
		current := signingID(t, s, signingkeys.ES256)
		next, err := s.Rotate(ctx, signingkeys.ES256, false)
		if err != nil {
			t.Fatal(err)
		}
		exec := func(q string, args ...any) {
			t.Helper()
			if _, err := db.Exec(ctx, q, args...); err != nil {
				t.Fatal(err)
			}
		}
		refused := func(what, want string) {
			t.Helper()
			err := s.Load(ctx)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("%s: Load = %v, want an error saying %q", what, err, want)
			}
			// The keys in memory stay as they were.
			if signingID(t, s, signingkeys.ES256) != current {
				t.Fatalf("%s: a refused load changed the signing key", what)
			}
		}
		stored := func(kid string) (enc []byte, jwk string) {
			t.Helper()
			if err := db.QueryRow(ctx, `SELECT private_enc, public_jwk FROM signing_keys WHERE kid = $1`, kid).Scan(&enc, &jwk); err != nil {
				t.Fatal(err)
			}
			return enc, jwk
		}
		curEnc, curJWK := stored(current)
		nextEnc, nextJWK := stored(next.ID)

		// A private key moved to another row: its additional data names its own kid.
		exec(`UPDATE signing_keys SET private_enc = $1 WHERE kid = $2`, curEnc, next.ID)
		refused("a private key moved to another kid", keyring.ErrDecrypt.Error())
		exec(`UPDATE signing_keys SET private_enc = $1 WHERE kid = $2`, nextEnc, next.ID)

		// A public key swapped for another: what would be published is not the key.
		exec(`UPDATE signing_keys SET public_jwk = $1 WHERE kid = $2`, nextJWK, current)
		refused("a public key swapped", "stored public JWK")
		exec(`UPDATE signing_keys SET public_jwk = $1 WHERE kid = $2`, curJWK, current)

		// A key written without the keyring, to get a forger's key published.
		forged, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(forged)
		if err != nil {
			t.Fatal(err)
		}
		other := newKeyring(t, encKey2)
		enc, err := other.Encrypt(der, []byte("signing-key:forged"))
		if err != nil {
			t.Fatal(err)
		}
		exec(`INSERT INTO signing_keys (kid, alg, private_enc, public_jwk, created_at, activates_at, retired_at, unpublish_at)
			VALUES ('forged', 'ES256', $1, '{}', $2, $2, $2, $3)`, enc, c.Now(), c.Now().AddDate(1, 0, 0))
		refused("a key sealed under an unknown encryption key", keyring.ErrUnknownKey.Error())
		exec(`DELETE FROM signing_keys WHERE kid = 'forged'`)

		if err := s.Load(ctx); err != nil {
			t.Fatalf("load once the rows are restored: %v", err)
		}
	})
}
