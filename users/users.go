// Package users holds identityd's accounts: creating and changing them, the one way in
// (Authenticate), brute-force protection, email verification and password reset links,
// admin search and bulk import.
//
// Passwords are hashed by the passwords package outside any transaction, so a slow hash
// never holds a database connection, let alone SQLite's one writer; the hash is then
// stored encrypted by the keyring, so that a copy of the database alone is no base for
// an offline guessing attack. Every change records its audit event in its own
// transaction, and mail it causes is queued in that transaction too.
//
// Nothing here tells a caller whether an account exists unless the caller is an admin:
// Authenticate answers ErrInvalidCredentials for an unknown user, a wrong password, a
// throttled or a locked account alike, after the same hashing work, and a reset request
// for an unknown address succeeds without sending anything.
package users

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/identityd/identityd/audit"
	"github.com/identityd/identityd/keyring"
	"github.com/identityd/identityd/mail"
	"github.com/identityd/identityd/passwords"
	"github.com/identityd/identityd/store"
)

// Status is an account's state.
type Status string

// The statuses. A locked account was locked by brute-force protection and opens again
// when an admin unlocks it or its owner resets the password; a disabled one only when an
// admin enables it.
const (
	StatusActive   Status = "active"
	StatusDisabled Status = "disabled"
	StatusLocked   Status = "locked"
)

// KeepsSessions reports whether a user of status s may go on using the sessions they
// already have: everyone but a disabled user. A lockout stops the guessing of passwords,
// not sign-ins already made. The pages and the OAuth provider both ask this, so a
// browser is signed in for both or for neither.
func (s Status) KeepsSessions() bool { return s != StatusDisabled }

// valid reports whether s is a known status.
func (s Status) valid() bool {
	return s == StatusActive || s == StatusDisabled || s == StatusLocked
}

// User is an account as callers see it; it never holds the password hash.
type User struct {
	ID            string          `json:"id"`
	Email         string          `json:"email"`
	EmailVerified bool            `json:"email_verified"`
	Username      string          `json:"username,omitempty"`
	Name          string          `json:"name"`
	Status        Status          `json:"status"`
	HasPassword   bool            `json:"has_password"`
	Metadata      json.RawMessage `json:"metadata"`
	CreatedAt     time.Time       `json:"created_at"`
	UpdatedAt     time.Time       `json:"updated_at"`
	LastLoginAt   *time.Time      `json:"last_login_at,omitempty"`
	// PasswordChangedAt is when the password was last set, changed or reset.
	PasswordChangedAt *time.Time `json:"password_changed_at,omitempty"`
	// FailedLogins counts consecutive failed sign-ins since the last success.
	FailedLogins int        `json:"failed_logins"`
	LockedAt     *time.Time `json:"locked_at,omitempty"`
}

// Errors callers tell apart. Each means nothing was changed.
var (
	// ErrNotFound means no user has the given id.
	ErrNotFound = errors.New("users: no such user")
	// ErrInvalidCredentials is every failed sign-in: unknown user, wrong password,
	// throttled or locked account. The cases are deliberately not told apart.
	ErrInvalidCredentials = errors.New("users: invalid credentials")
	// ErrDisabled means the password was right but an admin disabled the account; it is
	// told only to someone who proved they know the password.
	ErrDisabled = errors.New("users: account disabled")
	// ErrNetworkBlocked means too many sign-ins failed from the caller's network lately.
	ErrNetworkBlocked = errors.New("users: too many failed sign-ins from this network")
	// ErrInvalidToken means a verification or reset link is unknown, used or expired.
	ErrInvalidToken = errors.New("users: invalid or expired link")
	// ErrAlreadyVerified means the address needs no verification.
	ErrAlreadyVerified = errors.New("users: email already verified")
	// ErrMailUnavailable means no mail server is configured, so links cannot be sent.
	ErrMailUnavailable = errors.New("users: email is not configured")
	// ErrBadCursor means a list cursor was not one List made.
	ErrBadCursor = errors.New("users: malformed cursor")
)

// ConflictError means another user already has the email address or username.
type ConflictError struct {
	// Field is "email" or "username".
	Field string
}

func (e *ConflictError) Error() string { return "users: " + e.Field + " is already taken" }

