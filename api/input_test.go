package api_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

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
