package clients_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v3"

	"github.com/identityd/identityd/clients"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
)

// storedHash is the client's secret_hash column, nil when NULL.
func storedHash(t *testing.T, db *store.DB, id string) []byte {
	t.Helper()
	var h []byte
	if err := db.QueryRow(context.Background(), `SELECT secret_hash FROM oauth_clients WHERE id = $1`, id).Scan(&h); err != nil {
		t.Fatal(err)
	}
	return h
}

// storedText is every text column of the client's row, joined.
func storedText(t *testing.T, db *store.DB, id string) string {
	t.Helper()
	var cols [13]string
	dest := make([]any, len(cols))
	for i := range cols {
		dest[i] = &cols[i]
	}
	err := db.QueryRow(context.Background(), `SELECT id, name, redirect_uris, post_logout_redirect_uris, grant_types,
		scopes, audience, token_endpoint_auth_method, coalesce(jwks, ''), jwks_uri, access_token_format,
		backchannel_logout_uri, `+castText(db)+` FROM oauth_clients WHERE id = $1`, id).Scan(dest...)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(cols[:], "\n")
}

// castText renders secret_hash as hex text, to show the secret is not in it either.
func castText(db *store.DB) string {
	if db.Dialect() == store.Postgres {
		return `coalesce(encode(secret_hash, 'hex'), '')`
	}
	return `coalesce(hex(secret_hash), '')`
}

