package users_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
	"github.com/identityd/identityd/users"
)

func TestAUserIsCreatedReadChangedAndDeleted(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, defaultOptions())
		ctx := context.Background()
		u := f.create(t, users.NewUser{Email: "Ada@Example.com", Name: "Ada Lovelace", Username: "Ada",
			Password: "violet kettle drum 42", Metadata: json.RawMessage(`{ "team": "engines" }`), Source: users.SourceAPI})
		if u.Email != "Ada@Example.com" || u.Username != "Ada" || u.Status != users.StatusActive || !u.HasPassword || u.EmailVerified {
			t.Errorf("created %+v", u)
		}
		if string(u.Metadata) != `{"team":"engines"}` {
			t.Errorf("metadata %s, want it compacted", u.Metadata)
		}
		got, err := f.svc.Get(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, u) {
			t.Errorf("Get = %+v\nCreate gave %+v", got, u)
		}
		if h := f.storedHash(t, u.ID); !strings.HasPrefix(h, "$argon2id$v=19$m=7168,t=1,p=1$") {
			t.Errorf("stored hash %q, want argon2id with the configured parameters", h)
		}

		name, verified, empty := "Ada King", true, ""
		u2, err := f.svc.Update(ctx, u.ID, users.Patch{Name: &name, EmailVerified: &verified, Username: &empty})
		if err != nil {
			t.Fatal(err)
		}
		if u2.Name != "Ada King" || !u2.EmailVerified || u2.Username != "" {
			t.Errorf("updated %+v", u2)
		}
		newEmail := "ada@engines.example.org"
		u3, err := f.svc.Update(ctx, u.ID, users.Patch{Email: &newEmail})
		if err != nil {
			t.Fatal(err)
		}
		if u3.Email != newEmail || u3.EmailVerified {
			t.Errorf("a new address must be unverified: %+v", u3)
		}
		disabled := users.StatusDisabled
		if _, err := f.svc.Update(ctx, u.ID, users.Patch{Status: &disabled}); err != nil {
			t.Fatal(err)
		}
		if got := f.revoked.all(); !slices.Equal(got, []string{u.ID + ":disabled"}) {
			t.Errorf("revocations %v, want the disable", got)
		}
		if err := f.svc.Delete(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Get(ctx, u.ID); !errors.Is(err, users.ErrNotFound) {
			t.Errorf("Get after Delete: %v, want ErrNotFound", err)
		}
		if err := f.svc.Delete(ctx, u.ID); !errors.Is(err, users.ErrNotFound) {
			t.Errorf("second Delete: %v, want ErrNotFound", err)
		}
		want := []string{
			"user.created " + u.ID + ` {"email_verified":false,"sign_in":"password","source":"api"}`,
			"user.updated " + u.ID + ` {"fields":["email_verified","username","name"]}`,
			"user.updated " + u.ID + ` {"fields":["email","email_verified"]}`,
			"user.disabled " + u.ID,
			"user.deleted " + u.ID,
		}
		if got := events(t, db); !slices.Equal(got, want) {
			t.Errorf("audit events:\ngot  %q\nwant %q", got, want)
		}
		for _, e := range events(t, db) {
			if strings.Contains(strings.ToLower(e), "ada") {
				t.Errorf("the audit log holds personal data: %s", e)
			}
		}
	})
}

