package users_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/identityd/identityd/mail/mailtest"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
	"github.com/identityd/identityd/users"
)

func TestVerificationAndResetLinksArriveByRealSMTPAndWorkOnce(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		o := defaultOptions()
		o.mail = true
		f := newFixture(t, db, o)
		ctx := context.Background()
		u := f.create(t, users.NewUser{Email: "Ada@Example.com", Name: "Ada", Password: "violet kettle drum 42"})

		if err := f.svc.RequestVerification(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		m := f.nextMail(t)
		if !slices.Equal(m.To, []string{"Ada@Example.com"}) || m.Subject == "" || m.HTML == "" {
			t.Errorf("verification mail: to %v, subject %q", m.To, m.Subject)
		}
		tok := linkToken(t, m, users.VerifyPath)
		var stored int
		if err := db.QueryRow(ctx, `SELECT count(*) FROM user_tokens WHERE token_hash = $1`, []byte(tok)).Scan(&stored); err != nil || stored != 0 {
			t.Errorf("the token is stored as it is (%d, %v); only its hash may be", stored, err)
		}
		verified, err := f.svc.VerifyEmail(ctx, tok)
		if err != nil || !verified.EmailVerified {
			t.Fatalf("VerifyEmail: %+v, %v", verified, err)
		}
		if _, err := f.svc.VerifyEmail(ctx, tok); !errors.Is(err, users.ErrInvalidToken) {
			t.Errorf("the link worked twice: %v", err)
		}
		if err := f.svc.RequestVerification(ctx, u.ID); !errors.Is(err, users.ErrAlreadyVerified) {
			t.Errorf("verifying a verified address: %v", err)
		}

		// Forgot password: the address in another case still finds the account.
		if err := f.svc.RequestPasswordReset(ctx, "ADA@example.com"); err != nil {
			t.Fatal(err)
		}
		reset := linkToken(t, f.nextMail(t), users.ResetPath)
		var ve *users.ValidationError
		if _, err := f.svc.ResetPassword(ctx, reset, "ada@example.com!"); !errors.As(err, &ve) {
			t.Errorf("a new password containing the address: %v, want a ValidationError", err)
		}
		if _, err := f.svc.ResetPassword(ctx, reset, "amber lantern field 77"); err != nil {
			t.Fatalf("ResetPassword with a link refused once for a weak password: %v", err)
		}
		if _, err := f.svc.Authenticate(ctx, "ada@example.com", "violet kettle drum 42"); !errors.Is(err, users.ErrInvalidCredentials) {
			t.Errorf("the old password still works: %v", err)
		}
		if _, err := f.svc.Authenticate(ctx, "ada@example.com", "amber lantern field 77"); err != nil {
			t.Errorf("the new password does not work: %v", err)
		}
		if _, err := f.svc.ResetPassword(ctx, reset, "quiet meadow stone 19"); !errors.Is(err, users.ErrInvalidToken) {
			t.Errorf("the reset link worked twice: %v", err)
		}
		if got := f.revoked.all(); !slices.Equal(got, []string{u.ID + ":password_reset"}) {
			t.Errorf("revocations %v, want the reset's", got)
		}
		if n := storetest.Count(t, db, "river_job WHERE CAST(args AS TEXT) LIKE '%"+reset[:20]+"%'"); n != 0 {
			t.Errorf("the link's token sits in plaintext in %d job rows", n)
		}
	})
}

func TestLinksExpireAreReplacedAndDieWithAnAddressChange(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		o := defaultOptions()
		o.mail = true
		f := newFixture(t, db, o)
		ctx := context.Background()
		u := f.create(t, users.NewUser{Email: "ada@example.com", Password: "violet kettle drum 42"})

		if err := f.svc.SendPasswordReset(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		first := linkToken(t, f.nextMail(t), users.ResetPath)
		if err := f.svc.SendPasswordReset(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		second := linkToken(t, f.nextMail(t), users.ResetPath)
		if _, err := f.svc.ResetPassword(ctx, first, "amber lantern field 77"); !errors.Is(err, users.ErrInvalidToken) {
			t.Errorf("a replaced link still works: %v", err)
		}
		f.clock.Advance(time.Hour)
		if _, err := f.svc.ResetPassword(ctx, second, "amber lantern field 77"); !errors.Is(err, users.ErrInvalidToken) {
			t.Errorf("an expired link still works: %v", err)
		}
		if n, err := f.svc.DeleteExpiredLinks(ctx, 10); err != nil || n != 1 {
			t.Errorf("cleanup deleted %d links (%v), want 1", n, err)
		}

		if err := f.svc.RequestVerification(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		verify := linkToken(t, f.nextMail(t), users.VerifyPath)
		other := "ada@elsewhere.example.org"
		if _, err := f.svc.Update(ctx, u.ID, users.Patch{Email: &other}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.VerifyEmail(ctx, verify); !errors.Is(err, users.ErrInvalidToken) {
			t.Errorf("a link sent to the old address verified the new one: %v", err)
		}
		for _, forged := range []string{"", "short", strings.Repeat("A", 43), strings.Repeat("é", 43), "'; DELETE FROM users; --"} {
			if _, err := f.svc.VerifyEmail(ctx, forged); !errors.Is(err, users.ErrInvalidToken) {
				t.Errorf("VerifyEmail(%q): %v", forged, err)
			}
			if _, err := f.svc.ResetPassword(ctx, forged, "amber lantern field 77"); !errors.Is(err, users.ErrInvalidToken) {
				t.Errorf("ResetPassword(%q): %v", forged, err)
			}
		}
	})
}

func TestAResetRequestForAnUnknownOrDisabledAddressSucceedsAndSendsNothing(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		o := defaultOptions()
		o.mail = true
		f := newFixture(t, db, o)
		ctx := context.Background()
		u := f.create(t, users.NewUser{Email: "ada@example.com"})
		disabled := users.StatusDisabled
		if _, err := f.svc.Update(ctx, u.ID, users.Patch{Status: &disabled}); err != nil {
			t.Fatal(err)
		}
		for _, email := range []string{"nobody@example.com", "ada@example.com"} {
			if err := f.svc.RequestPasswordReset(ctx, email); err != nil {
				t.Errorf("RequestPasswordReset(%q): %v", email, err)
			}
		}
		var ve *users.ValidationError
		if err := f.svc.RequestPasswordReset(ctx, strings.Repeat("x", 400)); !errors.As(err, &ve) {
			t.Errorf("a malformed address: %v, want a ValidationError", err)
		}
		if err := f.svc.SendPasswordReset(ctx, u.ID); !errors.Is(err, users.ErrDisabled) {
			t.Errorf("an admin's reset for a disabled user: %v", err)
		}
		waitForJobs(t, db, users.RequestArgs{}.Kind())
		if n := storetest.Count(t, db, "user_tokens"); n != 0 {
			t.Errorf("%d links issued", n)
		}
		if n := storetest.Count(t, db, "river_job WHERE kind = 'mail.send'"); n != 0 {
			t.Errorf("%d mails queued", n)
		}
		if n := storetest.Count(t, db, "river_job WHERE CAST(args AS TEXT) LIKE '%example.com%'"); n != 0 {
			t.Errorf("%d jobs hold an address in plaintext", n)
		}
	})
}

