package sessions

import (
	"errors"
	"fmt"
	"time"
)

// Config holds the session rules. A zero duration means its default.
type Config struct {
	// IdleTimeout ends a session unused this long; default 30m.
	IdleTimeout time.Duration
	// AbsoluteTimeout ends a session this long after sign-in, whatever its use;
	// default 12h.
	AbsoluteTimeout time.Duration
	// RememberFor is the absolute lifetime of a "remember me" session, and of its
	// cookie; default 720h (30 days), at most 400 days, which is as long as browsers
	// keep a cookie.
	RememberFor time.Duration
	// RememberIdle is the idle timeout of a "remember me" session; default 168h (7
	// days). Remembered sessions need an idle timeout of their own: one that ended
	// after IdleTimeout would make "remember me" pointless, and one as long as
	// RememberFor would keep a session nobody uses alive for a month.
	RememberIdle time.Duration
	// TouchEvery is how often, at most, a session's use is written down; default 1m, or
	// a tenth of the shorter idle timeout when that is under 10m. A session in use can
	// therefore end as soon as IdleTimeout − TouchEvery after it was last used.
	TouchEvery time.Duration
	// Secure is set when the issuer is https: the cookie is then Secure and named
	// "__Host-identityd_session", a name browsers accept only from the host itself, over
	// https, for the whole site, so that neither a sibling subdomain nor plain http can
	// plant or overwrite it. Otherwise it is named "identityd_session".
	Secure bool
}

// DefaultConfig returns the defaults, with Secure unset.
func DefaultConfig() Config {
	return Config{
		IdleTimeout:     30 * time.Minute,
		AbsoluteTimeout: 12 * time.Hour,
		RememberFor:     30 * 24 * time.Hour,
		RememberIdle:    7 * 24 * time.Hour,
		TouchEvery:      time.Minute,
	}
}

// maxRememberFor is how long browsers keep a cookie at most (RFC 6265bis caps Max-Age
// and Expires at 400 days); a longer session would outlive its cookie.
const maxRememberFor = 400 * 24 * time.Hour

// withDefaults returns c with every zero duration replaced by its default.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	for _, f := range []struct{ field, def *time.Duration }{
		{&c.IdleTimeout, &d.IdleTimeout}, {&c.AbsoluteTimeout, &d.AbsoluteTimeout},
		{&c.RememberFor, &d.RememberFor}, {&c.RememberIdle, &d.RememberIdle},
	} {
		if *f.field == 0 {
			*f.field = *f.def
		}
	}
	if c.TouchEvery == 0 {
		// A short idle timeout gets a shorter interval, so that it stays a valid setting
		// and a session in use never ends more than a tenth early.
		c.TouchEvery = min(d.TouchEvery, min(c.IdleTimeout, c.RememberIdle)/10)
	}
	return c
}

// validate reports every problem with c, once its defaults are filled in. It does not
// change c.
func (c Config) validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("sessions: config: "+format, args...))
	}
	for _, f := range []struct {
		name string
		d    time.Duration
	}{
		{"IdleTimeout", c.IdleTimeout}, {"AbsoluteTimeout", c.AbsoluteTimeout}, {"RememberFor", c.RememberFor},
		{"RememberIdle", c.RememberIdle}, {"TouchEvery", c.TouchEvery},
	} {
		if f.d < 0 {
			bad("%s: must not be negative (0 means the default)", f.name)
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	c = c.withDefaults()
	if c.IdleTimeout > c.AbsoluteTimeout {
		bad("IdleTimeout (%s) must not exceed AbsoluteTimeout (%s)", c.IdleTimeout, c.AbsoluteTimeout)
	}
	if c.RememberIdle > c.RememberFor {
		bad("RememberIdle (%s) must not exceed RememberFor (%s)", c.RememberIdle, c.RememberFor)
	}
	if c.RememberFor > maxRememberFor {
		bad("RememberFor (%s) must be at most %s: browsers keep a cookie no longer", c.RememberFor, maxRememberFor)
	}
	if c.TouchEvery >= min(c.IdleTimeout, c.RememberIdle) {
		bad("TouchEvery (%s) must be shorter than IdleTimeout (%s) and RememberIdle (%s), or sessions in use would idle out",
			c.TouchEvery, c.IdleTimeout, c.RememberIdle)
	}
	return errors.Join(errs...)
}