func TestEmailAndUsernameAreUniqueWhateverTheirCase(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, defaultOptions())
		ctx := context.Background()
		a := f.create(t, users.NewUser{Email: "grace@example.com", Username: "grace"})
		b := f.create(t, users.NewUser{Email: "alan@example.com"})
		for _, tc := range []struct {
			n     users.NewUser
			field string
		}{
			{users.NewUser{Email: "GRACE@example.COM"}, "email"},
			{users.NewUser{Email: "other@example.com", Username: "Grace"}, "username"},
		} {
			_, err := f.svc.Create(ctx, tc.n)
			var ce *users.ConflictError
			if !errors.As(err, &ce) || ce.Field != tc.field {
				t.Errorf("Create %+v: %v, want a conflict on %s", tc.n, err, tc.field)
			}
		}
		taken := "Grace@Example.com"
		_, err := f.svc.Update(ctx, b.ID, users.Patch{Email: &taken})
		var ce *users.ConflictError
		if !errors.As(err, &ce) || ce.Field != "email" {
			t.Errorf("Update to a taken address: %v, want a conflict on email", err)
		}
		takenName := "GRACE"
		if _, err := f.svc.Update(ctx, b.ID, users.Patch{Username: &takenName}); !errors.As(err, &ce) || ce.Field != "username" {
			t.Errorf("Update to a taken username: %v, want a conflict on username", err)
		}
		// A user may change the case of their own address.
		own := "Grace@Example.com"
		if _, err := f.svc.Update(ctx, a.ID, users.Patch{Email: &own}); err != nil {
			t.Errorf("changing the case of one's own address: %v", err)
		}
		if n := storetest.Count(t, db, "users"); n != 2 {
			t.Errorf("%d users, want 2", n)
		}
	})
}

func TestInvalidInputListsEveryFieldAndWritesNothing(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, defaultOptions())
		before := events(t, db)
		deep := strings.Repeat(`{"a":`, 20) + "1" + strings.Repeat("}", 20)
		for _, tc := range []struct {
			name   string
			n      users.NewUser
			fields []string
		}{
			{"empty", users.NewUser{}, []string{"email"}},
			{"everything wrong", users.NewUser{Email: "not an address", Username: "a b", Name: " padded",
				Metadata: json.RawMessage(`[1,2]`)}, []string{"email", "username", "name", "metadata"}},
			{"overlong email", users.NewUser{Email: strings.Repeat("a", 250) + "@example.com"}, []string{"email"}},
			{"display name and address", users.NewUser{Email: "Ada <ada@example.com>"}, []string{"email"}},
			{"no domain dot", users.NewUser{Email: "ada@localhost"}, []string{"email"}},
			{"quoted local part", users.NewUser{Email: `"a b"@example.com`}, []string{"email"}},
			{"invalid UTF-8", users.NewUser{Email: "ada\xff@example.com", Name: "\xff"}, []string{"email", "name"}},
			{"SQL in the email", users.NewUser{Email: "x'; DROP TABLE users; --@example.com"}, []string{"email"}},
			{"username with @", users.NewUser{Email: "ada@example.com", Username: "ada@home"}, []string{"username"}},
			{"username too short", users.NewUser{Email: "ada@example.com", Username: "a"}, []string{"username"}},
			{"oversized metadata", users.NewUser{Email: "ada@example.com",
				Metadata: json.RawMessage(`{"x":"` + strings.Repeat("y", users.MaxMetadataBytes) + `"}`)}, []string{"metadata"}},
			{"deep metadata", users.NewUser{Email: "ada@example.com", Metadata: json.RawMessage(deep)}, []string{"metadata"}},
			{"invalid metadata", users.NewUser{Email: "ada@example.com", Metadata: json.RawMessage(`{"a":`)}, []string{"metadata"}},
			{"weak password", users.NewUser{Email: "ada@example.com", Password: "password1"}, []string{"password"}},
			{"password with the email", users.NewUser{Email: "lovelace@example.com", Password: "lovelace-rules-1843"}, []string{"password"}},
			{"both password and hash", users.NewUser{Email: "ada@example.com", Password: "violet kettle drum 42",
				PasswordHash: "$2b$10$abc"}, []string{"password_hash"}},
			{"malformed hash", users.NewUser{Email: "ada@example.com", PasswordHash: "pbkdf2_sha256$x$y$z"}, []string{"password_hash"}},
			{"hostile hash", users.NewUser{Email: "ada@example.com",
				PasswordHash: "$argon2id$v=19$m=4194304,t=100,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"}, []string{"password_hash"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := f.svc.Create(context.Background(), tc.n)
				var ve *users.ValidationError
				if !errors.As(err, &ve) {
					t.Fatalf("Create: %v, want a ValidationError", err)
				}
				var fields []string
				for _, e := range ve.Errors {
					fields = append(fields, e.Field)
					if e.Reason == "" {
						t.Errorf("%s: no reason", e.Field)
					}
					if tc.n.Password != "" && strings.Contains(e.Reason, tc.n.Password) {
						t.Errorf("the reason echoes the password: %s", e.Reason)
					}
				}
				if !slices.Equal(fields, tc.fields) {
					t.Errorf("fields %v, want %v (%v)", fields, tc.fields, err)
				}
			})
		}
		if n := storetest.Count(t, db, "users"); n != 0 {
			t.Errorf("%d users written", n)
		}
		if got := events(t, db); len(got) != len(before) {
			t.Errorf("events recorded for refused input: %v", got[len(before):])
		}
	})
}

