package api_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
)

func TestBadInputIsAProblemAndChangesNothing(t *testing.T) {
	cursor := func(raw string) string {
		return "/v1/admin-tokens?cursor=" + url.QueryEscape(base64.RawURLEncoding.EncodeToString([]byte(raw)))
	}
	post := func(body string) request {
		return request{method: http.MethodPost, target: "/v1/admin-tokens", body: body}
	}
	get := func(target string) request { return request{method: http.MethodGet, target: target} }

	cases := []struct {
		name     string
		req      request
		status   int    // 0: anything but a 5xx (a forged cursor may happen to be a valid position)
		location string // a location the problem must list, if any
		secret   string // a value the reply must not echo, if any
	}{
		{name: "malformed JSON", req: post(`{"name": "x",`), status: 400},
		{name: "a JSON array", req: post(`["name"]`), status: 422, location: "body"},
		{name: "trailing garbage", req: post(`{"name":"x"} {"name":"y"}`), status: 400},
		{name: "an empty body", req: post(``), status: 400},
		{name: "an unknown field", req: post(`{"name":"x","colour":"blue"}`), status: 422, location: "body.colour"},
		{name: "a field of the wrong type", req: post(`{"name":42}`), status: 422, location: "body.name"},
		{name: "a name over 100 characters", req: post(`{"name":"` + strings.Repeat("n", 101) + `"}`), status: 422, location: "body.name"},
		{name: "a name with a control character", req: post(`{"name":"a\u0007b"}`), status: 422, location: "body.name"},
		{name: "a name with surrounding spaces", req: post(`{"name":" x "}`), status: 422, location: "body.name"},
		{name: "a name that is not UTF-8", req: post("{\"name\":\"bad \xff\xfe bytes\"}"), status: 422, location: "body.name"},
		{name: "a name with a lone surrogate", req: post(`{"name":"bad \ud800 half"}`), status: 422, location: "body.name"},
		{name: "ttl forever", req: post(`{"ttl":"forever"}`), status: 422, location: "body.ttl"},
		{name: "ttl 1s", req: post(`{"ttl":"1s"}`), status: 422, location: "body.ttl"},
		{name: "ttl over a year", req: post(`{"ttl":"8761h"}`), status: 422, location: "body.ttl"},
		{name: "a negative ttl", req: post(`{"ttl":"-1h"}`), status: 422, location: "body.ttl"},
		{name: "a ttl that overflows", req: post(`{"ttl":"9999999999999999999h"}`), status: 422, location: "body.ttl"},
		{name: "Content-Type text/plain", req: request{method: http.MethodPost, target: "/v1/admin-tokens", body: `{"name":"x"}`,
			header: http.Header{"Content-Type": {"text/plain"}}}, status: 415},
		{name: "a body over the limit", req: post(`{"name":"` + strings.Repeat("a", bodyLimit) + `"}`), status: 413},
		{name: "a password beside the name", req: post(`{"name":"x","password":"hunter2"}`), status: 422, location: "body.password", secret: "hunter2"},
		{name: "a secret nested in the wrong type", req: post(`{"name":{"client_secret":"hunter2"}}`), status: 422, location: "body.name", secret: "hunter2"},
		{name: "malformed JSON holding a password", req: post(`{"password":"hunter2",`), status: 400, secret: "hunter2"},
		{name: "limit=0", req: get("/v1/admin-tokens?limit=0"), status: 422, location: "query.limit"},
		{name: "limit=1000000", req: get("/v1/admin-tokens?limit=1000000"), status: 422, location: "query.limit"},
		{name: "limit=abc", req: get("/v1/admin-tokens?limit=abc"), status: 422, location: "query.limit"},
		{name: "limit=-1", req: get("/v1/admin-tokens?limit=-1"), status: 422, location: "query.limit"},
		{name: "limit over int64", req: get("/v1/admin-tokens?limit=99999999999999999999"), status: 422, location: "query.limit"},
		{name: "a malformed cursor", req: get("/v1/admin-tokens?cursor=!!!"), status: 400},
		{name: "a random base64 cursor", req: get("/v1/admin-tokens?cursor=" + base64.RawURLEncoding.EncodeToString(random(48)))},
		{name: "a cursor without an id", req: get(cursor("1700000000000000:"))},
		{name: "a cursor at the start of time", req: get(cursor("-9223372036854775808:x"))},
		{name: "a cursor at the end of time", req: get(cursor("9223372036854775807:x"))},
		{name: "a cursor past int64", req: get(cursor("99999999999999999999:x"))},
		{name: "a cursor with a NUL in its id", req: get(cursor("1700000000000000:a\x00b")), status: 400},
		{name: "a cursor whose id is not UTF-8", req: get(cursor("1700000000000000:\xff\xfe")), status: 400},
		{name: "a cursor over 128 characters", req: get("/v1/admin-tokens?cursor=" + strings.Repeat("A", 129)), status: 422, location: "query.cursor"},
		{name: "an unknown query parameter on the list", req: get("/v1/admin-tokens?colour=blue"), status: 422, location: "query.colour"},
		{name: "an unknown query parameter on the status", req: get("/v1/status?verbose=1"), status: 422, location: "query.verbose"},
		{name: "an unknown query parameter on create", req: request{method: http.MethodPost, target: "/v1/admin-tokens?dry_run=1", body: `{}`},
			status: 422, location: "query.dry_run"},
		{name: "an unknown query parameter holding a token", req: get("/v1/admin-tokens?token=hunter2"), status: 422, location: "query.token", secret: "hunter2"},
		{name: "an id over 64 characters", req: request{method: http.MethodDelete, target: "/v1/admin-tokens/" + strings.Repeat("i", 65)},
			status: 422, location: "path.id"},
	}

	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a := newAPI(t, db)
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				before := countTokens(t, db)
				res := a.do(t, tc.req)
				if res.status >= 500 || (tc.status != 0 && res.status != tc.status) {
					t.Fatalf("got %s, want %d (0: anything but a server error)", res, tc.status)
				}
				if res.status >= 400 {
					p := wantProblem(t, res, res.status)
					if tc.location != "" && !slices.Contains(p.locations(), tc.location) {
						t.Errorf("the problem lists %v, want %s among them: %s", p.locations(), tc.location, res.body)
					}
				}
				if tc.secret != "" && strings.Contains(string(res.body), tc.secret) {
					t.Errorf("the reply echoes %q: %s", tc.secret, res.body)
				}
				if after := countTokens(t, db); after != before {
					t.Errorf("admin_tokens changed from %+v to %+v", before, after)
				}
			})
		}
	})
}