func TestRegistrationCreatesAnUnverifiedAccountOrTellsTheOwnerAndLooksTheSameEitherWay(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		o := defaultOptions()
		o.mail = true
		f := newFixture(t, db, o)
		ctx := fromIP("203.0.113.9")
		owner := f.create(t, users.NewUser{Email: "grace@example.com", Name: "Grace", Password: "violet kettle drum 42"})

		before := f.hasher.Stats().Derivations
		newErr := f.svc.Register(ctx, "Ada@Example.com", "Ada", "amber lantern field 77")
		newWork := f.hasher.Stats().Derivations - before
		before = f.hasher.Stats().Derivations
		takenErr := f.svc.Register(ctx, "GRACE@example.com", "Not Grace", "quiet meadow stone 19")
		takenWork := f.hasher.Stats().Derivations - before
		if newErr != nil || takenErr != nil || newWork != takenWork {
			t.Fatalf("new address: %v after %d derivations; taken address: %v after %d", newErr, newWork, takenErr, takenWork)
		}

		got := map[string]string{}
		for range 2 {
			m := f.nextMail(t)
			got[m.To[0]] = m.Subject
			if m.To[0] == "Ada@Example.com" {
				tok := linkToken(t, m, users.VerifyPath)
				u, err := f.svc.VerifyEmail(context.Background(), tok)
				if err != nil || !u.EmailVerified || u.Name != "Ada" {
					t.Fatalf("verify the new account: %+v %v", u, err)
				}
			} else if _, ok := mailtest.FindLink(m.Text, baseURL+users.LoginPath); !ok {
				t.Errorf("the owner's notice has no sign-in link:\n%s", m.Text)
			}
		}
		if !strings.HasPrefix(got["GRACE@example.com"], "You already have an account") || got["Ada@Example.com"] == "" {
			t.Errorf("mails: %v", got)
		}
		if _, err := f.svc.Authenticate(context.Background(), "ada@example.com", "amber lantern field 77"); err != nil {
			t.Errorf("sign in to the registered account: %v", err)
		}
		if g, _ := f.svc.Get(context.Background(), owner.ID); g.Name != "Grace" {
			t.Errorf("the owner's account changed: %+v", g)
		}
		if n := storetest.Count(t, db, "users"); n != 2 {
			t.Errorf("%d users, want 2", n)
		}
		var ip string
		if err := db.QueryRow(context.Background(), `SELECT client_ip FROM audit_pending WHERE type = 'user.created' AND details LIKE '%registration%'`).Scan(&ip); err != nil || ip != "203.0.113.9" {
			t.Errorf("the registration's audit event has client IP %q (%v), want the requester's", ip, err)
		}

		var ve *users.ValidationError
		if err := f.svc.Register(ctx, "bad", "", "password"); !errors.As(err, &ve) || len(ve.Errors) != 2 {
			t.Errorf("a bad form: %v, want field errors for email and password", err)
		}
	})
}

func TestWithoutAMailServerLinksAreRefusedButLockoutStillHolds(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		o := defaultOptions()
		o.throttle.BackoffAfter, o.throttle.LockAfter = 1, 2
		f := newFixture(t, db, o)
		ctx := context.Background()
		u := f.create(t, users.NewUser{Email: "ada@example.com", Password: "violet kettle drum 42"})
		if err := f.svc.RequestVerification(ctx, u.ID); !errors.Is(err, users.ErrMailUnavailable) {
			t.Errorf("RequestVerification: %v", err)
		}
		if err := f.svc.RequestPasswordReset(ctx, "ada@example.com"); !errors.Is(err, users.ErrMailUnavailable) {
			t.Errorf("RequestPasswordReset: %v", err)
		}
		for range 2 {
			_, _ = f.svc.Authenticate(ctx, "ada@example.com", "guess")
			f.clock.Advance(time.Hour)
		}
		if got, _ := f.svc.Get(ctx, u.ID); got.Status != users.StatusLocked {
			t.Errorf("status %s, want locked", got.Status)
		}
	})
}