func TestAFailingRevokerRollsTheChangeBack(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, defaultOptions())
		ctx := context.Background()
		u := f.create(t, users.NewUser{Email: "ada@example.com", Password: "violet kettle drum 42"})
		old := f.storedHash(t, u.ID)
		f.revoked.fail = true
		if err := f.svc.SetPassword(ctx, u.ID, "amber lantern field 77"); err == nil {
			t.Fatal("SetPassword succeeded although revoking the sessions failed")
		}
		if f.storedHash(t, u.ID) != old {
			t.Error("the password changed although its revocation failed")
		}
		f.revoked.fail = true
		disabled := users.StatusDisabled
		if _, err := f.svc.Update(ctx, u.ID, users.Patch{Status: &disabled}); err == nil {
			t.Fatal("disabling succeeded although revoking failed")
		}
		if got, _ := f.svc.Get(ctx, u.ID); got.Status != users.StatusActive {
			t.Errorf("status %s after a failed disable", got.Status)
		}
		if _, err := f.svc.Authenticate(ctx, "ada@example.com", "violet kettle drum 42"); err != nil {
			t.Errorf("the old password no longer works: %v", err)
		}
	})
}

func TestAdminSetPasswordChecksThePolicyAndRevokes(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, defaultOptions())
		ctx := context.Background()
		u := f.create(t, users.NewUser{Email: "ada@example.com"})
		var ve *users.ValidationError
		if err := f.svc.SetPassword(ctx, u.ID, "12345678"); !errors.As(err, &ve) || ve.Errors[0].Field != "password" {
			t.Errorf("a common password: %v, want a ValidationError on password", err)
		}
		if err := f.svc.SetPassword(ctx, "nosuchuser", "amber lantern field 77"); !errors.Is(err, users.ErrNotFound) {
			t.Errorf("unknown user: %v", err)
		}
		if err := f.svc.SetPassword(ctx, u.ID, "amber lantern field 77"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Authenticate(ctx, "ada@example.com", "amber lantern field 77"); err != nil {
			t.Errorf("the new password does not work: %v", err)
		}
		if got := f.revoked.all(); !slices.Equal(got, []string{u.ID + ":password_set"}) {
			t.Errorf("revocations %v", got)
		}
		if err := f.svc.ChangePassword(ctx, u.ID, "wrong current password", "quiet meadow stone 19"); !errors.Is(err, users.ErrInvalidCredentials) {
			t.Errorf("change with a wrong current password: %v", err)
		}
		if err := f.svc.ChangePassword(ctx, u.ID, "amber lantern field 77", "quiet meadow stone 19"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Authenticate(ctx, "ada@example.com", "quiet meadow stone 19"); err != nil {
			t.Errorf("the changed password does not work: %v", err)
		}
	})
}