func TestClientLifecycleStoresOnlyTheSecretsHashAndRecordsEachChange(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db, clients.Config{})
		c, secret := f.create(t, webApp())

		body, ok := strings.CutPrefix(secret, clients.SecretPrefix)
		if raw, err := base64.RawURLEncoding.DecodeString(body); !ok || err != nil || len(raw) != 32 {
			t.Fatalf("secret %q: want %s and 256 bits in base64url", secret, clients.SecretPrefix)
		}
		want := clients.Client{
			ID: c.ID, Settings: clients.Settings{Name: "Invoices", RedirectURIs: []string{"https://invoices.example.com/callback"},
				PostLogoutRedirectURIs: []string{}, GrantTypes: []string{"authorization_code", "refresh_token"},
				Scopes:   []string{"openid", "profile", "email", "offline_access", "invoices:read"},
				Audience: []string{"https://api.example.com"}, TokenEndpointAuthMethod: clients.AuthClientSecretBasic,
				AccessTokenFormat: clients.FormatJWT, IDTokenSignedResponseAlg: clients.AlgRS256},
			CreatedAt: f.clock.Now(), UpdatedAt: f.clock.Now(), HasSecret: true,
		}
		if !reflect.DeepEqual(c, want) {
			t.Fatalf("created\n%+v\nwant\n%+v", c, want)
		}
		if got, err := f.svc.Get(ctx, c.ID); err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("Get = %+v, %v\nwant %+v", got, err, want)
		}
		if js, _ := json.Marshal(c); strings.Contains(string(js), body) {
			t.Fatal("a client carries its secret")
		}

		// At rest there is the SHA-256 of the secret and nothing else of it.
		sum := sha256.Sum256([]byte(secret))
		if h := storedHash(t, db, c.ID); string(h) != string(sum[:]) {
			t.Fatalf("stored hash %x, want the SHA-256 of the secret", h)
		}
		if strings.Contains(storedText(t, db, c.ID), body) {
			t.Fatal("the secret is stored")
		}
		if _, h, err := f.svc.LookupWithSecretHash(ctx, c.ID); err != nil || string(h) != string(sum[:]) {
			t.Fatalf("LookupWithSecretHash = %x, %v", h, err)
		}
		if err := f.svc.VerifySecret(ctx, c.ID, secret); err != nil {
			t.Fatalf("verify the secret: %v", err)
		}
		last := "A"
		if strings.HasSuffix(secret, "A") {
			last = "B"
		}
		for _, bad := range []string{"", body, secret[:len(secret)-1] + last, secret + "x", strings.ToUpper(secret)} {
			if err := f.svc.VerifySecret(ctx, c.ID, bad); !errors.Is(err, clients.ErrInvalidSecret) {
				t.Errorf("VerifySecret(%q) = %v, want ErrInvalidSecret", bad, err)
			}
		}

		// An update changes what it names, and records the names, not the values.
		f.clock.Advance(time.Minute)
		scopes := []string{"openid", "invoices:read", "invoices:write"}
		upd, err := f.svc.Update(ctx, c.ID, clients.Patch{Name: ptr("Invoices 2"), Scopes: &scopes,
			AccessTokenLifetime: ptr(10 * time.Minute), AccessTokenFormat: ptr("")})
		if err != nil {
			t.Fatal(err)
		}
		want.Name, want.Scopes, want.AccessTokenLifetime, want.UpdatedAt = "Invoices 2", scopes, 10*time.Minute, f.clock.Now()
		if !reflect.DeepEqual(upd, want) {
			t.Fatalf("updated\n%+v\nwant\n%+v", upd, want)
		}
		if got, _ := f.svc.Get(ctx, c.ID); !reflect.DeepEqual(got, want) {
			t.Fatalf("Get after update = %+v", got)
		}
		// Setting what is there already is no change: nothing written, nothing recorded.
		f.clock.Advance(time.Minute)
		before := len(events(t, db, c.ID))
		again, err := f.svc.Update(ctx, c.ID, clients.Patch{Name: ptr("Invoices 2"), Scopes: &scopes,
			TokenEndpointAuthMethod: ptr(""), JWKSURI: ptr("")})
		if err != nil || !reflect.DeepEqual(again, want) {
			t.Fatalf("no-op update = %+v, %v", again, err)
		}
		if n := len(events(t, db, c.ID)); n != before {
			t.Fatal("an update that changed nothing was recorded")
		}

		afterRotation, rotated, err := f.svc.RotateSecret(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if rotated == secret || !strings.HasPrefix(rotated, clients.SecretPrefix) {
			t.Fatalf("rotated secret %q", rotated)
		}
		if err := f.svc.VerifySecret(ctx, c.ID, secret); !errors.Is(err, clients.ErrInvalidSecret) {
			t.Fatalf("the old secret after rotation: %v, want ErrInvalidSecret", err)
		}
		if err := f.svc.VerifySecret(ctx, c.ID, rotated); err != nil {
			t.Fatalf("the new secret: %v", err)
		}
		got, _ := f.svc.Get(ctx, c.ID)
		if !reflect.DeepEqual(afterRotation, got) {
			t.Fatalf("RotateSecret returned %+v, but the client is now %+v", afterRotation, got)
		}
		if got.SecretRotatedAt == nil || !got.SecretRotatedAt.Equal(f.clock.Now()) || !got.HasSecret {
			t.Fatalf("after rotation: %+v", got)
		}

		if err := f.svc.Delete(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Get(ctx, c.ID); !errors.Is(err, clients.ErrNotFound) {
			t.Fatalf("Get after delete = %v", err)
		}
		if err := f.svc.VerifySecret(ctx, c.ID, rotated); !errors.Is(err, clients.ErrNotFound) {
			t.Fatalf("VerifySecret after delete = %v", err)
		}
		if err := f.svc.Delete(ctx, c.ID); !errors.Is(err, clients.ErrNotFound) {
			t.Fatalf("Delete twice = %v", err)
		}
		if _, err := f.svc.Update(ctx, c.ID, clients.Patch{Name: ptr("x")}); !errors.Is(err, clients.ErrNotFound) {
			t.Fatalf("Update after delete = %v", err)
		}
		if _, _, err := f.svc.RotateSecret(ctx, c.ID); !errors.Is(err, clients.ErrNotFound) {
			t.Fatalf("RotateSecret after delete = %v", err)
		}

		evs := events(t, db, c.ID)
		wantEvents := []string{
			`client.created {"auth_method":"client_secret_basic","first_party":false,"grant_types":["authorization_code","refresh_token"],"name":"Invoices","public":false}`,
			`client.updated {"fields":["name","scopes","access_token_lifetime"]}`,
			`client.secret_rotated`,
			`client.deleted {"name":"Invoices 2"}`,
		}
		if !slices.Equal(evs, wantEvents) {
			t.Fatalf("recorded\n%s\nwant\n%s", strings.Join(evs, "\n"), strings.Join(wantEvents, "\n"))
		}
		for _, ev := range evs {
			if strings.Contains(ev, body) || strings.Contains(ev, strings.TrimPrefix(rotated, clients.SecretPrefix)) {
				t.Fatalf("an event records a secret: %s", ev)
			}
		}
	})
}

