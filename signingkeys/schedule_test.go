package signingkeys

import (
	"testing"
	"time"
)

func TestPlace(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
	ptr := func(h int) *time.Time { v := at(h); return &v }
	const life = 24 * time.Hour
	cases := []struct {
		name  string
		keys  []Key
		now   time.Time
		want  map[string]string // kid: state, for published keys; "-" for unpublished
		until time.Time
	}{{
		name: "current and next",
		keys: []Key{{ID: "b", Alg: ES256, ActivatesAt: at(10)}, {ID: "a", Alg: ES256, ActivatesAt: at(0)}},
		now:  at(5), want: map[string]string{"a": StateCurrent, "b": StateNext}, until: at(10),
	}, {
		name: "replaced and not yet marked: retired, published a token lifetime past its successor's activation",
		keys: []Key{{ID: "a", Alg: ES256, ActivatesAt: at(0)}, {ID: "b", Alg: ES256, ActivatesAt: at(10)}},
		now:  at(11), want: map[string]string{"a": StateRetired, "b": StateCurrent}, until: at(34),
	}, {
		name: "past its unpublish time",
		keys: []Key{{ID: "a", Alg: ES256, ActivatesAt: at(0)}, {ID: "b", Alg: ES256, ActivatesAt: at(10)}},
		now:  at(34), want: map[string]string{"a": "-", "b": StateCurrent},
	}, {
		name: "a key marked retired never signs again, even with no other",
		keys: []Key{{ID: "a", Alg: ES256, ActivatesAt: at(0), RetiredAt: ptr(1), UnpublishAt: ptr(2)}},
		now:  at(1), want: map[string]string{"a": StateRetired}, until: at(2),
	}, {
		name: "nothing active yet: the earliest key signs",
		keys: []Key{{ID: "b", Alg: ES256, ActivatesAt: at(2)}, {ID: "a", Alg: ES256, ActivatesAt: at(1)}},
		now:  at(0), want: map[string]string{"a": StateCurrent, "b": StateNext}, until: at(2),
	}, {
		name: "algorithms apart",
		keys: []Key{{ID: "r", Alg: RS256, ActivatesAt: at(3)}, {ID: "e", Alg: ES256, ActivatesAt: at(0)}},
		now:  at(4), want: map[string]string{"e": StateCurrent, "r": StateCurrent},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			placed, until := place(c.keys, c.now, life)
			if len(placed) != len(c.keys) {
				t.Fatalf("placed %d keys of %d", len(placed), len(c.keys))
			}
			for _, k := range placed {
				got := k.State
				if !published(k, c.now) {
					got = "-"
				}
				if got != c.want[k.ID] {
					t.Errorf("key %s: %s, want %s", k.ID, got, c.want[k.ID])
				}
			}
			if !until.Equal(c.until) {
				t.Errorf("until %s, want %s", until, c.until)
			}
			for _, k := range c.keys {
				if k.State != "" {
					t.Fatal("place changed its input")
				}
			}
		})
	}
}
