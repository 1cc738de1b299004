package users

import (
	"context"
	"errors"
	"net/netip"
	"time"

	"github.com/identityd/identityd/audit"
	"github.com/identityd/identityd/store"
)

// ThrottleConfig is the brute-force protection. Its state lives in the database, so it
// holds across replicas and restarts.
type ThrottleConfig struct {
	// BackoffAfter consecutive failures make each further attempt on the account wait:
	// BackoffBase after the BackoffAfter-th, doubling with each failure, at most BackoffMax.
	BackoffAfter int
	BackoffBase  time.Duration
	BackoffMax   time.Duration
	// LockAfter consecutive failures lock the account until an admin unlocks it or its
	// owner resets the password; zero never locks.
	LockAfter int
	// NetworkMaxFailures failed sign-ins from one network (an IPv4 address or an IPv6
	// /64) within NetworkWindow block it until the window ends; zero turns this off.
	NetworkMaxFailures int
	NetworkWindow      time.Duration
}

// DefaultThrottle is the protection identityd ships with.
func DefaultThrottle() ThrottleConfig {
	return ThrottleConfig{BackoffAfter: 5, BackoffBase: time.Second, BackoffMax: 15 * time.Minute,
		LockAfter: 20, NetworkMaxFailures: 100, NetworkWindow: 15 * time.Minute}
}

func (c ThrottleConfig) validate() error {
	switch {
	case c.BackoffAfter < 1 || c.BackoffBase <= 0 || c.BackoffMax < c.BackoffBase:
		return errors.New("throttle: backoff needs a threshold of 1 or more and 0 < base <= max")
	case c.LockAfter != 0 && c.LockAfter <= c.BackoffAfter:
		return errors.New("throttle: lockout must come after the backoff starts")
	case c.NetworkMaxFailures < 0 || c.NetworkMaxFailures > 0 && c.NetworkWindow <= 0:
		return errors.New("throttle: the network limit needs a positive window")
	}
	return nil
}

// wait is how long an account with failures consecutive failures must wait before the
// next attempt counts.
func (c ThrottleConfig) wait(failures int) time.Duration {
	if failures < c.BackoffAfter {
		return 0
	}
	w := c.BackoffBase
	for i := c.BackoffAfter; i < failures && w < c.BackoffMax; i++ {
		w *= 2
	}
	return min(w, c.BackoffMax)
}

// networkOf is the network a client's failures count against: its IPv4 address, or the
// /64 of its IPv6 address, since one IPv6 host commonly holds a whole /64. It is "" for
// an unknown client (a command on the host), which no limit applies to.
func networkOf(ip netip.Addr) string {
	ip = ip.Unmap()
	switch {
	case !ip.IsValid():
		return ""
	case ip.Is4():
		return ip.String()
	default:
		p, _ := ip.Prefix(64) // never fails for a valid IPv6 address
		return p.String()
	}
}

// networkBlocked reports whether network has used up its failures in the current window.
func (s *Service) networkBlocked(ctx context.Context, network string, now time.Time) (bool, error) {
	if network == "" || s.cfg.Throttle.NetworkMaxFailures == 0 {
		return false, nil
	}
	var (
		start    time.Time
		failures int
	)
	err := s.db.QueryRow(ctx, `SELECT window_start, failures FROM login_failures WHERE network = $1`, network).
		Scan(&start, &failures)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return failures >= s.cfg.Throttle.NetworkMaxFailures && now.Before(start.Add(s.cfg.Throttle.NetworkWindow)), nil
}

// countNetworkFailure adds a failure to network's window in tx, starting a new window
// when the last has passed, and records the failure that reaches the limit.
func (s *Service) countNetworkFailure(ctx context.Context, tx *store.Tx, network string, now time.Time) error {
	if network == "" || s.cfg.Throttle.NetworkMaxFailures == 0 {
		return nil
	}
	var (
		failures int
		start    time.Time
	)
	err := tx.QueryRow(ctx, `INSERT INTO login_failures (network, window_start, failures) VALUES ($1, $2, 1)
		ON CONFLICT (network) DO UPDATE SET
			failures = CASE WHEN login_failures.window_start <= $3 THEN 1 ELSE login_failures.failures + 1 END,
			window_start = CASE WHEN login_failures.window_start <= $3 THEN $2 ELSE login_failures.window_start END
		RETURNING failures, window_start`,
		network, now, now.Add(-s.cfg.Throttle.NetworkWindow)).Scan(&failures, &start)
	if err != nil {
		return err
	}
	if failures != s.cfg.Throttle.NetworkMaxFailures {
		return nil
	}
	return s.audit.Record(ctx, tx, audit.UserLoginNetworkBlocked(network, failures, start.Add(s.cfg.Throttle.NetworkWindow)))
}

// DeleteStaleNetworkFailures forgets the failure windows that ended before now, batch
// rows at a time, and reports how many went.
func (s *Service) DeleteStaleNetworkFailures(ctx context.Context, batch int) (int64, error) {
	cutoff := s.now().Add(-s.cfg.Throttle.NetworkWindow)
	return s.deleteInBatches(ctx, `DELETE FROM login_failures WHERE network IN
		(SELECT network FROM login_failures WHERE window_start <= $1 LIMIT $2)`, cutoff, batch)
}

// deleteInBatches runs a bounded DELETE until it deletes fewer than batch rows.
func (s *Service) deleteInBatches(ctx context.Context, query string, cutoff time.Time, batch int) (int64, error) {
	var total int64
	for {
		n, err := s.db.Exec(ctx, query, cutoff, batch)
		if err != nil {
			return total, err
		}
		total += n
		if n < int64(batch) {
			return total, nil
		}
	}
}
