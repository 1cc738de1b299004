package users

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/identityd/identityd/audit"
	"github.com/identityd/identityd/requestinfo"
	"github.com/identityd/identityd/store"
)

// maxIdentifierBytes bounds what Authenticate looks up: no email or username is longer.
const maxIdentifierBytes = MaxEmailBytes

// maxPasswordBytes bounds what Authenticate hashes whatever the policy says now: a policy
// may shrink after longer passwords were set, and those must still work.
const maxPasswordBytes = 4096

// Reasons a sign-in failed, as user.login.failed events record them.
const (
	reasonWrongPassword = "wrong_password"
	reasonUnknownUser   = "unknown_user"
	reasonNoPassword    = "no_password"
	reasonThrottled     = "throttled"
	reasonLocked        = "locked"
	reasonDisabled      = "disabled"
	reasonChanged       = "changed_meanwhile"
)

// recordSuccess completes a sign-in, if the account is still as it was read.
const recordSuccess = `UPDATE users SET failed_logins = 0, throttled_until = NULL, last_login_at = $2,
	password_enc = $3 WHERE id = $1 AND status = 'active' AND password_enc = $4
	AND (throttled_until IS NULL OR throttled_until <= $2)`

// countFailure counts a failed sign-in against an account.
const countFailure = `UPDATE users SET failed_logins = failed_logins + 1, last_failed_login_at = $2
	WHERE id = $1 RETURNING failed_logins, status, email, name`

// credentials are what a sign-in reads of an account.
type credentials struct {
	id             string
	status         Status
	enc            []byte
	failures       int
	throttledUntil *time.Time
}

// Authenticate signs a user in with an email address or username and a password, and
// returns the user. It answers ErrInvalidCredentials for an unknown identifier, a wrong
// password, an account without a password, and a throttled or locked account alike,
// after the same hashing work, so the answer reveals nothing about which accounts exist;
// ErrDisabled only when the password was right; ErrNetworkBlocked, before any hashing,
// when the caller's network has failed too often lately. Every attempt is audited.
//
// A stored hash in an older format or with older parameters is replaced by one with the
// current parameters on success.
func (s *Service) Authenticate(ctx context.Context, identifier, password string) (User, error) {
	network := networkOf(requestinfo.From(ctx).ClientIP)
	blocked, err := s.networkBlocked(ctx, network, s.now())
	if err != nil {
		return User{}, fmt.Errorf("users: authenticate: %w", err)
	}
	if blocked {
		return User{}, ErrNetworkBlocked
	}
	if len(password) > maxPasswordBytes {
		// Longer than any password can be: refused without work, which reveals nothing
		// about the account since it does not depend on it.
		return User{}, s.failed(ctx, "", network, reasonWrongPassword, false)
	}
	c, err := s.credentialsOf(ctx, identifier)
	if err != nil {
		return User{}, fmt.Errorf("users: authenticate: %w", err)
	}
	reason := ""
	switch {
	case c.id == "":
		reason = reasonUnknownUser
	case c.enc == nil:
		reason = reasonNoPassword
	case c.status == StatusLocked:
		reason = reasonLocked
	case c.throttledUntil != nil && s.now().Before(*c.throttledUntil):
		reason = reasonThrottled
	}
	if reason != "" {
		// The same work as checking a real password, for a result known already.
		if err := s.hasher.VerifyDummy(ctx, password); err != nil {
			return User{}, fmt.Errorf("users: authenticate: %w", err)
		}
		return User{}, s.failed(ctx, c.id, network, reason, false)
	}
	hash, err := s.openHash(c.id, c.enc)
	if err != nil {
		return User{}, fmt.Errorf("users: authenticate: %w", err)
	}
	res, err := s.hasher.Verify(ctx, password, hash)
	if err != nil {
		return User{}, fmt.Errorf("users: authenticate: %w", err)
	}
	switch {
	case !res.OK:
		return User{}, s.failed(ctx, c.id, network, reasonWrongPassword, true)
	case c.status == StatusDisabled:
		if err := s.failed(ctx, c.id, network, reasonDisabled, false); !errors.Is(err, ErrInvalidCredentials) {
			return User{}, err
		}
		return User{}, ErrDisabled
	}
	return s.succeeded(ctx, c, hash, password, res.NeedsRehash, network)
}

// credentialsOf reads the account an identifier names: an email address when it holds
// an @, a username otherwise. An identifier that names nobody gives zero credentials.
func (s *Service) credentialsOf(ctx context.Context, identifier string) (credentials, error) {
	var c credentials
	if identifier == "" || len(identifier) > maxIdentifierBytes {
		return c, nil
	}
	query := `SELECT id, status, password_enc, failed_logins, throttled_until FROM users WHERE `
	var key string
	if strings.Contains(identifier, "@") {
		query, key = query+`email_key = $1`, emailKey(identifier)
	} else {
		query, key = query+`username_key = $1`, usernameKey(identifier)
	}
	var status string
	err := s.db.QueryRow(ctx, query, key).Scan(&c.id, &status, &c.enc, &c.failures, &c.throttledUntil)
	if errors.Is(err, store.ErrNotFound) {
		return credentials{}, nil
	}
	c.status = Status(status)
	return c, err
}

