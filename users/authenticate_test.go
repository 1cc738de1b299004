package users_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
	"github.com/identityd/identityd/users"
)

// djangoHash is Django's pbkdf2_sha256 of djangoPassword with the salt Yb2Ds1cK9wQz and
// 260,000 iterations (Django 3.2's default), made outside Go with:
//
//	python3 -c "import hashlib,base64; print(base64.b64encode(hashlib.pbkdf2_hmac('sha256',
//	  b'Tr0ub4dor&3 is not it', b'Yb2Ds1cK9wQz', 260000)).decode())"
const (
	djangoHash     = "pbkdf2_sha256$260000$Yb2Ds1cK9wQz$V1mP3oUd3lxEzgCs5FB22mF9lXpcIWJoZyHxIDpUmcE="
	djangoPassword = "Tr0ub4dor&3 is not it"
)

func TestSignInWorksByEmailOrUsernameInAnyCase(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, defaultOptions())
		u := f.create(t, users.NewUser{Email: "Ada@Example.com", Username: "AdaL", Password: "violet kettle drum 42"})
		for _, id := range []string{"ada@example.com", "ADA@EXAMPLE.COM", "adal", "AdaL"} {
			got, err := f.svc.Authenticate(fromIP("192.0.2.1"), id, "violet kettle drum 42")
			if err != nil || got.ID != u.ID {
				t.Errorf("Authenticate(%q) = %v, %v", id, got.ID, err)
			}
			if got.LastLoginAt == nil {
				t.Errorf("Authenticate(%q): no last login time", id)
			}
		}
		if _, err := f.svc.Authenticate(context.Background(), "ada@example.com", "violet kettle drum 43"); !errors.Is(err, users.ErrInvalidCredentials) {
			t.Errorf("wrong password: %v", err)
		}
		got := events(t, db)
		if last := got[len(got)-1]; last != "user.login.failed "+u.ID+` {"reason":"wrong_password"}` {
			t.Errorf("last event %q", last)
		}
		if n := strings.Count(strings.Join(got, "\n"), "user.login.succeeded "+u.ID); n != 4 {
			t.Errorf("%d sign-ins recorded, want 4", n)
		}
	})
}

func TestAnUnknownUserAndAWrongPasswordLookTheSame(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, defaultOptions())
		f.create(t, users.NewUser{Email: "ada@example.com", Password: "violet kettle drum 42"})
		f.create(t, users.NewUser{Email: "nopass@example.com"})
		attempt := func(identifier, password string) (error, uint64) {
			before := f.hasher.Stats().Derivations
			_, err := f.svc.Authenticate(context.Background(), identifier, password)
			return err, f.hasher.Stats().Derivations - before
		}
		for _, password := range []string{"wrong password here", "wrong pässword with ﬁ ligature"} {
			wrongErr, wrongWork := attempt("ada@example.com", password)
			for _, identifier := range []string{"nobody@example.com", "nobody", "nopass@example.com", "", strings.Repeat("x", 300)} {
				err, work := attempt(identifier, password)
				if err != wrongErr { //nolint:errorlint // the very same error value, not merely one that wraps it
					t.Errorf("%q: error %v, and a wrong password gives %v", identifier, err, wrongErr)
				}
				if err.Error() != wrongErr.Error() {
					t.Errorf("%q: message %q, wrong password %q", identifier, err, wrongErr)
				}
				if work != wrongWork {
					t.Errorf("%q with %q: %d key derivations, a wrong password costs %d", identifier, password, work, wrongWork)
				}
			}
			if wrongWork == 0 {
				t.Error("a wrong password cost no hashing at all")
			}
		}
	})
}

