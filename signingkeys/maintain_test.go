package signingkeys_test

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v3"

	"github.com/identityd/identityd/audit"
	"github.com/identityd/identityd/signingkeys"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
	"github.com/identityd/identityd/testclock"
)

func TestMaintainOnAnEmptyDatabaseMakesOneCurrentKeyPerAlgorithm(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		c := testclock.New()
		s := newService(t, db, c.Now, signingkeys.Config{}, nil) // both algorithms, by default
		if _, _, err := s.Signing(signingkeys.ES256); !errors.Is(err, signingkeys.ErrNoSigningKey) {
			t.Fatalf("Signing before any key = %v, want ErrNoSigningKey", err)
		}
		if _, raw := s.JWKS(); string(raw) != `{"keys":[]}` {
			t.Fatalf("JWKS before any key = %s", raw)
		}

		maintain(t, s)
		keys := list(t, s)
		if len(keys) != 2 {
			t.Fatalf("%d keys after Maintain, want one per algorithm", len(keys))
		}
		for _, k := range keys {
			if k.State != signingkeys.StateCurrent || !k.ActivatesAt.Equal(c.Now()) || !k.CreatedAt.Equal(c.Now()) ||
				k.RetiredAt != nil || k.Public == nil {
				t.Errorf("key %+v: want a current key made and activated now", k)
			}
		}
		if signingID(t, s, signingkeys.ES256) != keys[0].ID || signingID(t, s, signingkeys.RS256) != keys[1].ID {
			t.Fatalf("Signing does not return the listed keys %v", ids(keys))
		}
		if n := countEvents(t, db, audit.TypeSigningKeyCreated); n != 2 {
			t.Errorf("%d %s events, want 2", n, audit.TypeSigningKeyCreated)
		}

		checkJWKS(t, s, keys)
		checkStoredEncrypted(t, db, keys)
		for _, alg := range []signingkeys.Alg{signingkeys.ES256, signingkeys.RS256} {
			checkSignatureVerifiesWithTheJWKS(t, s, alg)
		}

		maintain(t, s)
		if again := list(t, s); !slices.Equal(ids(again), ids(keys)) {
			t.Fatalf("a second Maintain changed the keys from %v to %v", ids(keys), ids(again))
		}
	})
}

// checkJWKS checks that the JWKS publishes keys, each with its thumbprint as kid, its
// alg, use "sig", and nothing private.
func checkJWKS(t *testing.T, s *signingkeys.Service, keys []signingkeys.Key) {
	t.Helper()
	set, raw := s.JWKS()
	if len(set.Keys) != len(keys) {
		t.Fatalf("JWKS has %d keys, want %d", len(set.Keys), len(keys))
	}
	var doc struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	for i, m := range doc.Keys {
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "k", "oth"} {
			if _, ok := m[private]; ok {
				t.Errorf("JWKS key %d has the private member %q: %s", i, private, raw)
			}
		}
		want := map[string]bool{"kty": true, "kid": true, "alg": true, "use": true, "crv": m["kty"] == "EC",
			"x": m["kty"] == "EC", "y": m["kty"] == "EC", "n": m["kty"] == "RSA", "e": m["kty"] == "RSA"}
		for name := range m {
			if !want[name] {
				t.Errorf("JWKS key %d has the unexpected member %q", i, name)
			}
		}
	}
	var parsed jose.JSONWebKeySet
	if err := json.Unmarshal(raw, &parsed); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		found := parsed.Key(k.ID)
		if len(found) != 1 {
			t.Fatalf("JWKS has %d keys with kid %s, want 1", len(found), k.ID)
		}
		jwk := found[0]
		if !jwk.IsPublic() || jwk.Algorithm != string(k.Alg) || jwk.Use != "sig" {
			t.Errorf("JWKS key %s: public %v, alg %q, use %q", k.ID, jwk.IsPublic(), jwk.Algorithm, jwk.Use)
		}
		// The kid is the RFC 7638 thumbprint, computed here from the published key.
		thumb, err := jwk.Thumbprint(crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		if got := base64.RawURLEncoding.EncodeToString(thumb); got != k.ID {
			t.Errorf("kid %s is not the key's thumbprint %s", k.ID, got)
		}
	}
}

