package clients_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v3"

	"github.com/identityd/identityd/audit/audittest"
	"github.com/identityd/identityd/clients"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
	"github.com/identityd/identityd/testclock"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// fixture is a clients service over a real database, recording into a real audit log,
// on a clock the test moves.
type fixture struct {
	db    *store.DB
	svc   *clients.Service
	clock *testclock.Clock
}

func newFixture(t testing.TB, db *store.DB, cfg clients.Config) *fixture {
	t.Helper()
	c := testclock.New()
	return &fixture{db: db, clock: c, svc: clients.New(db, audittest.NewLog(t, db), c.Now, cfg)}
}

// create registers n or fails the test.
func (f *fixture) create(t testing.TB, n clients.Settings) (clients.Client, string) {
	t.Helper()
	c, secret, err := f.svc.Create(context.Background(), n)
	if err != nil {
		t.Fatalf("create %q: %v", n.Name, err)
	}
	return c, secret
}

// webApp is a confidential web app that signs users in and refreshes its tokens.
func webApp() clients.Settings {
	return clients.Settings{
		Name:         "Invoices",
		RedirectURIs: []string{"https://invoices.example.com/callback"},
		GrantTypes:   []string{clients.GrantAuthorizationCode, clients.GrantRefreshToken},
		Scopes:       []string{"openid", "profile", "email", "offline_access", "invoices:read"},
		Audience:     []string{"https://api.example.com"},
	}
}

// nativeApp is a public mobile app with a private-use scheme and a loopback redirect.
func nativeApp() clients.Settings {
	return clients.Settings{
		Name:         "Invoices for phones",
		Public:       true,
		RedirectURIs: []string{"com.example.invoices:/oauth2redirect", "http://127.0.0.1/callback"},
		GrantTypes:   []string{clients.GrantAuthorizationCode, clients.GrantRefreshToken},
		Scopes:       []string{"openid", "offline_access"},
	}
}

// machine is a confidential service that gets tokens on its own behalf.
func machine() clients.Settings {
	return clients.Settings{
		Name:       "Billing batch",
		GrantTypes: []string{clients.GrantClientCredentials},
		Scopes:     []string{"invoices:write"},
		Audience:   []string{"https://api.example.com"},
	}
}

// keyJWTApp is webApp authenticating with private_key_jwt and the given key set.
func keyJWTApp(jwks string) clients.Settings {
	n := webApp()
	n.TokenEndpointAuthMethod = clients.AuthPrivateKeyJWT
	n.JWKS = json.RawMessage(jwks)
	return n
}

// Test keys, made once per test binary: RSA key generation is slow.
var (
	rsaKey    = sync.OnceValue(func() *rsa.PrivateKey { return mustRSA(2048) })
	rsaSmall  = sync.OnceValue(func() *rsa.PrivateKey { return mustRSA(1024) })
	ecP256Key = sync.OnceValue(func() *ecdsa.PrivateKey { return mustEC(elliptic.P256()) })
	ecP384Key = sync.OnceValue(func() *ecdsa.PrivateKey { return mustEC(elliptic.P384()) })
	ecP521Key = sync.OnceValue(func() *ecdsa.PrivateKey { return mustEC(elliptic.P521()) })
)

func mustRSA(bits int) *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		panic(err)
	}
	return k
}

func mustEC(c elliptic.Curve) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
}

// jwk is the JSON of one key as go-jose writes it, with kid, use and alg set when given.
func jwk(t testing.TB, key crypto.PublicKey, kid, use, alg string) string {
	t.Helper()
	b, err := jose.JSONWebKey{Key: key, KeyID: kid, Use: use, Algorithm: alg}.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// withMember is the JSON object obj with one more member.
func withMember(obj, name, value string) string {
	return strings.TrimSuffix(obj, "}") + `,"` + name + `":"` + value + `"}`
}

// jwks is a JWK Set of the given keys.
func jwks(keys ...string) string { return `{"keys":[` + strings.Join(keys, ",") + `]}` }

// goodJWKS is a valid set: an RSA and an EC P-256 key.
func goodJWKS(t testing.TB) string {
	return jwks(jwk(t, &rsaKey().PublicKey, "rsa-1", "sig", "RS256"), jwk(t, &ecP256Key().PublicKey, "ec-1", "", "ES256"))
}

// ed25519Public is a key of a kind go-jose reads but private_key_jwt here does not take.
func ed25519Public(t testing.TB) ed25519.PublicKey {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

// events lists the audit events recorded about client id, oldest first, as
// "type details".
func events(t testing.TB, db *store.DB, id string) []string {
	t.Helper()
	rows, err := db.Query(context.Background(),
		`SELECT type, details FROM audit_pending WHERE target_kind = 'oauth_client' AND target_id = $1 ORDER BY id`, id)
	if err != nil {
		t.Fatal(err)
	}
	out, err := store.CollectRows(rows, func(r *store.Rows) (string, error) {
		var typ, details string
		err := r.Scan(&typ, &details)
		return strings.TrimSpace(typ + " " + details), err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// fieldsRefused returns the fields a ValidationError refused, sorted, or fails the test
// when err is not one.
func fieldsRefused(t testing.TB, err error) []string {
	t.Helper()
	var ve *clients.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error = %v, want a ValidationError", err)
	}
	var out []string
	for _, f := range ve.Errors {
		if f.Reason == "" {
			t.Errorf("field %s refused without a reason", f.Field)
		}
		out = append(out, f.Field)
	}
	slices.Sort(out)
	return out
}

// waitFor polls ok until it holds, failing the test after timeout.
func waitFor(t testing.TB, what string, timeout time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func ptr[T any](v T) *T { return &v }
