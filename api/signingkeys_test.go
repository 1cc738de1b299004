package api_test

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/identityd/identityd/api"
	"github.com/identityd/identityd/audit"
	"github.com/identityd/identityd/signingkeys"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
)

// listKeys is GET /v1/keys.
func (a *testAPI) listKeys(t testing.TB) []api.SigningKey {
	t.Helper()
	res := a.call(t, http.MethodGet, "/v1/keys", "")
	var page struct{ Items []api.SigningKey }
	wantStatus(t, res, http.StatusOK, &page)
	// Only the documented members, so no key material of any kind.
	var raw struct{ Items []map[string]any }
	if err := json.Unmarshal(res.body, &raw); err != nil {
		t.Fatal(err)
	}
	allowed := []string{"kid", "alg", "state", "created_at", "activates_at", "retired_at", "unpublish_at"}
	for _, k := range raw.Items {
		for name := range maps.Keys(k) {
			if !slices.Contains(allowed, name) {
				t.Errorf("a listed key has the member %q: %s", name, res.body)
			}
		}
	}
	return page.Items
}

// states lists each key's kid and state, in the list's order.
func states(keys []api.SigningKey) []string {
	var out []string
	for _, k := range keys {
		out = append(out, k.ID+":"+k.State)
	}
	return out
}

func TestSigningKeysAreListedAndRotatedThroughTheAPI(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		a := newAPI(t, db)
		ctx := context.Background()
		if keys := a.listKeys(t); len(keys) != 0 {
			t.Fatalf("before any key was made: %+v", keys)
		}
		if err := a.keys.Maintain(ctx); err != nil {
			t.Fatal(err)
		}
		keys := a.listKeys(t)
		if len(keys) != 1 || keys[0].Alg != "ES256" || keys[0].State != "current" || keys[0].RetiredAt != nil {
			t.Fatalf("after the first maintenance: %+v", keys)
		}
		first := keys[0]

		// A rotation publishes the new key now and signs with it after the lead.
		var next api.SigningKey
		wantStatus(t, a.call(t, http.MethodPost, "/v1/keys/rotate", `{"alg":"ES256"}`), http.StatusOK, &next)
		lead := signingkeys.DefaultConfig().PublishLead + signingkeys.DefaultConfig().ReloadEvery
		if next.ID == first.ID || next.State != "next" || next.Alg != "ES256" || !next.ActivatesAt.Equal(a.clock.Now().Add(lead)) {
			t.Fatalf("rotated %+v, want a next key signing in %s", next, lead)
		}
		if got, want := states(a.listKeys(t)), []string{first.ID + ":current", next.ID + ":next"}; !slices.Equal(got, want) {
			t.Errorf("after rotating: %v, want %v", got, want)
		}
		if k, _, err := a.keys.Signing(signingkeys.ES256); err != nil || k.ID != first.ID {
			t.Errorf("signing with %v (%v) before the next key activates, want %s", k, err, first.ID)
		}

		// While that key waits, another rotation is refused and names it.
		p := wantProblem(t, a.call(t, http.MethodPost, "/v1/keys/rotate", `{"alg":"ES256","immediately":false}`), http.StatusConflict)
		if !strings.Contains(p.Detail, next.ID) || !strings.Contains(p.Detail, next.ActivatesAt.UTC().Format(time.RFC3339)) {
			t.Errorf("the conflict does not name the pending key and when it signs: %+v", p)
		}
		if n := len(a.listKeys(t)); n != 2 {
			t.Errorf("%d keys after a refused rotation, want 2", n)
		}

		// Once it signs, the first key is retired and published until its tokens expire.
		a.clock.Advance(lead + time.Second)
		a.token = a.newToken(t, "after the lead", time.Hour) // the harness's expired meanwhile
		keys = a.listKeys(t)
		if got, want := states(keys), []string{first.ID + ":retired", next.ID + ":current"}; !slices.Equal(got, want) {
			t.Fatalf("after the lead: %v, want %v", got, want)
		}
		if r := keys[0]; r.RetiredAt == nil || !r.RetiredAt.Equal(next.ActivatesAt) || r.UnpublishAt == nil ||
			!r.UnpublishAt.Equal(next.ActivatesAt.Add(signingkeys.DefaultConfig().MaxTokenLifetime)) {
			t.Errorf("the retired key %+v", r)
		}

		// An immediate rotation signs at once and unpublishes every other key.
		var now api.SigningKey
		wantStatus(t, a.call(t, http.MethodPost, "/v1/keys/rotate", `{"alg":"ES256","immediately":true}`), http.StatusOK, &now)
		if now.State != "current" || !now.ActivatesAt.Equal(a.clock.Now()) || now.ID == next.ID || now.ID == first.ID {
			t.Fatalf("rotated immediately %+v", now)
		}
		if got, want := states(a.listKeys(t)), []string{now.ID + ":current"}; !slices.Equal(got, want) {
			t.Errorf("after an immediate rotation: %v, want %v", got, want)
		}
		if k, _, err := a.keys.Signing(signingkeys.ES256); err != nil || k.ID != now.ID {
			t.Errorf("signing with %v (%v), want the new key %s at once", k, err, now.ID)
		}
		if _, err := a.keys.Verification(first.ID); err == nil {
			t.Error("the replaced keys still verify")
		}

		var page struct{ Items []api.AuditEvent }
		wantStatus(t, a.call(t, http.MethodGet, "/v1/audit/events?type="+audit.TypeSigningKeyRotated, ""), http.StatusOK, &page)
		if len(page.Items) != 2 || page.Items[0].Target.ID != now.ID || page.Items[1].Target.ID != next.ID {
			t.Fatalf("rotation events %+v", page.Items)
		}
		for _, e := range page.Items {
			if e.Actor.Kind != "admin_token" {
				t.Errorf("%s actor %+v, want the admin token", e.Type, e.Actor)
			}
		}
	})
}