// checkStoredEncrypted checks that each key's stored private key is not a key as it is,
// and opens with the keyring, under its kid only, to the published key's private key.
func checkStoredEncrypted(t *testing.T, db *store.DB, keys []signingkeys.Key) {
	t.Helper()
	kr := newKeyring(t, encKey1)
	for _, k := range keys {
		var enc []byte
		if err := db.QueryRow(context.Background(), `SELECT private_enc FROM signing_keys WHERE kid = $1`, k.ID).Scan(&enc); err != nil {
			t.Fatal(err)
		}
		if _, err := x509.ParsePKCS8PrivateKey(enc); err == nil {
			t.Fatalf("key %s is stored in the clear", k.ID)
		}
		if _, err := kr.Decrypt(enc, []byte("signing-key:someone-else")); err == nil {
			t.Fatalf("key %s opens under another kid", k.ID)
		}
		der, err := kr.Decrypt(enc, []byte("signing-key:"+k.ID))
		if err != nil {
			t.Fatalf("key %s does not open with the keyring: %v", k.ID, err)
		}
		priv, err := x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			t.Fatalf("key %s opens to no PKCS #8 key: %v", k.ID, err)
		}
		if !k.Public.(interface{ Equal(crypto.PublicKey) bool }).Equal(priv.(crypto.Signer).Public()) {
			t.Fatalf("key %s opens to another key", k.ID)
		}
	}
}

// checkSignatureVerifiesWithTheJWKS signs a JWS with go-jose and Signing's signer, and
// verifies it as a relying party would: with the key the JWKS names by the kid.
func checkSignatureVerifiesWithTheJWKS(t *testing.T, s *signingkeys.Service, alg signingkeys.Alg) {
	t.Helper()
	k, signer, err := s.Signing(alg)
	if err != nil {
		t.Fatal(err)
	}
	js, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(alg), Key: signer},
		(&jose.SignerOptions{}).WithHeader(jose.HeaderKey("kid"), k.ID))
	if err != nil {
		t.Fatalf("%s: go-jose refuses the signer: %v", alg, err)
	}
	payload := []byte(`{"sub":"ada","aud":"app"}`)
	obj, err := js.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	compact, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}

	_, raw := s.JWKS()
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(raw, &set); err != nil {
		t.Fatal(err)
	}
	parsed, err := jose.ParseSigned(compact)
	if err != nil {
		t.Fatal(err)
	}
	h := parsed.Signatures[0].Header
	found := set.Key(h.KeyID)
	if len(found) != 1 || h.Algorithm != found[0].Algorithm {
		t.Fatalf("%s: token kid %q alg %q; the JWKS has %d keys with that kid", alg, h.KeyID, h.Algorithm, len(found))
	}
	got, err := parsed.Verify(found[0])
	if err != nil || string(got) != string(payload) {
		t.Fatalf("%s: the JWKS key does not verify the signature: %v", alg, err)
	}
	for _, other := range set.Keys {
		if other.KeyID != h.KeyID {
			if _, err := parsed.Verify(other); err == nil {
				t.Fatalf("%s: key %s verifies a signature by %s", alg, other.KeyID, h.KeyID)
			}
		}
	}
}

