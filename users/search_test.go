package users_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
	"github.com/identityd/identityd/users"
)

func TestSearchRanksExactThenPrefixThenSubstringAndPagesWithoutRepeats(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, defaultOptions())
		ctx := context.Background()
		mk := func(email, username, name string) string {
			f.clock.Advance(time.Second)
			return f.create(t, users.NewUser{Email: email, Username: username, Name: name}).ID
		}
		substring := mk("ben@example.com", "", "Benjamin Adams")  // "ada" inside "adams"
		prefix := mk("ada.byron@example.com", "", "Augusta")      // email starts with "ada"
		exact := mk("lovelace@example.com", "ada", "Countess")    // username is "ada"
		namePrefix := mk("countess@example.org", "", "Ada Byron") // name starts with "ada"
		mk("grace@example.com", "grace", "Grace Hopper")          // no match
		mk("percent@example.com", "", "100% Sure_Thing")          // for the LIKE metacharacters

		var got []string
		cursor := ""
		for {
			page, err := f.svc.List(ctx, users.Filter{Query: "ADA", Limit: 1, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range page.Users {
				got = append(got, u.ID)
			}
			if cursor = page.Next; cursor == "" {
				break
			}
		}
		// Prefixes rank together, newest first.
		if want := []string{exact, namePrefix, prefix, substring}; !slices.Equal(got, want) {
			t.Errorf("ranked ids %v, want %v", got, want)
		}

		for q, want := range map[string]int{
			"%": 1, "_": 1, "100%": 1, "sure_": 1, "a_a": 0, `\`: 0, "'; DROP TABLE users; --": 0, `"`: 0,
			"ex": 6, "EXAMPLE.COM": 5, "hopper": 1, "zz": 0,
		} {
			page, err := f.svc.List(ctx, users.Filter{Query: q, Limit: 50})
			if err != nil {
				t.Errorf("q=%q: %v", q, err)
				continue
			}
			if len(page.Users) != want {
				t.Errorf("q=%q: %d users, want %d", q, len(page.Users), want)
			}
		}
		if n := storetest.Count(t, db, "users"); n != 6 {
			t.Errorf("%d users after hostile queries", n)
		}
	})
}

func TestListFiltersAndPagesNewestFirst(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, defaultOptions())
		ctx := context.Background()
		var ids []string
		var mid time.Time
		for i := range 7 {
			f.clock.Advance(time.Minute)
			if i == 3 {
				mid = f.clock.Now()
			}
			u := f.create(t, users.NewUser{Email: fmt.Sprintf("u%d@example.com", i), EmailVerified: i%2 == 0})
			ids = append(ids, u.ID)
		}
		disabled := users.StatusDisabled
		if _, err := f.svc.Update(ctx, ids[0], users.Patch{Status: &disabled}); err != nil {
			t.Fatal(err)
		}
		collect := func(fl users.Filter) []string {
			t.Helper()
			var got []string
			for {
				page, err := f.svc.List(ctx, fl)
				if err != nil {
					t.Fatal(err)
				}
				for _, u := range page.Users {
					got = append(got, u.ID)
				}
				if fl.Cursor = page.Next; fl.Cursor == "" {
					return got
				}
			}
		}
		rev := slices.Clone(ids)
		slices.Reverse(rev)
		if got := collect(users.Filter{Limit: 2}); !slices.Equal(got, rev) {
			t.Errorf("all, newest first: %v, want %v", got, rev)
		}
		yes := true
		if got := collect(users.Filter{Limit: 3, EmailVerified: &yes}); !slices.Equal(got, []string{ids[6], ids[4], ids[2], ids[0]}) {
			t.Errorf("verified: %v", got)
		}
		if got := collect(users.Filter{Limit: 3, Status: users.StatusDisabled}); !slices.Equal(got, []string{ids[0]}) {
			t.Errorf("disabled: %v", got)
		}
		if got := collect(users.Filter{Limit: 10, CreatedFrom: mid}); !slices.Equal(got, rev[:4]) {
			t.Errorf("created from the 4th: %v, want %v", got, rev[:4])
		}
		if got := collect(users.Filter{Limit: 10, CreatedBefore: mid}); !slices.Equal(got, rev[4:]) {
			t.Errorf("created before the 4th: %v, want %v", got, rev[4:])
		}
	})
}

func TestBadListRequestsAreRefused(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, defaultOptions())
		ctx := context.Background()
		now := time.Now()
		for _, fl := range []users.Filter{
			{Limit: 0}, {Limit: -1}, {Limit: users.MaxPageSize + 1}, {Limit: 1 << 40},
			{Limit: 10, Status: "sleeping"},
			{Limit: 10, Query: "\xff\xfe"},
			{Limit: 10, Query: "a\x00b"},
			{Limit: 10, Query: string(make([]byte, 101))},
			{Limit: 10, CreatedFrom: now, CreatedBefore: now.Add(-time.Hour)},
		} {
			var ve *users.ValidationError
			if _, err := f.svc.List(ctx, fl); !errors.As(err, &ve) {
				t.Errorf("List(%+v): %v, want a ValidationError", fl, err)
			}
		}
		// Forged cursors, and cursors of the other kind of list: "MTIzOmFiYw" is a plain
		// list's, "cjE6MTo" a search's with no id.
		for q, cursors := range map[string][]string{
			"":    {"!!!", "AAAA", "cjk6MTIzOmFiYw", "cjE6MTo", "cjE6eDphYmM"},
			"abc": {"!!!", "AAAA", "cjk6MTIzOmFiYw", "cjE6MTo", "cjE6eDphYmM", "MTIzOmFiYw"},
		} {
			for _, c := range cursors {
				if _, err := f.svc.List(ctx, users.Filter{Limit: 10, Query: q, Cursor: c}); !errors.Is(err, users.ErrBadCursor) {
					t.Errorf("cursor %q with q=%q: %v, want ErrBadCursor", c, q, err)
				}
			}
		}
	})
}
