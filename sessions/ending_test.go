package sessions_test

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/identityd/identityd/sessions"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
	"github.com/identityd/identityd/users"
)

func TestEndHooksHearOfEveryWaySessionsEnd(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, sessions.Config{})
		ctx := context.Background()
		var heard []sessions.Ending
		f.svc.OnEnd(func(_ context.Context, tx *store.Tx, e sessions.Ending) error {
			if tx == nil {
				t.Error("a hook was called outside a transaction")
			}
			slices.Sort(e.IDs)
			heard = append(heard, e)
			return nil
		})
		ada := f.newUser(t)
		want := func(what string, e sessions.Ending) {
			t.Helper()
			slices.Sort(e.IDs)
			if len(heard) != 1 || !reflect.DeepEqual(heard[0], e) {
				t.Fatalf("%s: hooks heard %+v, want just %+v", what, heard, e)
			}
			heard = nil
		}

		tok1, s1 := f.establish(t, "", ada, false)
		tok2, s2 := f.establish(t, tok1, ada, false)
		want("a sign-in replacing a session", sessions.Ending{UserID: ada, IDs: []string{s1.ID}, Reason: sessions.ReasonReplaced})
		if err := f.svc.End(ctx, tok2); err != nil {
			t.Fatal(err)
		}
		want("a sign-out", sessions.Ending{UserID: ada, IDs: []string{s2.ID}, Reason: sessions.ReasonLogout})

		_, s3 := f.establish(t, "", ada, false)
		if err := f.svc.Revoke(ctx, ada, s3.ID, sessions.ReasonAdmin); err != nil {
			t.Fatal(err)
		}
		want("one session revoked", sessions.Ending{UserID: ada, IDs: []string{s3.ID}, Reason: sessions.ReasonAdmin})

		_, keep := f.establish(t, "", ada, false)
		_, s4 := f.establish(t, "", ada, false)
		if _, err := f.svc.RevokeOthers(ctx, ada, keep.ID); err != nil {
			t.Fatal(err)
		}
		want("the others revoked", sessions.Ending{UserID: ada, IDs: []string{s4.ID}, Reason: sessions.ReasonUser})
		if _, err := f.svc.RevokeAll(ctx, ada, sessions.ReasonAdmin); err != nil {
			t.Fatal(err)
		}
		want("all revoked", sessions.Ending{UserID: ada, IDs: []string{keep.ID}, Reason: sessions.ReasonAdmin, All: true})

		_, s5 := f.establish(t, "", ada, false)
		disabled := users.StatusDisabled
		if _, err := f.users.Update(ctx, ada, users.Patch{Status: &disabled}); err != nil {
			t.Fatal(err)
		}
		want("the user disabled", sessions.Ending{UserID: ada, IDs: []string{s5.ID}, Reason: string(users.RevokeDisabled), All: true})
		if _, err := f.svc.RevokeAll(ctx, ada, sessions.ReasonAdmin); err != nil || len(heard) != 0 {
			t.Fatalf("revoking no sessions: %v, hooks heard %+v; want nothing", err, heard)
		}
	})
}

func TestAFailingEndHookKeepsTheSession(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, sessions.Config{})
		refuse := errors.New("cannot enqueue")
		f.svc.OnEnd(func(context.Context, *store.Tx, sessions.Ending) error { return refuse })
		ada := f.newUser(t)
		tok, _ := f.establish(t, "", ada, false)
		if err := f.svc.End(context.Background(), tok); !errors.Is(err, refuse) {
			t.Fatalf("End with a failing hook = %v, want its error", err)
		}
		f.mustLive(t, "a session whose end could not be told", tok)
		if _, err := f.svc.RevokeAll(context.Background(), ada, sessions.ReasonAdmin); !errors.Is(err, refuse) {
			t.Fatalf("RevokeAll with a failing hook = %v, want its error", err)
		}
		f.mustLive(t, "a session whose end could not be told", tok)
	})
}
