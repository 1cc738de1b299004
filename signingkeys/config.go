package signingkeys

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Config sets the rotation schedule. Zero fields take their defaults.
type Config struct {
	// Algs are the algorithms to keep keys for; default ES256 and RS256. Keys of an
	// algorithm dropped from the list are still loaded and published, but no longer
	// rotated, so that replicas still running with the old list keep working.
	Algs []Alg
	// RotationPeriod is how long a key signs before the next one replaces it; default
	// 90 days.
	RotationPeriod time.Duration
	// PublishLead is how long relying parties may cache the JWKS (the Cache-Control
	// max-age it is served with); a new key is published at least this long before it
	// signs. Default 1 hour.
	PublishLead time.Duration
	// MaxTokenLifetime is the longest a token signed with a key can live (the longest
	// access or ID token lifetime configured); a retired key stays published this long.
	// Default 24 hours.
	MaxTokenLifetime time.Duration
	// ReloadEvery is how often each process rereads the keys, whether or not it was told
	// of a change; default 60 seconds.
	ReloadEvery time.Duration
}

// DefaultConfig is the configuration New uses for zero fields.
func DefaultConfig() Config {
	return Config{
		Algs:             []Alg{ES256, RS256},
		RotationPeriod:   90 * 24 * time.Hour,
		PublishLead:      time.Hour,
		MaxTokenLifetime: 24 * time.Hour,
		ReloadEvery:      time.Minute,
	}
}

// withDefaults returns c with every zero field replaced by its default.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if len(c.Algs) == 0 {
		c.Algs = d.Algs
	}
	for _, f := range []struct{ field, def *time.Duration }{
		{&c.RotationPeriod, &d.RotationPeriod}, {&c.PublishLead, &d.PublishLead},
		{&c.MaxTokenLifetime, &d.MaxTokenLifetime}, {&c.ReloadEvery, &d.ReloadEvery},
	} {
		if *f.field == 0 {
			*f.field = *f.def
		}
	}
	return c
}

// validate reports every problem with c, once its defaults are filled in. It does not
// change c.
func (c Config) validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("signingkeys: config: "+format, args...))
	}
	for _, f := range []struct {
		name string
		d    time.Duration
	}{
		{"RotationPeriod", c.RotationPeriod}, {"PublishLead", c.PublishLead},
		{"MaxTokenLifetime", c.MaxTokenLifetime}, {"ReloadEvery", c.ReloadEvery},
	} {
		if f.d < 0 {
			bad("%s: must not be negative (0 means the default)", f.name)
		}
	}
	for i, a := range c.Algs {
		if !a.known() {
			bad("Algs: %q is not a supported algorithm (ES256, RS256)", a)
		} else if slices.Index(c.Algs, a) < i {
			bad("Algs: %s is listed twice", a)
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	c = c.withDefaults()
	if c.ReloadEvery >= c.PublishLead {
		bad("ReloadEvery (%s) must be shorter than PublishLead (%s), or a replica could learn of a new key only after relying parties must know it",
			c.ReloadEvery, c.PublishLead)
	}
	if lead := c.PublishLead + c.ReloadEvery; c.RotationPeriod <= lead {
		bad("RotationPeriod (%s) must be longer than PublishLead plus ReloadEvery (%s), the time a new key is published before it signs",
			c.RotationPeriod, lead)
	}
	return errors.Join(errs...)
}