func TestSQLInANameIsStoredVerbatim(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a := newAPI(t, db)
		const name = `'); DROP TABLE admin_tokens;--`
		before := countTokens(t, db)
		tok := a.createToken(t, `{"name":"'); DROP TABLE admin_tokens;--"}`)
		if tok.Name != name {
			t.Errorf("created name %q, want %q", tok.Name, name)
		}
		var stored string
		if err := db.QueryRow(context.Background(), `SELECT name FROM admin_tokens WHERE id = $1`, tok.ID).Scan(&stored); err != nil {
			t.Fatalf("the table or the row is gone: %v", err)
		}
		if stored != name {
			t.Errorf("stored name %q, want %q", stored, name)
		}
		if after := countTokens(t, db); after.total != before.total+1 {
			t.Errorf("admin_tokens went from %d to %d rows, want one more", before.total, after.total)
		}
		listed, ok := find(a.listAll(t, 500), tok.ID)
		if !ok || listed.Name != name {
			t.Errorf("listed %+v, want the name verbatim", listed)
		}
	})
}

// registryRows fingerprints the OAuth clients and signing keys: how many of each, and
// the latest change to a client.
type registryRows struct {
	clients, keys int
	changed       string
}

func countRegistry(t testing.TB, db *store.DB) registryRows {
	t.Helper()
	var n registryRows
	var changed *time.Time
	err := db.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM oauth_clients), (SELECT max(updated_at) FROM oauth_clients),
		(SELECT count(*) FROM signing_keys)`).Scan(&n.clients, &changed, &n.keys)
	if err != nil {
		t.Fatalf("count clients and keys: %v", err)
	}
	if changed != nil {
		n.changed = changed.UTC().Format(time.RFC3339Nano)
	}
	return n
}

func TestBadInputToClientsAndKeysIsAProblemAndChangesNothing(t *testing.T) {
	const confidential = `"name":"x","grant_types":["client_credentials"]`
	list := func(item string, n int) string {
		return "[" + strings.TrimSuffix(strings.Repeat(item+",", n), ",") + "]"
	}
	cases := []struct {
		name   string
		req    func(id string) request // id: a client that exists
		status int                     // 0: anything but a 5xx
		where  string                  // a location the problem must list, if any
	}{
		{name: "malformed JSON", status: 400, req: func(string) request {
			return request{method: http.MethodPost, target: "/v1/clients", body: `{"name":"x",`}
		}},
		{name: "malformed JSON in a patch", status: 400, req: func(id string) request {
			return request{method: http.MethodPatch, target: "/v1/clients/" + id, body: `{"name":"x"`}
		}},
		{name: "trailing garbage", status: 400, req: func(string) request {
			return request{method: http.MethodPost, target: "/v1/clients", body: `{` + confidential + `} {}`}
		}},
		{name: "a JSON array", status: 422, where: "body", req: func(string) request {
			return request{method: http.MethodPost, target: "/v1/clients", body: `[` + `{` + confidential + `}]`}
		}},
		{name: "a JSON string as a patch", status: 422, where: "body", req: func(id string) request {
			return request{method: http.MethodPatch, target: "/v1/clients/" + id, body: `"name"`}
		}},
		{name: "null as a patch", req: func(id string) request {
			return request{method: http.MethodPatch, target: "/v1/clients/" + id, body: `null`}
		}},
		{name: "a huge array", status: 422, where: "body.redirect_uris", req: func(string) request {
			return request{method: http.MethodPost, target: "/v1/clients", body: `{` + confidential + `,"redirect_uris":` +
				list(`"https://a.example.com/cb"`, 30000) + `}`}
		}},
		{name: "a huge array of the wrong type", status: 422, where: "body.audience", req: func(string) request {
			return request{method: http.MethodPost, target: "/v1/clients", body: `{` + confidential + `,"audience":` + list(`1`, 400000) + `}`}
		}},
		{name: "a huge array in a patch", status: 422, where: "body.scopes", req: func(id string) request {
			return request{method: http.MethodPatch, target: "/v1/clients/" + id, body: `{"scopes":` + list(`"s"`, 100000) + `}`}
		}},
		{name: "a huge key set", status: 422, where: "body.jwks", req: func(string) request {
			return request{method: http.MethodPost, target: "/v1/clients", body: `{` + confidential +
				`,"token_endpoint_auth_method":"private_key_jwt","jwks":{"keys":` + list(`{"kty":"EC"}`, 50000) + `}}`}
		}},
		{name: "a deeply nested key set", status: 400, req: func(string) request {
			return request{method: http.MethodPost, target: "/v1/clients", body: `{` + confidential +
				`,"token_endpoint_auth_method":"private_key_jwt","jwks":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`}
		}},
		{name: "a key set of the wrong shape", status: 422, where: "body.jwks", req: func(string) request {
			return request{method: http.MethodPost, target: "/v1/clients", body: `{` + confidential +
				`,"token_endpoint_auth_method":"private_key_jwt","jwks":{"keys":{"kty":"EC"}}}`}
		}},
		{name: "a string for a list", status: 422, where: "body.scopes", req: func(string) request {
			return request{method: http.MethodPost, target: "/v1/clients", body: `{` + confidential + `,"scopes":"openid profile"}`}
		}},
		{name: "an object for a bool", status: 422, where: "body.first_party", req: func(id string) request {
			return request{method: http.MethodPatch, target: "/v1/clients/" + id, body: `{"first_party":{"x":1}}`}
		}},
		{name: "a number for a name", status: 422, where: "body.name", req: func(string) request {
			return request{method: http.MethodPost, target: "/v1/clients", body: `{"name":1,"grant_types":["client_credentials"]}`}
		}},
		{name: "a string for a lifetime", status: 422, where: "body.refresh_token_lifetime", req: func(id string) request {
			return request{method: http.MethodPatch, target: "/v1/clients/" + id, body: `{"refresh_token_lifetime":"30d"}`}
		}},
		{name: "a lifetime that overflows a duration", status: 422, where: "body.access_token_lifetime", req: func(id string) request {
			return request{method: http.MethodPatch, target: "/v1/clients/" + id, body: `{"access_token_lifetime":9223372036}`}
		}},
		{name: "NUL in a name", status: 422, where: "body.name", req: func(id string) request {
			return request{method: http.MethodPatch, target: "/v1/clients/" + id, body: `{"name":"a\u0000"}`}
		}},
		{name: "NUL in a URI", status: 422, where: "body.backchannel_logout_uri", req: func(id string) request {
			return request{method: http.MethodPatch, target: "/v1/clients/" + id, body: `{"backchannel_logout_uri":"https://a.example.com/\u0000"}`}
		}},
		{name: "NUL in an audience", status: 422, where: "body.audience[0]", req: func(id string) request {
			return request{method: http.MethodPatch, target: "/v1/clients/" + id, body: `{"audience":["api\u0000"]}`}
		}},
		{name: "NUL in a key id", status: 0, req: func(string) request {
			return request{method: http.MethodPost, target: "/v1/clients", body: `{` + confidential +
				`,"token_endpoint_auth_method":"private_key_jwt","jwks":{"keys":[{"kty":"EC","crv":"P-256","kid":"a\u0000b","x":"x","y":"y"}]}}`}
		}},
		{name: "NUL in an id to get", status: 404, req: func(string) request {
			return request{method: http.MethodGet, target: "/v1/clients/a%00b"}
		}},
		{name: "NUL in an id to patch", status: 404, req: func(string) request {
			return request{method: http.MethodPatch, target: "/v1/clients/a%00b", body: `{"name":"x"}`}
		}},
		{name: "NUL in an id to delete", status: 404, req: func(string) request {
			return request{method: http.MethodDelete, target: "/v1/clients/%00"}
		}},
		{name: "NUL in an id to rotate", status: 404, req: func(string) request {
			return request{method: http.MethodPost, target: "/v1/clients/a%00/secret"}
		}},
		{name: "an id that is not UTF-8", status: 404, req: func(string) request {
			return request{method: http.MethodGet, target: "/v1/clients/%FF%FE"}
		}},
		{name: "SQL in an id", status: 404, req: func(string) request {
			return request{method: http.MethodDelete, target: "/v1/clients/" + url.PathEscape("x' OR '1'='1")}
		}},
		{name: "an id over 64 characters", status: 422, where: "path.id", req: func(string) request {
			return request{method: http.MethodDelete, target: "/v1/clients/" + strings.Repeat("c", 65)}
		}},
		{name: "an unknown query parameter", status: 422, where: "query.force", req: func(id string) request {
			return request{method: http.MethodDelete, target: "/v1/clients/" + id + "?force=1"}
		}},
		{name: "a forged cursor", req: func(string) request {
			return request{method: http.MethodGet, target: "/v1/clients?cursor=" + base64.RawURLEncoding.EncodeToString([]byte("-1:\x00"))}
		}},
		{name: "a cursor that is not base64", status: 400, req: func(string) request {
			return request{method: http.MethodGet, target: "/v1/clients?cursor=%00"}
		}},
		{name: "a limit of the wrong type", status: 422, where: "query.limit", req: func(string) request {
			return request{method: http.MethodGet, target: "/v1/clients?limit=ten"}
		}},
		{name: "a body over the limit", status: 413, req: func(string) request {
			return request{method: http.MethodPost, target: "/v1/clients", body: `{"name":"` + strings.Repeat("a", bodyLimit) + `"}`}
		}},
		{name: "Content-Type text/plain", status: 415, req: func(id string) request {
			return request{method: http.MethodPatch, target: "/v1/clients/" + id, body: `{"name":"x"}`,
				header: http.Header{"Content-Type": {"text/plain"}}}
		}},
		{name: "a rotation without a body", status: 400, req: func(string) request {
			return request{method: http.MethodPost, target: "/v1/keys/rotate"}
		}},
		{name: "a rotation of the wrong type", status: 422, where: "body.alg", req: func(string) request {
			return request{method: http.MethodPost, target: "/v1/keys/rotate", body: `{"alg":256}`}
		}},
		{name: "a rotation with NUL in the algorithm", status: 422, where: "body.alg", req: func(string) request {
			return request{method: http.MethodPost, target: "/v1/keys/rotate", body: `{"alg":"ES256\u0000"}`}
		}},
		{name: "a rotation with a huge array", status: 422, where: "body.alg", req: func(string) request {
			return request{method: http.MethodPost, target: "/v1/keys/rotate", body: `{"alg":` + list(`"ES256"`, 100000) + `}`}
		}},
		{name: "a body on the key list", req: func(string) request {
			return request{method: http.MethodGet, target: "/v1/keys", body: `{"alg":"ES256"}`}
		}},
	}

	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a := newAPI(t, db)
		existing := a.createClient(t, webApp)
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				before := countRegistry(t, db)
				res := a.do(t, tc.req(existing.ID))
				if res.status >= 500 || (tc.status != 0 && res.status != tc.status) {
					t.Fatalf("got %s, want %d (0: anything but a server error)", res, tc.status)
				}
				if res.status >= 400 {
					p := wantProblem(t, res, res.status)
					if tc.where != "" && !slices.Contains(p.locations(), tc.where) {
						t.Errorf("the problem lists %v, want %s among them", p.locations(), tc.where)
					}
				}
				if len(res.body) > 256<<10 {
					t.Errorf("a reply of %d bytes to bad input", len(res.body))
				}
				if after := countRegistry(t, db); after != before {
					t.Errorf("clients and keys went from %+v to %+v", before, after)
				}
			})
		}
	})
}
