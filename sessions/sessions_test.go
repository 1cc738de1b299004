package sessions_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/identityd/identityd/requestinfo"
	"github.com/identityd/identityd/sessions"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
)

func TestEstablishedSessionIsFoundByItsToken(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, sessions.Config{})
		uid := f.newUser(t)
		now := f.clock.Now()
		authTime := now.Add(-5 * time.Second)
		tok, sess, err := f.svc.Establish(browser(), "", uid, sessions.Auth{Methods: []string{"pwd", "otp"}, ACR: "phr",
			AuthTime: authTime})
		if err != nil {
			t.Fatal(err)
		}
		if len(tok) != 43 || strings.Trim(tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
			t.Fatalf("token %q: want 256 bits in unpadded base64url", tok)
		}
		want := sessions.Session{ID: sess.ID, UserID: uid, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(12 * time.Hour),
			IdleExpiresAt: now.Add(30 * time.Minute), IP: "203.0.113.7",
			UserAgent: requestinfo.From(browser()).UserAgent, Methods: []string{"pwd", "otp"}, ACR: "phr", AuthTime: authTime}
		if len(sess.ID) != 16 || !reflect.DeepEqual(sess, want) {
			t.Fatalf("established\n %+v\nwant\n %+v", sess, want)
		}
		got, err := f.svc.Lookup(context.Background(), tok)
		if err != nil {
			t.Fatalf("lookup of a fresh session: %v", err)
		}
		if !reflect.DeepEqual(got, sess) {
			t.Fatalf("looked up\n %+v\nwant what Establish returned\n %+v", got, sess)
		}
		// Without request information, and without an auth time, the sign-in is now.
		f.clock.Advance(time.Second)
		tok2, sess2, err := f.svc.Establish(context.Background(), "", uid, sessions.Auth{Methods: []string{"pwd"},
			AuthTime: f.clock.Now().Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if sess2.IP != "" || sess2.UserAgent != "" || !sess2.AuthTime.Equal(f.clock.Now()) || sess2.ID == sess.ID || tok2 == tok {
			t.Fatalf("second session %+v: want no client details, auth time now, a new handle and token", sess2)
		}
	})
}

func TestOnlyTheHashOfATokenIsStored(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, sessions.Config{})
		tok, sess := f.establish(t, "", f.newUser(t), false)
		var (
			stored                       []byte
			id, userID, ip, ua, amr, acr string
		)
		err := db.QueryRow(context.Background(), `SELECT token_hash, id, user_id, ip, user_agent, amr, acr FROM sessions
			WHERE id = $1`, sess.ID).Scan(&stored, &id, &userID, &ip, &ua, &amr, &acr)
		if err != nil {
			t.Fatal(err)
		}
		if want := sha256.Sum256([]byte(tok)); string(stored) != string(want[:]) {
			t.Fatal("the stored hash is not the SHA-256 of the token")
		}
		for _, v := range []string{id, userID, ip, ua, amr, acr} {
			if strings.Contains(v, tok) {
				t.Fatal("the token is stored in the clear")
			}
		}
	})
}

func TestSignInEndsTheSessionTheBrowserHeldBefore(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, sessions.Config{})
		attacker, victim := f.newUser(t), f.newUser(t)
		// Session fixation: the attacker plants a token of theirs in the victim's browser,
		// hoping the victim's sign-in will carry on under it.
		planted, plantedSess := f.establish(t, "", attacker, false)
		tok, sess := f.establish(t, planted, victim, false)
		if tok == planted || sess.ID == plantedSess.ID {
			t.Fatal("the sign-in kept the planted token or handle")
		}
		f.mustEnded(t, "planted token after the victim's sign-in", planted)
		got, err := f.svc.Lookup(context.Background(), tok)
		if err != nil || got.UserID != victim {
			t.Fatalf("the victim's new session: %+v, %v", got, err)
		}
		// Signing in again (say, to step up) also gives a new token and ends the old one.
		again, _ := f.establish(t, tok, victim, true)
		f.mustEnded(t, "the victim's first token after signing in again", tok)
		f.mustLive(t, "the victim's newest session", again)
		// A browser with a stale, unknown or malformed token signs in all the same.
		for _, previous := range []string{tok, "", "garbage", strings.Repeat("A", 43)} {
			if _, _, err := f.svc.Establish(browser(), previous, victim, sessions.Auth{Methods: []string{"pwd"}}); err != nil {
				t.Fatalf("establish with previous token %q: %v", previous, err)
			}
		}
		sameEvents(t, events(t, db, attacker), []string{
			`session.created session:` + plantedSess.ID + ` user:` + attacker + ` {"methods":["pwd"],"remember":false}`,
			`session.revoked session:` + plantedSess.ID + ` user:` + victim + ` {"reason":"replaced","user_id":"` + attacker + `"}`,
		})
		if n := countSessions(t, db, attacker); n != 0 {
			t.Fatalf("the attacker has %d sessions left, want 0", n)
		}
	})
}