func TestPublicClientsHaveNoSecretAndNoneVerifies(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db, clients.Config{})
		c, secret := f.create(t, nativeApp())
		if secret != "" || c.HasSecret || c.TokenEndpointAuthMethod != clients.AuthNone || !c.Public {
			t.Fatalf("public client %+v with secret %q", c, secret)
		}
		if h := storedHash(t, db, c.ID); h != nil {
			t.Fatalf("a public client has a stored hash %x", h)
		}
		if _, h, err := f.svc.LookupWithSecretHash(ctx, c.ID); h != nil || err != nil {
			t.Fatalf("LookupWithSecretHash = %x, %v; want nil", h, err)
		}
		empty := sha256.Sum256(nil)
		for _, s := range []string{"", "anything", string(empty[:])} {
			if err := f.svc.VerifySecret(ctx, c.ID, s); !errors.Is(err, clients.ErrInvalidSecret) {
				t.Errorf("VerifySecret(%q) on a public client = %v", s, err)
			}
		}
		before := events(t, db, c.ID)
		if _, _, err := f.svc.RotateSecret(ctx, c.ID); !errors.Is(err, clients.ErrPublicClient) {
			t.Fatalf("RotateSecret on a public client = %v, want ErrPublicClient", err)
		}
		if h := storedHash(t, db, c.ID); h != nil || len(events(t, db, c.ID)) != len(before) {
			t.Fatal("a refused rotation wrote something")
		}
		// Public is fixed at creation: no patch can give the client a way to authenticate.
		_, err := f.svc.Update(ctx, c.ID, clients.Patch{TokenEndpointAuthMethod: ptr(clients.AuthClientSecretBasic)})
		if got := fieldsRefused(t, err); !slices.Equal(got, []string{"token_endpoint_auth_method"}) {
			t.Fatalf("switching a public client to a secret refused %v", got)
		}
	})
}

func TestPrivateKeyJWTClientsHaveNoSecretUntilTheySwitchAndRotate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db, clients.Config{})
		c, secret := f.create(t, keyJWTApp(goodJWKS(t)))
		if secret != "" || c.HasSecret || storedHash(t, db, c.ID) != nil {
			t.Fatalf("a private_key_jwt client got a secret: %q, %+v", secret, c)
		}
		// What is stored is the parsed public keys, written again.
		var set jose.JSONWebKeySet
		if err := json.Unmarshal(c.JWKS, &set); err != nil || len(set.Keys) != 2 || !set.Keys[0].IsPublic() ||
			set.Keys[0].KeyID != "rsa-1" || set.Keys[1].Algorithm != "ES256" {
			t.Fatalf("stored key set %s: %v", c.JWKS, err)
		}
		if got, _ := f.svc.Get(ctx, c.ID); string(got.JWKS) != string(c.JWKS) {
			t.Fatalf("Get's key set %s, want %s", got.JWKS, c.JWKS)
		}
		if _, _, err := f.svc.RotateSecret(ctx, c.ID); !errors.Is(err, clients.ErrNoSecretAuth) {
			t.Fatalf("RotateSecret on a private_key_jwt client = %v, want ErrNoSecretAuth", err)
		}
		// The stored set is checked again by every update and comes out the same, so an
		// update of something else neither changes nor records it.
		if _, err := f.svc.Update(ctx, c.ID, clients.Patch{Name: ptr(c.Name), JWKS: ptr(c.JWKS)}); err != nil {
			t.Fatal(err)
		}
		if evs := events(t, db, c.ID); len(evs) != 1 {
			t.Fatalf("an update to the same key set recorded %v", evs[1:])
		}

		// Switching to a secret method while keeping the keys is refused: they would
		// linger unused.
		_, err := f.svc.Update(ctx, c.ID, clients.Patch{TokenEndpointAuthMethod: ptr(clients.AuthClientSecretPost)})
		if got := fieldsRefused(t, err); !slices.Equal(got, []string{"jwks"}) {
			t.Fatalf("switch keeping jwks refused %v", got)
		}
		// Switching and removing the keys leaves the client without a secret until
		// RotateSecret issues one.
		switched, err := f.svc.Update(ctx, c.ID, clients.Patch{TokenEndpointAuthMethod: ptr(clients.AuthClientSecretPost),
			JWKS: ptr(json.RawMessage(nil))})
		if err != nil {
			t.Fatal(err)
		}
		if switched.HasSecret || switched.JWKS != nil || switched.TokenEndpointAuthMethod != clients.AuthClientSecretPost {
			t.Fatalf("switched: %+v", switched)
		}
		if err := f.svc.VerifySecret(ctx, c.ID, ""); !errors.Is(err, clients.ErrInvalidSecret) {
			t.Fatalf("VerifySecret before a secret was issued = %v", err)
		}
		_, issued, err := f.svc.RotateSecret(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.svc.VerifySecret(ctx, c.ID, issued); err != nil {
			t.Fatalf("the issued secret: %v", err)
		}
		// Between the two secret methods the secret stays.
		if _, err := f.svc.Update(ctx, c.ID, clients.Patch{TokenEndpointAuthMethod: ptr("")}); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.VerifySecret(ctx, c.ID, issued); err != nil {
			t.Fatalf("the secret after switching to client_secret_basic: %v", err)
		}
		// Switching back to keys removes the secret at once.
		back, err := f.svc.Update(ctx, c.ID, clients.Patch{TokenEndpointAuthMethod: ptr(clients.AuthPrivateKeyJWT),
			JWKSURI: ptr("https://invoices.example.com/.well-known/jwks.json")})
		if err != nil {
			t.Fatal(err)
		}
		if back.HasSecret || back.SecretRotatedAt != nil || storedHash(t, db, c.ID) != nil {
			t.Fatalf("after switching back to private_key_jwt: %+v", back)
		}
		if err := f.svc.VerifySecret(ctx, c.ID, issued); !errors.Is(err, clients.ErrInvalidSecret) {
			t.Fatalf("the removed secret = %v, want ErrInvalidSecret", err)
		}
		evs := events(t, db, c.ID)
		want := []string{
			`client.updated {"fields":["token_endpoint_auth_method","jwks"]}`,
			`client.secret_rotated`,
			`client.updated {"fields":["token_endpoint_auth_method"]}`,
			`client.updated {"fields":["token_endpoint_auth_method","jwks_uri","secret"]}`,
		}
		if !slices.Equal(evs[1:], want) {
			t.Fatalf("recorded\n%s\nwant\n%s", strings.Join(evs[1:], "\n"), strings.Join(want, "\n"))
		}
	})
}

func TestListPagesNewestFirstAndRefusesForgedCursorsAndHugeLimits(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db, clients.Config{})
		var want []string
		for range 5 {
			c, _ := f.create(t, machine())
			want = append([]string{c.ID}, want...)
			f.clock.Advance(time.Second)
		}
		var got []string
		cursor, pages := "", 0
		for {
			p, err := f.svc.List(ctx, 2, cursor)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, c := range p.Clients {
				got = append(got, c.ID)
				if c.Name != "Billing batch" || !c.HasSecret {
					t.Errorf("listed %+v", c)
				}
			}
			if cursor = p.Next; cursor == "" {
				break
			}
		}
		if !slices.Equal(got, want) || pages != 3 {
			t.Fatalf("listed %v in %d pages, want %v in 3", got, pages, want)
		}
		if p, err := f.svc.List(ctx, clients.MaxPageSize, ""); err != nil || len(p.Clients) != 5 || p.Next != "" {
			t.Fatalf("one page of all: %d clients, next %q, %v", len(p.Clients), p.Next, err)
		}
		enc := base64.RawURLEncoding.EncodeToString
		for _, c := range []string{"not a cursor!", enc([]byte("x:" + want[0])), enc([]byte("123:")), enc([]byte("123")),
			enc([]byte(strings.Repeat("9", 100) + ":id")), enc([]byte("1' OR '1'='1:x"))} {
			if _, err := f.svc.List(ctx, 2, c); !errors.Is(err, clients.ErrBadCursor) {
				t.Errorf("cursor %q: %v, want ErrBadCursor", c, err)
			}
		}
		for _, limit := range []int{0, -1, clients.MaxPageSize + 1, math.MaxInt} {
			_, err := f.svc.List(ctx, limit, "")
			if got := fieldsRefused(t, err); !slices.Equal(got, []string{"limit"}) {
				t.Errorf("limit %d refused %v", limit, got)
			}
		}
	})
}

