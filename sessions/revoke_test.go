package sessions_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/identityd/identityd/sessions"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
	"github.com/identityd/identityd/users"
)

func TestListShowsTheUsersLiveSessionsNewestFirst(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, sessions.Config{})
		ada, bob := f.newUser(t), f.newUser(t)
		_, idle := f.establish(t, "", ada, false)
		f.clock.Advance(time.Minute)
		_, remembered := f.establish(t, "", ada, true)
		f.clock.Advance(time.Minute)
		ended, _ := f.establish(t, "", ada, false)
		f.clock.Advance(time.Minute)
		_, newest := f.establish(t, "", ada, false)
		_, bobs := f.establish(t, "", bob, false)
		if err := f.svc.End(context.Background(), ended); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(29 * time.Minute) // the first is now 32 minutes idle; the newest 29
		list, err := f.svc.List(context.Background(), ada)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, s := range list {
			got = append(got, s.ID)
		}
		if want := []string{newest.ID, remembered.ID}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("listed %v, want %v (not %s, idle; newest first)", got, want, idle.ID)
		}
		if list[0].UserID != ada || !list[0].IdleExpiresAt.Equal(newest.IdleExpiresAt) || list[0].IP != "203.0.113.7" {
			t.Fatalf("listed %+v, want what Establish returned %+v", list[0], newest)
		}
		if list, err := f.svc.List(context.Background(), bob); err != nil || len(list) != 1 || list[0].ID != bobs.ID {
			t.Fatalf("bob's sessions: %+v, %v", list, err)
		}
		if list, err := f.svc.List(context.Background(), "nosuchuser"); err != nil || len(list) != 0 {
			t.Fatalf("an unknown user's sessions: %+v, %v", list, err)
		}
	})
}

func TestRevokeEndsOnlyTheUsersOwnSession(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, sessions.Config{})
		ctx := context.Background()
		ada, eve := f.newUser(t), f.newUser(t)
		tok1, s1 := f.establish(t, "", ada, false)
		tok2, s2 := f.establish(t, "", ada, false)
		eves, _ := f.establish(t, "", eve, false)
		// Eve has learnt the handle of Ada's session; it does her no good.
		for _, reason := range []string{sessions.ReasonUser, sessions.ReasonAdmin} {
			if err := f.svc.Revoke(ctx, eve, s1.ID, reason); !errors.Is(err, sessions.ErrNotFound) {
				t.Fatalf("revoking another user's session = %v, want ErrNotFound", err)
			}
		}
		f.mustLive(t, "a session another user tried to revoke", tok1, tok2, eves)
		if err := f.svc.Revoke(ctx, ada, s1.ID, "because"); err == nil || errors.Is(err, sessions.ErrNotFound) {
			t.Fatalf("revoke with an unknown reason = %v, want a refusal", err)
		}
		f.mustLive(t, "a session revoked with an unknown reason", tok1)
		if err := f.svc.Revoke(ctx, ada, s1.ID, sessions.ReasonUser); err != nil {
			t.Fatal(err)
		}
		f.mustEnded(t, "a revoked session", tok1)
		f.mustLive(t, "the user's other session", tok2, eves)
		for _, id := range []string{s1.ID, "nosuchsession", ""} {
			if err := f.svc.Revoke(ctx, ada, id, sessions.ReasonAdmin); !errors.Is(err, sessions.ErrNotFound) {
				t.Fatalf("revoke %q = %v, want ErrNotFound", id, err)
			}
		}
		f.clock.Advance(30 * time.Minute)
		if err := f.svc.Revoke(ctx, ada, s2.ID, sessions.ReasonAdmin); !errors.Is(err, sessions.ErrNotFound) {
			t.Fatalf("revoking an expired session = %v, want ErrNotFound", err)
		}
		sameEvents(t, events(t, db, ada)[2:], []string{
			`session.revoked session:` + s1.ID + ` user:` + ada + ` {"reason":"user","user_id":"` + ada + `"}`,
		})
	})
}

func TestRevokeOthersKeepsTheCurrentSession(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, sessions.Config{})
		ctx := context.Background()
		ada, bob := f.newUser(t), f.newUser(t)
		tok1, _ := f.establish(t, "", ada, false)
		current, cur := f.establish(t, "", ada, true)
		tok3, _ := f.establish(t, "", ada, false)
		bobs, _ := f.establish(t, "", bob, true)
		if n, err := f.svc.RevokeOthers(ctx, ada, cur.ID); err != nil || n != 2 {
			t.Fatalf("revoke others = %d, %v; want 2", n, err)
		}
		f.mustEnded(t, "the user's other sessions", tok1, tok3)
		f.mustLive(t, "the current session and another user's", current, bobs)
		if n, err := f.svc.RevokeOthers(ctx, ada, cur.ID); err != nil || n != 0 {
			t.Fatalf("revoke others again = %d, %v; want 0", n, err)
		}
		if _, err := f.svc.RevokeAll(ctx, ada, "everything"); err == nil {
			t.Fatal("revoke all with an unknown reason succeeded")
		}
		f.mustLive(t, "after a refused revoke all", current)
		// Revoking all counts the live sessions it ends, and deletes the expired ones
		// too, so that no longer idle timeout could bring them back.
		f.clock.Advance(time.Hour) // the current session is remembered, so still live
		expired, expiredSess := f.establish(t, "", ada, false)
		f.clock.Advance(30 * time.Minute)
		f.mustEnded(t, "an idle session", expired)
		if n, err := f.svc.RevokeAll(ctx, ada, sessions.ReasonAdmin); err != nil || n != 1 {
			t.Fatalf("revoke all = %d, %v; want 1", n, err)
		}
		if n := countSessions(t, db, ada); n != 0 {
			t.Fatalf("%d sessions left after revoking all", n)
		}
		f.mustLive(t, "another user's session", bobs)
		sameEvents(t, events(t, db, ada)[3:], []string{
			`session.revoked user:` + ada + ` user:` + ada + ` {"count":2,"reason":"user"}`,
			`session.created session:` + expiredSess.ID + ` user:` + ada + ` {"methods":["pwd"],"remember":false}`,
			`session.revoked user:` + ada + ` system:identityd {"count":1,"reason":"admin"}`,
		})
	})
}

