package api_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
)

// auditRows counts the audit events recorded, sealed or not: every change the API makes
// records one in its transaction, so a refused request must leave the count as it was.
func auditRows(t testing.TB, db *store.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(),
		`SELECT (SELECT count(*) FROM audit_pending) + (SELECT count(*) FROM audit_events)`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// FuzzBodiesOfTheWritingOperations sends whatever JSON body an admin's script could send
// to the operations that create and change things. Every reply must be what the
// OpenAPI document promises, a problem when refused and never a server error (the
// harness checks each), and a refused request must change nothing: no row of the
// registry, no user, no audit event.
func FuzzBodiesOfTheWritingOperations(f *testing.F) {
	db := storetest.SQLite(f)
	storetest.Migrate(f, db)
	a := newAPI(f, db)
	client := a.createClient(f, webApp)
	user := a.createUser(f, `{"email":"ada@example.com","name":"Ada"}`)
	for _, seed := range []string{webApp, `{"name":"x","grant_types":["client_credentials"],"scopes":["reports"]}`,
		`{"name":"n","public":true,"grant_types":["authorization_code"],"redirect_uris":["http://127.0.0.1/cb"],"token_endpoint_auth_method":"none"}`,
		`{"token_endpoint_auth_method":"private_key_jwt","jwks":{"keys":[{"kty":"EC","crv":"P-256","x":"a","y":"b"}]}}`,
		`{"access_token_lifetime":-1,"id_token_signed_response_alg":"HS256"}`, `{"jwks_uri":"","backchannel_logout_uri":"http://10.0.0.1/x"}`,
		`{"email":"grace@example.com","password":"violet kettle drum 42","metadata":{"a":[1,{"b":null}]}}`,
		`{"status":"disabled","email_verified":true}`, `{"url":"https://hooks.example.com/x","event_types":["user.created"]}`,
		`{"name":"ci","ttl":"1h"}`, `null`, `[]`, `{"name":"\u0000"}`, `{"redirect_uris":["https://a.example.com/cb#frag"]}`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		for _, op := range []struct{ method, target string }{
			{http.MethodPost, "/v1/clients"},
			{http.MethodPatch, "/v1/clients/" + client.ID},
			{http.MethodPost, "/v1/users"},
			{http.MethodPatch, "/v1/users/" + user.ID},
			{http.MethodPost, "/v1/webhooks"},
			{http.MethodPost, "/v1/admin-tokens"},
		} {
			registry, people, tokens, events := countRegistry(t, db), countUsers(t, db), countTokens(t, db), auditRows(t, db)
			res := a.call(t, op.method, op.target, body)
			if res.status < 400 {
				continue
			}
			if countRegistry(t, db) != registry || countUsers(t, db) != people || countTokens(t, db) != tokens || auditRows(t, db) != events {
				t.Fatalf("%s %s %q was refused (%d) but changed something: %s", op.method, op.target, body, res.status, res.body)
			}
		}
	})
}