// failed records a failed sign-in and answers ErrInvalidCredentials, or the error that
// kept it from being recorded. count says whether it counts towards the account's
// backoff and lockout: only a wrong password for an account that may sign in does, so
// attempts during a backoff do not lengthen it.
func (s *Service) failed(ctx context.Context, userID, network, reason string, count bool) error {
	now := s.clock()
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		if err := s.countNetworkFailure(ctx, tx, network, now); err != nil {
			return err
		}
		if count {
			if err := s.countAccountFailure(ctx, tx, userID, now); err != nil {
				return err
			}
		}
		return s.audit.Record(ctx, tx, audit.UserLoginFailed(userID, reason))
	})
	if err != nil {
		return fmt.Errorf("users: authenticate: record failure: %w", err)
	}
	return ErrInvalidCredentials
}

// countAccountFailure adds a failure to the account in tx, starts or lengthens its
// backoff, and locks it, with an email to its owner, at the lockout threshold.
func (s *Service) countAccountFailure(ctx context.Context, tx *store.Tx, id string, now time.Time) error {
	var (
		failures    int
		status      string
		email, name string
	)
	err := tx.QueryRow(ctx, countFailure, id, now).Scan(&failures, &status, &email, &name)
	if errors.Is(err, store.ErrNotFound) {
		return nil // deleted meanwhile
	}
	if err != nil {
		return err
	}
	var until *time.Time
	if w := s.cfg.Throttle.wait(failures); w > 0 {
		t := now.Add(w)
		until = &t
	}
	lock := s.cfg.Throttle.LockAfter > 0 && failures >= s.cfg.Throttle.LockAfter && Status(status) == StatusActive
	if !lock {
		_, err := tx.Exec(ctx, `UPDATE users SET throttled_until = $2 WHERE id = $1`, id, until)
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE users SET throttled_until = $2, status = 'locked', locked_at = $3, updated_at = $3
		WHERE id = $1`, id, until, now); err != nil {
		return err
	}
	if err := s.audit.Record(ctx, tx, audit.UserLocked(id, failures)); err != nil {
		return err
	}
	return s.sendLockoutNotice(ctx, tx, id, email, name, failures, now)
}

// succeeded completes a sign-in whose password was right: it forgets past failures,
// notes the time, upgrades an outdated hash, and records it. The update holds only if
// the account is as it was read — still active, not throttled, with the same hash — so
// a password reset or a disable that lands meanwhile wins.
func (s *Service) succeeded(ctx context.Context, c credentials, hash, password string, rehash bool, network string) (User, error) {
	newEnc := c.enc
	upgradedFrom := ""
	if rehash {
		fresh, err := s.hasher.Hash(ctx, password)
		if err != nil {
			return User{}, fmt.Errorf("users: authenticate: upgrade hash: %w", err)
		}
		if newEnc, err = s.sealHash(c.id, fresh); err != nil {
			return User{}, fmt.Errorf("users: authenticate: %w", err)
		}
		upgradedFrom = hashScheme(hash)
	} else if s.kr.NeedsRewrap(c.enc) {
		// Encrypted under a retired key: re-encrypt under the current one while the
		// plaintext is at hand, so the old key can one day be removed.
		var err error
		if newEnc, err = s.sealHash(c.id, hash); err != nil {
			return User{}, fmt.Errorf("users: authenticate: %w", err)
		}
	}
	now := s.clock()
	var u User
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		n, err := tx.Exec(ctx, recordSuccess, c.id, now, newEnc, c.enc)
		if err != nil || n == 0 {
			return err
		}
		if upgradedFrom != "" {
			if err := s.audit.Record(ctx, tx, audit.UserPasswordUpgraded(c.id, upgradedFrom)); err != nil {
				return err
			}
		}
		if err := s.audit.Record(ctx, tx, audit.UserLoginSucceeded(c.id)); err != nil {
			return err
		}
		u, err = scanUser(tx.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, c.id))
		return err
	})
	if err != nil {
		return User{}, fmt.Errorf("users: authenticate: %w", err)
	}
	if u.ID == "" {
		return User{}, s.failed(ctx, c.id, network, reasonChanged, false)
	}
	return u, nil
}

// hashScheme names the scheme of a stored hash for the audit log: the PHC identifier
// ("argon2id", "2b", "pbkdf2-sha256") or Django's algorithm ("pbkdf2_sha256"). It holds
// nothing of the hash itself.
func hashScheme(hash string) string {
	field := hash
	if strings.HasPrefix(hash, "$") {
		field = hash[1:]
	}
	field, _, _ = strings.Cut(field, "$")
	if len(field) > 32 {
		field = field[:32]
	}
	if strings.HasPrefix(field, "2") && len(field) == 2 {
		return "bcrypt"
	}
	return field
}