func TestRevokeUserCommitsAndRollsBackWithItsTransaction(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, sessions.Config{})
		ctx := context.Background()
		ada, bob := f.newUser(t), f.newUser(t)
		tok1, _ := f.establish(t, "", ada, false)
		tok2, _ := f.establish(t, "", ada, true)
		bobs, _ := f.establish(t, "", bob, false)
		rollback := errors.New("the change failed")
		err := db.Tx(ctx, func(tx *store.Tx) error {
			if err := f.svc.RevokeUser(ctx, tx, ada, users.RevokePasswordReset); err != nil {
				return err
			}
			return rollback
		})
		if !errors.Is(err, rollback) {
			t.Fatal(err)
		}
		f.mustLive(t, "sessions after a rolled-back revocation", tok1, tok2, bobs)
		if got := events(t, db, ada); len(got) != 2 {
			t.Fatalf("a rolled-back revocation left events: %q", got)
		}
		if err := db.Tx(ctx, func(tx *store.Tx) error {
			return f.svc.RevokeUser(ctx, tx, ada, users.RevokePasswordReset)
		}); err != nil {
			t.Fatal(err)
		}
		f.mustEnded(t, "sessions after a committed revocation", tok1, tok2)
		f.mustLive(t, "another user's session", bobs)
		sameEvents(t, events(t, db, ada)[2:], []string{
			`session.revoked user:` + ada + ` system:identityd {"count":2,"reason":"password_reset"}`,
		})
		// A user without sessions: nothing ends, nothing is recorded.
		if err := db.Tx(ctx, func(tx *store.Tx) error {
			return f.svc.RevokeUser(ctx, tx, ada, users.RevokeDisabled)
		}); err != nil {
			t.Fatal(err)
		}
		if got := events(t, db, ada); len(got) != 3 {
			t.Fatalf("revoking no sessions recorded: %q", got[3:])
		}
	})
}

func TestAccountChangesEndSessionsThroughTheUsersService(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, sessions.Config{})
		ctx := context.Background()
		ada := f.newUser(t)
		tok, _ := f.establish(t, "", ada, true)
		disabled, active := users.StatusDisabled, users.StatusActive
		if _, err := f.users.Update(ctx, ada, users.Patch{Status: &disabled}); err != nil {
			t.Fatal(err)
		}
		f.mustEnded(t, "a disabled user's session", tok)
		if _, _, err := f.svc.Establish(browser(), "", ada, sessions.Auth{Methods: []string{"pwd"}}); !errors.Is(err, sessions.ErrUserInactive) {
			t.Fatalf("establish for a disabled user = %v, want ErrUserInactive", err)
		}
		if _, err := f.users.Update(ctx, ada, users.Patch{Status: &active}); err != nil {
			t.Fatal(err)
		}
		tok, _ = f.establish(t, "", ada, false)
		if err := f.users.SetPassword(ctx, ada, "violet kettle drum 42"); err != nil {
			t.Fatal(err)
		}
		f.mustEnded(t, "a session after an admin set the password", tok)
		f.establish(t, "", ada, false)
		if err := f.users.Delete(ctx, ada); err != nil {
			t.Fatal(err)
		}
		if n := countSessions(t, db, ada); n != 0 {
			t.Fatalf("a deleted user has %d sessions", n)
		}
		if _, _, err := f.svc.Establish(browser(), "", ada, sessions.Auth{Methods: []string{"pwd"}}); !errors.Is(err, sessions.ErrUserInactive) {
			t.Fatalf("establish for a deleted user = %v, want ErrUserInactive", err)
		}
		var reasons []string
		for _, e := range events(t, db, ada) {
			if strings.HasPrefix(e, "session.revoked") {
				reasons = append(reasons, e[strings.Index(e, "{"):])
			}
		}
		want := []string{`{"count":1,"reason":"disabled"}`, `{"count":1,"reason":"password_set"}`, `{"count":1,"reason":"deleted"}`}
		if fmt.Sprint(reasons) != fmt.Sprint(want) {
			t.Fatalf("revocations recorded %v, want %v", reasons, want)
		}
	})
}

func TestAUserHasAtMostMaxPerUserSessions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, sessions.Config{})
		ada := f.newUser(t)
		tokens := make([]string, sessions.MaxPerUser)
		for i := range tokens {
			tokens[i], _ = f.establish(t, "", ada, false)
			f.clock.Advance(time.Second)
		}
		// The first is used again: the least recently used is now the second.
		f.clock.Advance(time.Minute)
		f.mustLive(t, "the first session", tokens[0])
		newest, _ := f.establish(t, "", ada, false)
		f.mustEnded(t, "the least recently used session", tokens[1])
		f.mustLive(t, "the newest, the first and the third", newest, tokens[0], tokens[2])
		list, err := f.svc.List(context.Background(), ada)
		if err != nil || len(list) != sessions.MaxPerUser {
			t.Fatalf("listed %d sessions, %v; want %d", len(list), err, sessions.MaxPerUser)
		}
		got := events(t, db, ada)
		if last := got[len(got)-1]; last != `session.revoked user:`+ada+` user:`+ada+` {"count":1,"reason":"limit"}` {
			t.Fatalf("last event %s: want the limit's revocation, by the user signing in", last)
		}
	})
}
