package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/identityd/identityd/store/storetest"
)

// keyLine is a line of keys list --output json.
type keyLine struct {
	Kid         string    `json:"kid"`
	Alg         string    `json:"alg"`
	State       string    `json:"state"`
	ActivatesAt time.Time `json:"activates_at"`
}

func TestKeysRotateThenListShowsTheNewKeys(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, url string) {
		env := dbEnv(url)
		mustRun(t, env, "migrate", "up")
		listKeys := func() []keyLine {
			var out []keyLine
			for _, l := range lines(mustRun(t, env, "keys", "list", "--output", "json").stdout) {
				var k keyLine
				if err := json.Unmarshal([]byte(l), &k); err != nil {
					t.Fatalf("keys list line %q: %v", l, err)
				}
				if strings.Contains(l, `"d"`) || strings.Contains(l, "PRIVATE") {
					t.Errorf("keys list shows private material: %s", l)
				}
				out = append(out, k)
			}
			return out
		}
		if keys := listKeys(); len(keys) != 0 {
			t.Fatalf("keys before any: %+v", keys)
		}

		// With no key yet, the first of each algorithm signs at once.
		o := mustRun(t, env, "keys", "rotate")
		if got := lines(o.stdout); len(got) != 2 || !strings.HasPrefix(got[0], "RS256: new key ") || !strings.HasSuffix(got[0], " signs from now") ||
			!strings.HasPrefix(got[1], "ES256: new key ") {
			t.Fatalf("first rotation: %v", o)
		}
		first := listKeys()
		if len(first) != 2 || first[0].State != "current" || first[1].State != "current" {
			t.Fatalf("after the first rotation: %+v", first)
		}

		// A rotation publishes a next key that signs after the lead.
		o = mustRun(t, env, "keys", "rotate", "--alg", "es256")
		kid, ok := strings.CutPrefix(strings.TrimSpace(o.stdout), "ES256: new key ")
		kid, _, _ = strings.Cut(kid, " ")
		if !ok || !strings.Contains(o.stdout, "is published and signs from") {
			t.Fatalf("rotate --alg es256: %v", o)
		}
		keys := listKeys()
		var next bool
		for _, k := range keys {
			if k.Kid == kid {
				next = k.State == "next" && k.Alg == "ES256" && k.ActivatesAt.After(time.Now().Add(59*time.Minute))
			}
		}
		if len(keys) != 3 || !next {
			t.Fatalf("after rotating ES256: %+v, want %s next, signing in about an hour", keys, kid)
		}
		table := mustRun(t, env, "keys", "list").stdout
		if !strings.HasPrefix(table, "KID") || !strings.Contains(table, kid) || !strings.Contains(table, "next") {
			t.Errorf("table:\n%s", table)
		}

		// While it is pending, another rotation makes nothing and says so.
		o = runCLI(t, env, "keys", "rotate", "--alg", "ES256")
		if o.code != exitFailure || !strings.Contains(o.stderr, kid) || !strings.Contains(o.stderr, "pending") {
			t.Errorf("a second rotation: %v", o)
		}
		if n := len(listKeys()); n != 3 {
			t.Errorf("%d keys after a refused rotation, want 3", n)
		}

		// --now signs at once with a new key and deletes the others.
		o = mustRun(t, env, "keys", "rotate", "--alg", "ES256", "--now")
		now, ok := strings.CutPrefix(strings.TrimSpace(o.stdout), "ES256: new key ")
		now, _, _ = strings.Cut(now, " ")
		if !ok || !strings.HasSuffix(strings.TrimSpace(o.stdout), "signs from now") {
			t.Fatalf("rotate --now: %v", o)
		}
		var es256 []string
		for _, k := range listKeys() {
			if k.Alg == "ES256" {
				es256 = append(es256, k.Kid+":"+k.State)
			}
		}
		if want := []string{now + ":current"}; !slices.Equal(es256, want) {
			t.Errorf("ES256 keys after --now: %v, want %v", es256, want)
		}

		// Listing shows public keys only, so it needs no encryption keys; rotating does.
		noKeys := env[:1]
		if o := runCLI(t, noKeys, "keys", "list", "--output", "json"); o.code != 0 || len(lines(o.stdout)) != len(listKeys()) {
			t.Errorf("keys list without the encryption keys: %v", o)
		}
		if o := runCLI(t, noKeys, "keys", "rotate", "--alg", "ES256"); o.code == 0 || !strings.Contains(o.stderr, "IDENTITYD_ENCRYPTION_KEYS") {
			t.Errorf("keys rotate without the encryption keys: %v", o)
		}

		wantUsage(t, env, "keys", "rotate", "--alg", "HS256")
		wantUsage(t, env, "keys", "list", "--output", "yaml")
	})
}
