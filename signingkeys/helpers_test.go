package signingkeys_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v3"

	"github.com/identityd/identityd/audit/audittest"
	"github.com/identityd/identityd/keyring"
	"github.com/identityd/identityd/signingkeys"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// Encryption keys of the tests' keyrings.
var (
	encKey1 = bytes.Repeat([]byte{0x31}, keyring.KeySize)
	encKey2 = bytes.Repeat([]byte{0x32}, keyring.KeySize)
)

func newKeyring(t testing.TB, keys ...[]byte) *keyring.Keyring {
	t.Helper()
	kr, err := keyring.New(keys)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// esOnly keeps ES256 keys only, for tests whose point does not depend on the algorithm:
// an RSA key takes seconds to generate under the race detector.
func esOnly() signingkeys.Config {
	return signingkeys.Config{Algs: []signingkeys.Alg{signingkeys.ES256}}
}

// newService returns a service over db with the clock now, keyring kr (encKey1 when
// nil) and a real audit log.
func newService(t testing.TB, db *store.DB, now func() time.Time, cfg signingkeys.Config, kr *keyring.Keyring) *signingkeys.Service {
	t.Helper()
	if kr == nil {
		kr = newKeyring(t, encKey1)
	}
	s, err := signingkeys.New(db, kr, audittest.NewLog(t, db), now, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func maintain(t testing.TB, s *signingkeys.Service) {
	t.Helper()
	if err := s.Maintain(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// signingID is the kid of the key that signs for alg.
func signingID(t testing.TB, s *signingkeys.Service, alg signingkeys.Alg) string {
	t.Helper()
	k, signer, err := s.Signing(alg)
	if err != nil {
		t.Fatal(err)
	}
	if signer == nil || k.Signer() != signer || k.State != signingkeys.StateCurrent || k.Alg != alg {
		t.Fatalf("Signing(%s) = %+v with signer %v: want the current key and its signer", alg, k, signer)
	}
	return k.ID
}

// list is every stored key.
func list(t testing.TB, s *signingkeys.Service) []signingkeys.Key {
	t.Helper()
	keys, err := s.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if k.Signer() != nil {
			t.Fatalf("List gave key %s with its private key", k.ID)
		}
	}
	return keys
}

func ids(keys []signingkeys.Key) []string {
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, k.ID)
	}
	return out
}

// published is the kids of the JWKS as served, after checking that its JSON and the
// set agree.
func published(t testing.TB, s *signingkeys.Service) []string {
	t.Helper()
	set, raw := s.JWKS()
	var parsed jose.JSONWebKeySet
	if err := json.Unmarshal(raw, &parsed); err != nil {
		t.Fatalf("JWKS JSON %s: %v", raw, err)
	}
	var fromSet, fromJSON []string
	for _, k := range set.Keys {
		fromSet = append(fromSet, k.KeyID)
	}
	for _, k := range parsed.Keys {
		fromJSON = append(fromJSON, k.KeyID)
	}
	if !slices.Equal(fromSet, fromJSON) {
		t.Fatalf("JWKS set has %v, its JSON %v", fromSet, fromJSON)
	}
	slices.Sort(fromSet)
	return fromSet
}

func sorted(kids ...string) []string {
	out := slices.Clone(kids)
	slices.Sort(out)
	return out
}

// countEvents counts the recorded audit events of a type.
func countEvents(t testing.TB, db *store.DB, typ string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), `SELECT count(*) FROM audit_pending WHERE type = $1`, typ).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// storedRetirement is the retired_at and unpublish_at stored for kid.
func storedRetirement(t testing.TB, db *store.DB, kid string) (retired, unpublish *time.Time) {
	t.Helper()
	err := db.QueryRow(context.Background(), `SELECT retired_at, unpublish_at FROM signing_keys WHERE kid = $1`, kid).
		Scan(&retired, &unpublish)
	if err != nil {
		t.Fatal(err)
	}
	return retired, unpublish
}

// eventually polls cond for up to ten seconds.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not happen within 10s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// isUnknown reports whether kid is not published.
func isUnknown(s *signingkeys.Service, kid string) bool {
	_, err := s.Verification(kid)
	return errors.Is(err, signingkeys.ErrUnknownKey)
}
