package store

import "errors"

// Sentinels for the driver errors callers act on. Compare with errors.Is; the original
// driver error stays reachable with errors.As for logging.
var (
	// ErrNotFound means a query that expects one row found none.
	ErrNotFound = errors.New("store: not found")
	// ErrAlreadyExists means a write broke a unique constraint.
	ErrAlreadyExists = errors.New("store: already exists")
	// ErrUnavailable means the database could not be reached or refused work for now;
	// the same request may succeed later (HTTP 503).
	ErrUnavailable = errors.New("store: database unavailable")
)

// classified carries a sentinel alongside the driver error it was made from.
type classified struct {
	kind error
	err  error
}

func (c *classified) Error() string        { return c.kind.Error() + ": " + c.err.Error() }
func (c *classified) Unwrap() error        { return c.err }
func (c *classified) Is(target error) bool { return target == c.kind }