// Recorder records audit events in the transaction of the change they describe.
type Recorder interface {
	Record(ctx context.Context, tx *store.Tx, ev audit.Event) error
}

// Outbox queues a message in a transaction; it is sent once the transaction commits.
type Outbox interface {
	Send(ctx context.Context, tx *store.Tx, m mail.Message) error
}

// Revoker ends what a user holds elsewhere (sessions, OAuth grants and tokens), in the
// transaction of the change that requires it. Packages that hold such things register
// one with AddRevoker.
type Revoker interface {
	RevokeUser(ctx context.Context, tx *store.Tx, userID string, reason RevokeReason) error
}

// RevokeReason says why a user's sessions and tokens are being revoked.
type RevokeReason string

// The reasons.
const (
	RevokePasswordReset RevokeReason = "password_reset"
	RevokePasswordSet   RevokeReason = "password_set"
	RevokeDisabled      RevokeReason = "disabled"
	RevokeDeleted       RevokeReason = "deleted"
)

// Deps are the parts a Service works with.
type Deps struct {
	DB      *store.DB
	Keyring *keyring.Keyring
	Hasher  *passwords.Hasher
	Audit   Recorder
	// Outbox and Mail send verification, reset and lockout messages; with a nil Outbox
	// no mail is sent, and the features that need it answer ErrMailUnavailable.
	Outbox Outbox
	Mail   *mail.Renderer
	// Jobs queues self-service requests (Register, RequestPasswordReset), which are
	// refused with ErrMailUnavailable without it; register NewRequestWorker to work them.
	Jobs Enqueuer
	// Now is the clock; time.Now when nil.
	Now    func() time.Time
	Logger *slog.Logger
}

// Config holds the account rules.
type Config struct {
	// BaseURL is the public URL links in emails start with (the issuer).
	BaseURL string
	// Policy is what a new password must satisfy.
	Policy passwords.Policy
	// VerificationTTL and ResetTTL are how long the links stay valid.
	VerificationTTL time.Duration
	ResetTTL        time.Duration
	// Throttle is the brute-force protection.
	Throttle ThrottleConfig
}

// Service manages accounts.
type Service struct {
	db       *store.DB
	kr       *keyring.Keyring
	hasher   *passwords.Hasher
	audit    Recorder
	outbox   Outbox
	mail     *mail.Renderer
	jobs     Enqueuer
	now      func() time.Time
	log      *slog.Logger
	cfg      Config
	revokers []Revoker
}

// New returns a Service.
func New(d Deps, cfg Config) (*Service, error) {
	if d.DB == nil || d.Keyring == nil || d.Hasher == nil || d.Audit == nil {
		return nil, errors.New("users: new: DB, Keyring, Hasher and Audit are required")
	}
	if d.Outbox != nil && d.Mail == nil {
		return nil, errors.New("users: new: an Outbox needs a Mail renderer")
	}
	if err := cfg.Policy.Validate(); err != nil {
		return nil, fmt.Errorf("users: new: %w", err)
	}
	if err := cfg.Throttle.validate(); err != nil {
		return nil, fmt.Errorf("users: new: %w", err)
	}
	if cfg.VerificationTTL <= 0 || cfg.ResetTTL <= 0 {
		return nil, errors.New("users: new: link lifetimes must be positive")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{db: d.DB, kr: d.Keyring, hasher: d.Hasher, audit: d.Audit, outbox: d.Outbox, mail: d.Mail,
		jobs: d.Jobs, now: d.Now, log: d.Logger, cfg: cfg}, nil
}

// AddRevoker registers r to be called whenever a user's sessions and tokens must end.
// Call it while wiring the server, before the Service is used.
func (s *Service) AddRevoker(r Revoker) { s.revokers = append(s.revokers, r) }

// revoke runs every registered Revoker in tx.
func (s *Service) revoke(ctx context.Context, tx *store.Tx, userID string, reason RevokeReason) error {
	for _, r := range s.revokers {
		if err := r.RevokeUser(ctx, tx, userID, reason); err != nil {
			return fmt.Errorf("revoke %s: %w", reason, err)
		}
	}
	return nil
}

// Policy is the password policy new passwords must satisfy.
func (s *Service) Policy() passwords.Policy { return s.cfg.Policy }

// clock is the current time as stored: UTC, to the microsecond both backends keep.
func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }
