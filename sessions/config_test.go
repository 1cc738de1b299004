package sessions_test

import (
	"testing"
	"time"

	"github.com/identityd/identityd/audit/audittest"
	"github.com/identityd/identityd/sessions"
	"github.com/identityd/identityd/store/storetest"
)

func TestZeroConfigMeansTheDefaults(t *testing.T) {
	d := sessions.DefaultConfig()
	if d.IdleTimeout != 30*time.Minute || d.AbsoluteTimeout != 12*time.Hour || d.RememberFor != 720*time.Hour ||
		d.RememberIdle != 168*time.Hour || d.TouchEvery != time.Minute || d.Secure {
		t.Fatalf("defaults %+v", d)
	}
	// Only the zero fields take defaults: a set one is kept.
	f := newFixture(t, storetest.SQLite(t), sessions.Config{IdleTimeout: 10 * time.Minute})
	uid := f.newUser(t)
	_, plain := f.establish(t, "", uid, false)
	_, remembered := f.establish(t, "", uid, true)
	now := f.clock.Now()
	if !plain.IdleExpiresAt.Equal(now.Add(10*time.Minute)) || !plain.ExpiresAt.Equal(now.Add(12*time.Hour)) ||
		!remembered.IdleExpiresAt.Equal(now.Add(168*time.Hour)) || !remembered.ExpiresAt.Equal(now.Add(720*time.Hour)) {
		t.Fatalf("sessions %+v and %+v: want the set idle timeout and default lifetimes", plain, remembered)
	}
}

func TestNewRefusesAConfigThatMakesNoSense(t *testing.T) {
	db := storetest.SQLite(t)
	log := audittest.NewLog(t, db)
	for _, c := range []struct {
		cfg  sessions.Config
		want string
	}{
		{sessions.Config{IdleTimeout: -time.Minute, TouchEvery: -1},
			"sessions: config: IdleTimeout: must not be negative (0 means the default)\n" +
				"sessions: config: TouchEvery: must not be negative (0 means the default)"},
		{sessions.Config{IdleTimeout: 13 * time.Hour},
			"sessions: config: IdleTimeout (13h0m0s) must not exceed AbsoluteTimeout (12h0m0s)"},
		{sessions.Config{RememberIdle: 800 * time.Hour},
			"sessions: config: RememberIdle (800h0m0s) must not exceed RememberFor (720h0m0s)"},
		{sessions.Config{RememberFor: 401 * 24 * time.Hour},
			"sessions: config: RememberFor (9624h0m0s) must be at most 9600h0m0s: browsers keep a cookie no longer"},
		{sessions.Config{TouchEvery: 30 * time.Minute},
			"sessions: config: TouchEvery (30m0s) must be shorter than IdleTimeout (30m0s) and RememberIdle (168h0m0s), " +
				"or sessions in use would idle out"},
		{sessions.Config{IdleTimeout: 20 * time.Hour, AbsoluteTimeout: 10 * time.Hour, TouchEvery: 24 * time.Hour},
			"sessions: config: IdleTimeout (20h0m0s) must not exceed AbsoluteTimeout (10h0m0s)\n" +
				"sessions: config: TouchEvery (24h0m0s) must be shorter than IdleTimeout (20h0m0s) and RememberIdle (168h0m0s), " +
				"or sessions in use would idle out"},
	} {
		_, err := sessions.New(db, log, nil, c.cfg)
		if err == nil || err.Error() != c.want {
			t.Errorf("New with %+v:\n got %v\nwant %s", c.cfg, err, c.want)
		}
	}
	if _, err := sessions.New(nil, log, nil, sessions.Config{}); err == nil {
		t.Error("New without a database succeeded")
	}
	if _, err := sessions.New(db, nil, nil, sessions.Config{}); err == nil {
		t.Error("New without an audit recorder succeeded")
	}
}

func TestAShortIdleTimeoutShortensTheDefaultTouchEvery(t *testing.T) {
	db := storetest.SQLite(t)
	f := newFixture(t, db, sessions.Config{IdleTimeout: time.Minute})
	tok, sess := f.establish(t, "", f.newUser(t), false)
	f.clock.Advance(6 * time.Second) // a tenth of the idle timeout
	f.mustLive(t, "6 s after sign-in", tok)
	if !lastSeen(t, db, sess.ID).Equal(f.clock.Now()) {
		t.Fatal("use 6 s after sign-in was not written down: with a 1m idle timeout, TouchEvery should be 6s")
	}
	for range 10 {
		f.clock.Advance(50 * time.Second)
		f.mustLive(t, "a session used every 50 s with a 1m idle timeout", tok)
	}
}