func TestKeysRotateOnScheduleAndSwitchInMemory(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		c := testclock.New()
		cfg := signingkeys.DefaultConfig()
		cfg.Algs = []signingkeys.Alg{signingkeys.ES256}
		s := newService(t, db, c.Now, cfg, nil)
		// A new key is published PublishLead before it signs, plus ReloadEvery for a
		// replica that missed the notification.
		lead := cfg.PublishLead + cfg.ReloadEvery

		maintain(t, s)
		old := signingID(t, s, signingkeys.ES256)

		c.Advance(cfg.RotationPeriod - lead - time.Second)
		maintain(t, s)
		if keys := list(t, s); len(keys) != 1 {
			t.Fatalf("Maintain made a next key %s before its time", ids(keys))
		}

		c.Advance(time.Second)
		maintain(t, s)
		keys := list(t, s)
		if len(keys) != 2 || keys[0].ID != old || keys[1].State != signingkeys.StateNext {
			t.Fatalf("keys %+v: want the current key and a next one", keys)
		}
		next := keys[1]
		if !next.CreatedAt.Equal(c.Now()) || !next.ActivatesAt.Equal(c.Now().Add(lead)) {
			t.Fatalf("next key made %s, activating %s; want now (%s) and %s later", next.CreatedAt, next.ActivatesAt, c.Now(), lead)
		}
		if got := published(t, s); !slices.Equal(got, sorted(old, next.ID)) {
			t.Fatalf("JWKS %v, want the current and the next key", got)
		}
		if signingID(t, s, signingkeys.ES256) != old {
			t.Fatal("the next key signs before its activation")
		}
		if k, err := s.Verification(next.ID); err != nil || k.State != signingkeys.StateNext || k.Signer() != nil {
			t.Fatalf("Verification(next) = %+v, %v", k, err)
		}
		if n := countEvents(t, db, audit.TypeSigningKeyCreated); n != 2 {
			t.Errorf("%d %s events, want 2", n, audit.TypeSigningKeyCreated)
		}

		c.Advance(next.ActivatesAt.Sub(c.Now()) - time.Microsecond)
		if signingID(t, s, signingkeys.ES256) != old {
			t.Fatal("the next key signs before its activation")
		}
		// No Maintain, no reload: the switch happens in memory.
		c.Advance(time.Microsecond)
		if signingID(t, s, signingkeys.ES256) != next.ID {
			t.Fatal("the next key does not sign once its activation time has passed")
		}
		if k, err := s.Verification(old); err != nil || k.State != signingkeys.StateRetired || k.Signer() != nil {
			t.Fatalf("Verification(old) after the switch = %+v, %v; want it retired, published, not signing", k, err)
		}
		if r, _ := storedRetirement(t, db, old); r != nil {
			t.Fatal("the switch in memory wrote to the database")
		}

		maintain(t, s)
		retired, unpublish := storedRetirement(t, db, old)
		if retired == nil || !retired.Equal(next.ActivatesAt) || !unpublish.Equal(next.ActivatesAt.Add(cfg.MaxTokenLifetime)) {
			t.Fatalf("stored retirement %v, unpublish %v; want %s and MaxTokenLifetime later", retired, unpublish, next.ActivatesAt)
		}
		if n := countEvents(t, db, audit.TypeSigningKeyRetired); n != 1 {
			t.Errorf("%d %s events, want 1", n, audit.TypeSigningKeyRetired)
		}

		c.Advance(unpublish.Sub(c.Now()) - time.Microsecond)
		if isUnknown(s, old) || !slices.Equal(published(t, s), sorted(old, next.ID)) {
			t.Fatal("the retired key left the JWKS before every token it signed expired")
		}
		c.Advance(time.Microsecond)
		if !isUnknown(s, old) || !slices.Equal(published(t, s), []string{next.ID}) {
			t.Fatal("the retired key is still published after its unpublish time")
		}
		maintain(t, s)
		if keys := list(t, s); len(keys) != 1 || keys[0].ID != next.ID || keys[0].State != signingkeys.StateCurrent {
			t.Fatalf("keys %v after the unpublish time: want the retired key deleted", ids(keys))
		}
		if n := countEvents(t, db, audit.TypeSigningKeyDeleted); n != 1 {
			t.Errorf("%d %s events, want 1", n, audit.TypeSigningKeyDeleted)
		}
	})
}

func TestMaintainCatchesUpAfterALongPause(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		c := testclock.New()
		s := newService(t, db, c.Now, esOnly(), nil)
		maintain(t, s)
		first := signingID(t, s, signingkeys.ES256)
		if _, err := s.Rotate(context.Background(), signingkeys.ES256, false); err != nil {
			t.Fatal(err)
		}
		// Nobody maintained for a year: the next key has long signed, and the first one
		// should have been retired and unpublished long ago.
		c.Advance(365 * 24 * time.Hour)
		second := signingID(t, s, signingkeys.ES256)
		if second == first || !isUnknown(s, first) {
			t.Fatal("in memory, the first key is not replaced and unpublished")
		}
		maintain(t, s)
		keys := list(t, s)
		if len(keys) != 2 || keys[0].ID != second || keys[1].State != signingkeys.StateNext {
			t.Fatalf("keys %+v: want the first deleted, the second current, and a next one", keys)
		}
		for typ, want := range map[string]int{audit.TypeSigningKeyRetired: 1, audit.TypeSigningKeyDeleted: 1} {
			if n := countEvents(t, db, typ); n != want {
				t.Errorf("%d %s events, want %d", n, typ, want)
			}
		}
	})
}