func TestIdleTimeoutEndsAnUnusedSession(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, sessions.Config{})
		tok, sess := f.establish(t, "", f.newUser(t), false)
		for range 3 {
			f.clock.Advance(30*time.Minute - time.Microsecond)
			got, err := f.svc.Lookup(context.Background(), tok)
			if err != nil {
				t.Fatalf("a session used within the idle timeout ended: %v", err)
			}
			if want := f.clock.Now().Add(30 * time.Minute); !got.IdleExpiresAt.Equal(want) {
				t.Fatalf("idle expiry %v, want %v", got.IdleExpiresAt, want)
			}
		}
		seen := f.clock.Now()
		f.clock.Advance(30 * time.Minute)
		f.mustEnded(t, "after 30 idle minutes", tok)
		if !lastSeen(t, db, sess.ID).Equal(seen) {
			t.Fatal("looking up an expired session noted its use")
		}
	})
}

func TestAbsoluteTimeoutEndsASessionInUse(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, sessions.Config{})
		tok, sess := f.establish(t, "", f.newUser(t), false)
		for f.clock.Now().Before(sess.ExpiresAt.Add(-20 * time.Minute)) {
			f.clock.Advance(20 * time.Minute)
			f.mustLive(t, "a session in use before its absolute expiry", tok)
		}
		if !f.clock.Now().Add(20 * time.Minute).Equal(sess.ExpiresAt) {
			t.Fatal("the test lost its way in time")
		}
		f.clock.Advance(20 * time.Minute)
		f.mustEnded(t, "at the absolute expiry, however busy", tok)
	})
}

func TestRememberedSessionsLastLonger(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, sessions.Config{})
		const day = 24 * time.Hour
		uid := f.newUser(t)
		used, sess := f.establish(t, "", uid, true)
		unused, _ := f.establish(t, "", uid, true)
		plain, _ := f.establish(t, "", uid, false)
		if !sess.Remember || !sess.ExpiresAt.Equal(sess.CreatedAt.Add(30*day)) || !sess.IdleExpiresAt.Equal(sess.CreatedAt.Add(7*day)) {
			t.Fatalf("remembered session %+v: want remember, 30 days absolute, 7 days idle", sess)
		}
		f.clock.Advance(2 * time.Hour)
		f.mustEnded(t, "a session without remember after 2 idle hours", plain)
		f.clock.Advance(6*day - 2*time.Hour)
		f.mustLive(t, "a remembered session used after 6 days", used)
		f.clock.Advance(day)
		f.mustEnded(t, "a remembered session unused for 7 days", unused)
		f.mustLive(t, "a remembered session used a day ago", used)
		for range 3 {
			f.clock.Advance(6 * day)
			f.mustLive(t, "a remembered session used every 6 days", used)
		}
		f.clock.Advance(5 * day) // 30 days after sign-in, 5 after its last use
		f.mustEnded(t, "a remembered session at its absolute expiry", used)
	})
}