func TestAnImportedDjangoHashSignsInAndIsUpgradedToArgon2id(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, defaultOptions())
		ctx := context.Background()
		rep, err := f.svc.Import(ctx, strings.NewReader(`{"email":"django@example.com","name":"Old Site","password_hash":"`+djangoHash+`"}`+"\n"),
			func(r users.Rejection) { t.Errorf("rejected: %+v", r) })
		if err != nil || rep.Created != 1 {
			t.Fatalf("import: %+v, %v", rep, err)
		}
		page, err := f.svc.List(ctx, users.Filter{Query: "django@example.com", Limit: 1})
		if err != nil || len(page.Users) != 1 {
			t.Fatalf("find the imported user: %v %v", page, err)
		}
		id := page.Users[0].ID
		if h := f.storedHash(t, id); h != djangoHash {
			t.Fatalf("stored %q before the first sign-in, want the imported hash", h)
		}
		if _, err := f.svc.Authenticate(ctx, "django@example.com", "Tr0ub4dor&3 is not i"); !errors.Is(err, users.ErrInvalidCredentials) {
			t.Errorf("wrong password against the Django hash: %v", err)
		}
		u, err := f.svc.Authenticate(ctx, "django@example.com", djangoPassword)
		if err != nil || u.ID != id {
			t.Fatalf("sign in with the Django password: %v", err)
		}
		upgraded := f.storedHash(t, id)
		if !strings.HasPrefix(upgraded, "$argon2id$v=19$m=7168,t=1,p=1$") {
			t.Fatalf("after sign-in the stored hash is %q, want argon2id", upgraded)
		}
		if _, err := f.svc.Authenticate(ctx, "django@example.com", djangoPassword); err != nil {
			t.Errorf("sign in with the upgraded hash: %v", err)
		}
		if f.storedHash(t, id) != upgraded {
			t.Error("a current hash was rehashed again")
		}
		if !slices.Contains(events(t, db), "user.password.upgraded "+id+` {"from":"pbkdf2_sha256"}`) {
			t.Errorf("no upgrade event in %q", events(t, db))
		}
	})
}

func TestFailuresSlowDownThenLockTheAccountWithAnEmailUntilUnlocked(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		o := defaultOptions()
		o.mail = true
		o.throttle = users.ThrottleConfig{BackoffAfter: 2, BackoffBase: time.Minute, BackoffMax: 10 * time.Minute,
			LockAfter: 4, NetworkMaxFailures: 0}
		f := newFixture(t, db, o)
		ctx := fromIP("198.51.100.7")
		u := f.create(t, users.NewUser{Email: "ada@example.com", Name: "Ada", Password: "violet kettle drum 42"})
		wrong := func() {
			t.Helper()
			if _, err := f.svc.Authenticate(ctx, "ada@example.com", "guess"); !errors.Is(err, users.ErrInvalidCredentials) {
				t.Fatalf("wrong password: %v", err)
			}
		}
		wrong()
		wrong() // the second failure starts a one-minute backoff
		if _, err := f.svc.Authenticate(ctx, "ada@example.com", "violet kettle drum 42"); !errors.Is(err, users.ErrInvalidCredentials) {
			t.Fatalf("the right password during the backoff: %v, want ErrInvalidCredentials", err)
		}
		got, _ := f.svc.Get(ctx, u.ID)
		if got.FailedLogins != 2 {
			t.Errorf("%d failures counted; attempts during the backoff must not count", got.FailedLogins)
		}
		f.clock.Advance(time.Minute)
		wrong() // third: a two-minute backoff
		f.clock.Advance(2 * time.Minute)
		wrong() // fourth: locked
		got, _ = f.svc.Get(ctx, u.ID)
		if got.Status != users.StatusLocked || got.LockedAt == nil {
			t.Fatalf("after 4 failures: %+v, want locked", got)
		}
		f.clock.Advance(time.Hour)
		if _, err := f.svc.Authenticate(ctx, "ada@example.com", "violet kettle drum 42"); !errors.Is(err, users.ErrInvalidCredentials) {
			t.Fatalf("the right password on a locked account: %v", err)
		}

		m := f.nextMail(t)
		if m.To[0] != "ada@example.com" || !strings.Contains(m.Text, "198.51.100.7") || !strings.Contains(m.Text, "4") {
			t.Errorf("lockout mail to %v:\n%s", m.To, m.Text)
		}
		if tok := linkToken(t, m, users.ResetPath); tok == "" {
			t.Error("the lockout mail has no reset link")
		}

		if _, err := f.svc.Unlock(ctx, "nosuchuser"); !errors.Is(err, users.ErrNotFound) {
			t.Errorf("Unlock of nobody: %v", err)
		}
		got, err := f.svc.Unlock(ctx, u.ID)
		if err != nil || got.Status != users.StatusActive || got.FailedLogins != 0 {
			t.Fatalf("Unlock: %+v, %v", got, err)
		}
		if _, err := f.svc.Authenticate(ctx, "ada@example.com", "violet kettle drum 42"); err != nil {
			t.Fatalf("sign in after unlock: %v", err)
		}
		// Unlocking an account that is not locked clears its failures, audited; with none
		// to clear it does nothing.
		wrong()
		if got, err := f.svc.Unlock(ctx, u.ID); err != nil || got.Status != users.StatusActive || got.FailedLogins != 0 {
			t.Fatalf("Unlock of a failing, unlocked account: %+v, %v", got, err)
		}
		if _, err := f.svc.Unlock(ctx, u.ID); err != nil {
			t.Fatalf("Unlock with nothing to clear: %v", err)
		}
		var kinds []string
		for _, e := range events(t, db) {
			kinds = append(kinds, strings.Fields(e)[0])
		}
		want := []string{"user.created", "user.login.failed", "user.login.failed", "user.login.failed", "user.login.failed",
			"user.locked", "user.login.failed", "user.login.failed", "user.unlocked", "user.login.succeeded",
			"user.login.failed", "user.failures_cleared"}
		if !slices.Equal(kinds, want) {
			t.Errorf("events:\ngot  %v\nwant %v", kinds, want)
		}
	})
}

