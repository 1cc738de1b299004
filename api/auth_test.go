package api_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/identityd/identityd/admintokens"
	"github.com/identityd/identityd/audit/audittest"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
)

const (
	challenge             = `Bearer realm="identityd"`
	challengeInvalidToken = `Bearer realm="identityd", error="invalid_token"`
)

// operations lists one call of every /v1 operation, each harmless when refused.
func operations(t *testing.T, a *testAPI) []request {
	t.Helper()
	_, victim, err := a.tokens.Create(context.Background(), "victim", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return []request{
		{method: http.MethodGet, target: "/v1/status"},
		{method: http.MethodGet, target: "/v1/admin-tokens"},
		{method: http.MethodPost, target: "/v1/admin-tokens", body: `{"name":"intruder"}`},
		{method: http.MethodDelete, target: "/v1/admin-tokens/" + victim.ID},
	}
}

func TestRequestsWithoutAValidAdminTokenAreChallenged(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a := newAPI(t, db)
		ctx := context.Background()

		// An expired token: made by a clock two hours behind the API's, valid for one.
		past := admintokens.New(db, func() time.Time { return a.clock.Now().Add(-2 * time.Hour) }, audittest.NewLog(t, db))
		expired, _, err := past.Create(ctx, "expired", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		revoked, revokedTok, err := a.tokens.Create(ctx, "revoked", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.tokens.Revoke(ctx, revokedTok.ID); err != nil {
			t.Fatal(err)
		}
		unknown := admintokens.Prefix + base64.RawURLEncoding.EncodeToString(random(32))

		cases := []struct {
			name          string
			authorization []string // nil: no header at all
			want          string   // WWW-Authenticate
		}{
			{"no Authorization header", nil, challenge},
			{"Basic credentials", []string{"Basic " + base64.StdEncoding.EncodeToString([]byte("admin:"+a.token))}, challenge},
			{"a valid token under another scheme", []string{"Token " + a.token}, challenge},
			{"Bearer without a token", []string{"Bearer"}, challenge},
			{"Bearer with an empty token", []string{"Bearer "}, challenge},
			{"Bearer with only spaces", []string{"Bearer    "}, challenge},
			{"a garbage token", []string{"Bearer not-a-token-at-all"}, challengeInvalidToken},
			{"the prefix alone", []string{"Bearer " + admintokens.Prefix}, challengeInvalidToken},
			{"a valid token with a byte added", []string{"Bearer " + a.token + "A"}, challengeInvalidToken},
			{"a valid token cut short", []string{"Bearer " + a.token[:len(a.token)-1]}, challengeInvalidToken},
			{"a well-formed unknown token", []string{"Bearer " + unknown}, challengeInvalidToken},
			{"an expired token", []string{"Bearer " + expired}, challengeInvalidToken},
			{"a revoked token", []string{"Bearer " + revoked}, challengeInvalidToken},
		}
		for _, op := range operations(t, a) {
			t.Run(op.method+" "+strings.SplitN(op.target[1:], "/", 3)[1], func(t *testing.T) {
				var refusals [][]byte // bodies of the invalid_token replies, which must not differ
				for _, tc := range cases {
					before := countTokens(t, db)
					req := op
					req.header = http.Header{"Authorization": tc.authorization}
					res := a.do(t, req)
					p := wantProblem(t, res, http.StatusUnauthorized)
					if got := res.header.Get("WWW-Authenticate"); got != tc.want {
						t.Errorf("%s: WWW-Authenticate = %q, want %q", tc.name, got, tc.want)
					}
					if p.Detail == "" {
						t.Errorf("%s: the problem has no detail", tc.name)
					}
					for _, v := range tc.authorization {
						if _, secret, _ := strings.Cut(v, " "); len(secret) > 0 && bytes.Contains(res.body, []byte(secret)) {
							t.Errorf("%s: the reply echoes the presented credential: %s", tc.name, res.body)
						}
					}
					if after := countTokens(t, db); after != before {
						t.Errorf("%s: a refused request changed admin_tokens from %+v to %+v", tc.name, before, after)
					}
					if tc.want == challengeInvalidToken {
						refusals = append(refusals, res.body)
					}
				}
				for i := 1; i < len(refusals); i++ {
					if !bytes.Equal(refusals[i], refusals[0]) {
						t.Errorf("refusals differ, telling why a token was refused:\n%s\n%s", refusals[0], refusals[i])
					}
				}
			})
		}
	})
}

func TestAValidAdminTokenIsAccepted(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a := newAPI(t, db)
		for _, authorization := range []string{
			"Bearer " + a.token,
			"bearer " + a.token, // the scheme is case-insensitive (RFC 9110, section 11.1)
			"BEARER " + a.token,
		} {
			res := a.do(t, request{method: http.MethodGet, target: "/v1/status",
				header: http.Header{"Authorization": {authorization}}})
			wantStatus(t, res, http.StatusOK, nil)
			if got := res.header.Get("WWW-Authenticate"); got != "" {
				t.Errorf("%q: an accepted request was challenged: %q", authorization, got)
			}
		}
	})
}

func TestATokenStopsWorkingWhenItExpires(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a := newAPI(t, db)
		short := a.newToken(t, "short-lived", time.Minute)
		get := request{method: http.MethodGet, target: "/v1/status", header: http.Header{"Authorization": {"Bearer " + short}}}
		wantStatus(t, a.do(t, get), http.StatusOK, nil)
		a.clock.Advance(time.Minute - time.Microsecond)
		wantStatus(t, a.do(t, get), http.StatusOK, nil)
		a.clock.Advance(time.Microsecond)
		res := a.do(t, get)
		wantProblem(t, res, http.StatusUnauthorized)
		if got := res.header.Get("WWW-Authenticate"); got != challengeInvalidToken {
			t.Errorf("WWW-Authenticate = %q, want %q", got, challengeInvalidToken)
		}
	})
}

func random(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}