func TestUseIsWrittenAtMostEveryTouchEvery(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, sessions.Config{})
		tok, sess := f.establish(t, "", f.newUser(t), false)
		signIn := sess.CreatedAt
		for range 5 {
			f.clock.Advance(10 * time.Second)
			got, err := f.svc.Lookup(context.Background(), tok)
			if err != nil {
				t.Fatal(err)
			}
			if !got.LastSeenAt.Equal(signIn) || !lastSeen(t, db, sess.ID).Equal(signIn) {
				t.Fatalf("after %s: last seen %v (stored %v), want %v: written before TouchEvery passed",
					f.clock.Now().Sub(signIn), got.LastSeenAt, lastSeen(t, db, sess.ID), signIn)
			}
		}
		f.clock.Advance(10 * time.Second)
		touched := f.clock.Now()
		got, err := f.svc.Lookup(context.Background(), tok)
		if err != nil {
			t.Fatal(err)
		}
		if !got.LastSeenAt.Equal(touched) || !lastSeen(t, db, sess.ID).Equal(touched) ||
			!got.IdleExpiresAt.Equal(touched.Add(30*time.Minute)) {
			t.Fatalf("after a minute: %+v, stored %v; want it seen at %v", got, lastSeen(t, db, sess.ID), touched)
		}
		f.clock.Advance(59 * time.Second)
		if _, err := f.svc.Lookup(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
		if !lastSeen(t, db, sess.ID).Equal(touched) {
			t.Fatal("written again within a minute of the last write")
		}
		// A lookup on a replica whose clock lags never moves the time back.
		f.clock.Advance(-10 * time.Minute)
		if _, err := f.svc.Lookup(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
		if !lastSeen(t, db, sess.ID).Equal(touched) {
			t.Fatal("a lagging clock moved last_seen_at back")
		}
	})
}

func TestRotateGivesANewTokenAndKillsTheOld(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, sessions.Config{})
		old, sess := f.establish(t, "", f.newUser(t), true)
		f.clock.Advance(5 * time.Second)
		fresh, rotated, err := f.svc.Rotate(context.Background(), old)
		if err != nil {
			t.Fatal(err)
		}
		want := sess
		want.LastSeenAt, want.IdleExpiresAt = f.clock.Now(), f.clock.Now().Add(7*24*time.Hour)
		if fresh == old || !reflect.DeepEqual(rotated, want) {
			t.Fatalf("rotated %+v\nwant the same session seen now %+v, under a new token", rotated, want)
		}
		f.mustEnded(t, "the token before rotation", old)
		got, err := f.svc.Lookup(context.Background(), fresh)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("lookup of the new token: %+v, %v", got, err)
		}
		if _, _, err := f.svc.Rotate(context.Background(), old); !errors.Is(err, sessions.ErrNotFound) {
			t.Fatalf("rotating the old token again = %v, want ErrNotFound", err)
		}
		f.clock.Advance(7 * 24 * time.Hour)
		if _, _, err := f.svc.Rotate(context.Background(), fresh); !errors.Is(err, sessions.ErrNotFound) {
			t.Fatalf("rotating an idle-expired session = %v, want ErrNotFound", err)
		}
	})
}

func TestConcurrentRotationsOfOneTokenHaveOneWinner(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, sessions.Config{})
		tok, _ := f.establish(t, "", f.newUser(t), false)
		const n = 8
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			winners []string
		)
		for range n {
			wg.Go(func() {
				fresh, _, err := f.svc.Rotate(context.Background(), tok)
				switch {
				case err == nil:
					mu.Lock()
					winners = append(winners, fresh)
					mu.Unlock()
				case !errors.Is(err, sessions.ErrNotFound):
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if len(winners) != 1 {
			t.Fatalf("%d of %d concurrent rotations succeeded, want exactly 1", len(winners), n)
		}
		f.mustLive(t, "the winning token", winners[0])
		f.mustEnded(t, "the rotated token", tok)
	})
}

func TestEndSignsOut(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, sessions.Config{})
		uid := f.newUser(t)
		tok, sess := f.establish(t, "", uid, false)
		other, _ := f.establish(t, "", uid, false)
		for range 2 {
			if err := f.svc.End(context.Background(), tok); err != nil {
				t.Fatalf("end: %v", err)
			}
		}
		f.mustEnded(t, "a session after sign-out", tok)
		f.mustLive(t, "the user's other session", other)
		for _, bad := range []string{"", "not a token", strings.Repeat("A", 43)} {
			if err := f.svc.End(context.Background(), bad); err != nil {
				t.Fatalf("end %q = %v, want nil", bad, err)
			}
		}
		got := events(t, db, uid)
		want := `session.revoked session:` + sess.ID + ` user:` + uid + ` {"reason":"logout","user_id":"` + uid + `"}`
		if len(got) != 3 || got[2] != want {
			t.Fatalf("events %q: want two sign-ins and one logout, %s", got, want)
		}
	})
}

func TestMalformedAndForgedTokensAreRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, sessions.Config{})
		tok, _ := f.establish(t, "", f.newUser(t), false)
		first := "A"
		if tok[0] == 'A' {
			first = "B"
		}
		var raw [32]byte
		_, _ = rand.Read(raw[:])
		for _, bad := range []string{
			"", "A", tok[:42], tok + "A", tok + "=", " " + tok[1:], "+" + tok[1:], "/" + tok[1:], "é" + tok[2:],
			// The last character carries 4 bits and 2 zero bits; 'B' sets one of those, so
			// it spells bytes another way: only the canonical spelling is a token.
			tok[:42] + "B",
			strings.Repeat("A", 10_000), "' OR 1=1 --" + tok[11:], "\x00" + tok[1:],
			first + tok[1:], // forged: well formed, one character off
			base64.RawURLEncoding.EncodeToString(raw[:]), // well formed, never issued
		} {
			if _, err := f.svc.Lookup(context.Background(), bad); !errors.Is(err, sessions.ErrNotFound) {
				t.Errorf("Lookup(%.50q) = %v, want ErrNotFound", bad, err)
			}
			if _, _, err := f.svc.Rotate(context.Background(), bad); !errors.Is(err, sessions.ErrNotFound) {
				t.Errorf("Rotate(%.50q) = %v, want ErrNotFound", bad, err)
			}
			if err := f.svc.End(context.Background(), bad); err != nil {
				t.Errorf("End(%.50q) = %v, want nil", bad, err)
			}
		}
		f.mustLive(t, "the real token after the forgeries", tok)
	})
}

func TestMalformedTokensCostNoDatabaseRoundTrip(t *testing.T) {
	db := storetest.SQLite(t)
	f := newFixture(t, db, sessions.Config{})
	tok, _ := f.establish(t, "", f.newUser(t), false)
	db.Close() // from here every query fails: an answer without an error made none
	for _, bad := range []string{"", tok[:42], tok + "A", "*" + tok[1:], strings.Repeat("x", 1<<16)} {
		if _, err := f.svc.Lookup(context.Background(), bad); err != sessions.ErrNotFound {
			t.Errorf("Lookup(%.50q) on a closed database = %v, want ErrNotFound straight away", bad, err)
		}
	}
	if _, err := f.svc.Lookup(context.Background(), tok); err == nil || errors.Is(err, sessions.ErrNotFound) {
		t.Fatalf("Lookup of a well-formed token on a closed database = %v, want the database's error", err)
	}
}

func TestEstablishRefusesAnAuthThatDescribesNoSignIn(t *testing.T) {
	db := storetest.SQLite(t)
	f := newFixture(t, db, sessions.Config{})
	uid := f.newUser(t)
	for _, a := range []sessions.Auth{
		{},
		{Methods: []string{"pwd", "otp", "hwk", "swk", "mfa", "sms", "pin", "fpt", "face"}},
		{Methods: []string{"PWD"}},
		{Methods: []string{""}},
		{Methods: []string{"pwd", "one time"}},
		{Methods: []string{strings.Repeat("m", 33)}},
		{Methods: []string{"pwd"}, ACR: strings.Repeat("a", 129)},
		{Methods: []string{"pwd"}, ACR: "gold level"},
	} {
		if _, _, err := f.svc.Establish(browser(), "", uid, a); err == nil {
			t.Errorf("Establish with %+v succeeded; want it refused", a)
		}
	}
	if n := countSessions(t, db, uid); n != 0 {
		t.Fatalf("refused sign-ins left %d sessions", n)
	}
}

func TestClientDetailsAreBoundedAndStorable(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, sessions.Config{})
		ua := "Mozilla/5.0 \x00 \xff" + strings.Repeat("ü", 240) // 495 bytes, 499 once cleaned, cut at 256 inside a 'ü'
		ctx := requestinfo.With(context.Background(), &requestinfo.Info{ClientIP: netip.MustParseAddr("fe80::1%eth0"),
			UserAgent: ua})
		tok, sess, err := f.svc.Establish(ctx, "", f.newUser(t), sessions.Auth{Methods: []string{"pwd"}})
		if err != nil {
			t.Fatal(err)
		}
		got, err := f.svc.Lookup(context.Background(), tok)
		if err != nil {
			t.Fatal(err)
		}
		if got.IP != "fe80::1" || len(got.UserAgent) != 255 || !utf8.ValidString(got.UserAgent) ||
			strings.Contains(got.UserAgent, "\x00") || got.UserAgent != sess.UserAgent {
			t.Fatalf("stored client details: IP %q, user agent of %d bytes %.40q", got.IP, len(got.UserAgent), got.UserAgent)
		}
	})
}