func TestANetworkThatFailsTooOftenIsBlockedForTheWindow(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		o := defaultOptions()
		o.throttle.NetworkMaxFailures, o.throttle.NetworkWindow = 3, 10*time.Minute
		f := newFixture(t, db, o)
		f.create(t, users.NewUser{Email: "ada@example.com", Password: "violet kettle drum 42"})
		for i, identifier := range []string{"a@example.com", "b@example.com", "ada@example.com"} {
			if _, err := f.svc.Authenticate(fromIP("2001:db8:1:2::5"), identifier, "guess"); !errors.Is(err, users.ErrInvalidCredentials) {
				t.Fatalf("failure %d: %v", i+1, err)
			}
		}
		before := f.hasher.Stats().Derivations
		// Another address of the same /64 is the same network.
		if _, err := f.svc.Authenticate(fromIP("2001:db8:1:2::99"), "ada@example.com", "violet kettle drum 42"); !errors.Is(err, users.ErrNetworkBlocked) {
			t.Fatalf("a blocked network: %v, want ErrNetworkBlocked", err)
		}
		if f.hasher.Stats().Derivations != before {
			t.Error("a blocked network still costs a hash")
		}
		if _, err := f.svc.Authenticate(fromIP("2001:db8:1:3::5"), "ada@example.com", "violet kettle drum 42"); err != nil {
			t.Errorf("another network: %v", err)
		}
		f.clock.Advance(10 * time.Minute)
		if _, err := f.svc.Authenticate(fromIP("2001:db8:1:2::5"), "ada@example.com", "violet kettle drum 42"); err != nil {
			t.Errorf("after the window: %v", err)
		}
		if !slices.ContainsFunc(events(t, db), func(e string) bool {
			return strings.HasPrefix(e, "user.login.network_blocked 2001:db8:1:2::/64 ")
		}) {
			t.Errorf("no network_blocked event in %q", events(t, db))
		}
		if n, err := f.svc.DeleteStaleNetworkFailures(context.Background(), 10); err != nil || n != 1 {
			t.Errorf("cleanup deleted %d windows (%v), want the ended one", n, err)
		}
	})
}

func TestADisabledUserIsToldSoOnlyWithTheRightPassword(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, defaultOptions())
		ctx := context.Background()
		u := f.create(t, users.NewUser{Email: "ada@example.com", Password: "violet kettle drum 42"})
		disabled := users.StatusDisabled
		if _, err := f.svc.Update(ctx, u.ID, users.Patch{Status: &disabled}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Authenticate(ctx, "ada@example.com", "guess"); !errors.Is(err, users.ErrInvalidCredentials) {
			t.Errorf("wrong password on a disabled account: %v", err)
		}
		if _, err := f.svc.Authenticate(ctx, "ada@example.com", "violet kettle drum 42"); !errors.Is(err, users.ErrDisabled) {
			t.Errorf("right password on a disabled account: %v, want ErrDisabled", err)
		}
	})
}