func TestBadRotationsAreRefusedAndChangeNoKey(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		a := newAPI(t, db)
		if err := a.keys.Maintain(context.Background()); err != nil {
			t.Fatal(err)
		}
		before := states(a.listKeys(t))
		for _, tc := range []struct {
			name, body string
			status     int
			where      string
		}{
			// The harness keeps ES256 keys only, as a server whose access tokens are RS256
			// keeps RS256 keys only.
			{"an algorithm the server keeps no keys for", `{"alg":"RS256"}`, 422, "body.alg"},
			{"an unknown algorithm", `{"alg":"HS256"}`, 422, "body.alg"},
			{"alg none", `{"alg":"none"}`, 422, "body.alg"},
			{"a lower-case algorithm", `{"alg":"es256"}`, 422, "body.alg"},
			{"no algorithm", `{}`, 422, "body"},
			{"immediately as a string", `{"alg":"ES256","immediately":"yes"}`, 422, "body.immediately"},
			{"an algorithm list", `{"alg":["ES256","RS256"]}`, 422, "body.alg"},
			{"a private key offered", `{"alg":"ES256","d":"c2VjcmV0"}`, 422, "body.d"},
			{"not JSON", `{"alg":`, 400, ""},
			{"an array", `["ES256"]`, 422, "body"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				p := wantProblem(t, a.call(t, http.MethodPost, "/v1/keys/rotate", tc.body), tc.status)
				if tc.where != "" && !slices.Contains(p.locations(), tc.where) {
					t.Errorf("locations %v, want %s among them", p.locations(), tc.where)
				}
			})
		}
		if after := states(a.listKeys(t)); !slices.Equal(after, before) {
			t.Errorf("keys went from %v to %v", before, after)
		}
		wantProblem(t, a.call(t, http.MethodGet, "/v1/keys?alg=ES256", ""), http.StatusUnprocessableEntity)
	})
}