func TestAChangeWhoseAuditEventCannotBeRecordedDoesNotHappen(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db, clients.Config{})
		c, secret := f.create(t, webApp())
		before := storedText(t, db, c.ID)
		// With the audit table gone every Record fails at commit; each change must fail
		// with it.
		if _, err := db.Exec(ctx, `ALTER TABLE audit_pending RENAME TO audit_pending_away`); err != nil {
			t.Fatal(err)
		}
		_, _, createErr := f.svc.Create(ctx, machine())
		_, updateErr := f.svc.Update(ctx, c.ID, clients.Patch{Name: ptr("Renamed")})
		_, _, rotateErr := f.svc.RotateSecret(ctx, c.ID)
		deleteErr := f.svc.Delete(ctx, c.ID)
		if _, err := db.Exec(ctx, `ALTER TABLE audit_pending_away RENAME TO audit_pending`); err != nil {
			t.Fatal(err)
		}
		for name, err := range map[string]error{"create": createErr, "update": updateErr, "rotate": rotateErr, "delete": deleteErr} {
			if err == nil {
				t.Errorf("%s succeeded without its audit event", name)
			}
		}
		if n := storetest.Count(t, db, "oauth_clients"); n != 1 {
			t.Fatalf("%d clients, want the first one only", n)
		}
		if storedText(t, db, c.ID) != before {
			t.Fatal("the client changed although its audit event failed")
		}
		if err := f.svc.VerifySecret(ctx, c.ID, secret); err != nil {
			t.Fatalf("the first secret after a failed rotation: %v", err)
		}
	})
}

func TestIDsThatCannotBeClientsAreUnknownWithoutAQuery(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db, clients.Config{})
		for _, id := range []string{"", "nul\x00id", "bad\xffutf8", "white space", strings.Repeat("a", 65), "nosuchclient"} {
			if _, err := f.svc.Get(ctx, id); !errors.Is(err, clients.ErrNotFound) {
				t.Errorf("Get(%q) = %v", id, err)
			}
			if _, err := f.svc.Lookup(ctx, id); !errors.Is(err, clients.ErrNotFound) {
				t.Errorf("Lookup(%q) = %v", id, err)
			}
			if _, _, err := f.svc.LookupWithSecretHash(ctx, id); !errors.Is(err, clients.ErrNotFound) {
				t.Errorf("LookupWithSecretHash(%q) = %v", id, err)
			}
			if err := f.svc.VerifySecret(ctx, id, "idd_cs_x"); !errors.Is(err, clients.ErrNotFound) {
				t.Errorf("VerifySecret(%q) = %v", id, err)
			}
			if _, err := f.svc.Update(ctx, id, clients.Patch{Name: ptr("x")}); !errors.Is(err, clients.ErrNotFound) {
				t.Errorf("Update(%q) = %v", id, err)
			}
			if _, _, err := f.svc.RotateSecret(ctx, id); !errors.Is(err, clients.ErrNotFound) {
				t.Errorf("RotateSecret(%q) = %v", id, err)
			}
			if err := f.svc.Delete(ctx, id); !errors.Is(err, clients.ErrNotFound) {
				t.Errorf("Delete(%q) = %v", id, err)
			}
		}
	})
}
