// Package testclock is a clock that tests set and move by hand, for code that takes the
// time from a func() time.Time, as identityd's services do.
package testclock

import (
	"sync"
	"time"
)

// Clock is a settable time source, safe for the goroutines of the code under test.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// New returns a Clock at the current time, in UTC and to the microsecond, as both
// database backends keep times.
func New() *Clock { return At(time.Now().UTC().Truncate(time.Microsecond)) }

// At returns a Clock at t.
func At(t time.Time) *Clock { return &Clock{now: t} }

// Now is the clock's time; pass it where a func() time.Time is wanted.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
