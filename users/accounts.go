package users

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/identityd/identityd/audit"
	"github.com/identityd/identityd/passwords"
	"github.com/identityd/identityd/store"
)

// The ways an account comes to be, as user.created events record them.
const (
	SourceAPI          = "api"
	SourceCLI          = "cli"
	SourceImport       = "import"
	SourceRegistration = "registration"
)

// NewUser is what Create needs. Password and PasswordHash are both optional, and
// exclusive: a user without either cannot sign in with a password until one is set.
type NewUser struct {
	Email         string
	EmailVerified bool
	Username      string
	Name          string
	// Password is checked against the policy and hashed with the current parameters.
	Password string
	// PasswordHash is a hash made elsewhere, in any format the passwords package
	// verifies; it is upgraded at the user's first sign-in.
	PasswordHash string
	Metadata     json.RawMessage
	// Source says how the account is made (SourceAPI, SourceCLI, …), for the audit log.
	Source string
}

// insertUser adds an account, or nothing when its email or username is taken.
const insertUser = `INSERT INTO users (id, email, email_key, email_verified, username, username_key, name,
	status, password_enc, password_changed_at, metadata, search_text, created_at, updated_at)
	VALUES ($1, $2, $3, $4, $5, $6, $7, 'active', $8, $9, $10, $11, $12, $12) ON CONFLICT DO NOTHING`

// Prepare readies the statements of sign-in and import, the hot paths, so that they
// skip parsing and planning (on SQLite; PostgreSQL's driver does this by itself). Call
// it outside any transaction, after migrations.
func (s *Service) Prepare(ctx context.Context) error {
	for _, q := range []string{insertUser, recordSuccess, countFailure} {
		if err := s.db.Prepare(ctx, q); err != nil {
			return fmt.Errorf("users: %w", err)
		}
	}
	return nil
}

// userColumns are the columns scanUser reads, in its order.
const userColumns = `id, email, email_verified, COALESCE(username, ''), name, status, password_enc IS NOT NULL,
	metadata, created_at, updated_at, last_login_at, password_changed_at, failed_logins, locked_at`

// scanner is a row or rows.
type scanner interface{ Scan(dest ...any) error }

func scanUser(r scanner) (User, error) {
	var (
		u        User
		status   string
		metadata string
	)
	err := r.Scan(&u.ID, &u.Email, &u.EmailVerified, &u.Username, &u.Name, &status, &u.HasPassword,
		&metadata, &u.CreatedAt, &u.UpdatedAt, &u.LastLoginAt, &u.PasswordChangedAt, &u.FailedLogins, &u.LockedAt)
	u.Status, u.Metadata = Status(status), json.RawMessage(metadata)
	return u, err
}

// forUpdate locks the rows a read in a write transaction returns, on PostgreSQL. SQLite
// needs no clause: a write transaction there holds the only writer.
func forUpdate(q store.Queryer) string {
	if tx, ok := q.(*store.Tx); ok && tx.Dialect() == store.Postgres {
		return " FOR UPDATE"
	}
	return ""
}

// checkNew validates n and returns the values to store.
func (s *Service) checkNew(n NewUser) (NewUser, json.RawMessage, error) {
	var fe fieldErrors
	email, why := checkEmail(n.Email)
	if why != "" {
		fe.Add("email", why)
	}
	n.Email = email
	if n.Username != "" {
		u, why := checkUsername(n.Username)
		if why != "" {
			fe.Add("username", why)
		}
		n.Username = u
	}
	name, why := checkName(n.Name)
	if why != "" {
		fe.Add("name", why)
	}
	n.Name = name
	meta, why := checkMetadata(n.Metadata)
	if why != "" {
		fe.Add("metadata", why)
	}
	switch {
	case n.Password != "" && n.PasswordHash != "":
		fe.Add("password_hash", "give either password or password_hash, not both")
	case n.Password != "":
		if err := s.cfg.Policy.Check(n.Password, n.Email, n.Username, n.Name); err != nil {
			fe.Add("password", policyReason(err))
		}
	case n.PasswordHash != "":
		if err := s.hasher.Validate(n.PasswordHash); err != nil {
			fe.Add("password_hash", hashReason(err))
		}
	}
	return n, meta, fe.Err(scope)
}

// policyReason is the words a policy refusal gives the caller.
func policyReason(err error) string {
	var pe *passwords.PolicyError
	if errors.As(err, &pe) {
		return pe.Message
	}
	return "is not acceptable"
}

// hashReason is the words an unusable imported hash gives the caller: what is wrong
// with it, never the hash.
func hashReason(err error) string {
	detail := func(sentinel error) string {
		return strings.TrimPrefix(err.Error(), sentinel.Error()+": ")
	}
	switch {
	case errors.Is(err, passwords.ErrLimitExceeded):
		return "asks for more work or memory than identityd allows: " + detail(passwords.ErrLimitExceeded)
	case errors.Is(err, passwords.ErrInvalidHash):
		return "is not a supported password hash: " + detail(passwords.ErrInvalidHash)
	}
	return "is not a supported password hash"
}

// Create makes an account. It answers a *ValidationError listing every refused field, or
// a *ConflictError when the email address or username is taken.
func (s *Service) Create(ctx context.Context, n NewUser) (User, error) {
	n, meta, err := s.checkNew(n)
	if err != nil {
		return User{}, err
	}
	hash := n.PasswordHash
	if n.Password != "" {
		if hash, err = s.hasher.Hash(ctx, n.Password); err != nil {
			return User{}, fmt.Errorf("users: create: %w", err)
		}
	}
	var u User
	err = s.db.Tx(ctx, func(tx *store.Tx) error {
		var err error
		u, err = s.insert(ctx, tx, n, meta, hash)
		return err
	})
	if err != nil {
		return User{}, fmt.Errorf("users: create: %w", err)
	}
	return u, nil
}

// insert adds a checked account in tx with its audit event. A taken email or username
// is a *ConflictError; the insert skips the conflict rather than failing on it, because
// a failed statement aborts a PostgreSQL transaction, and import goes on after one.
func (s *Service) insert(ctx context.Context, tx *store.Tx, n NewUser, meta json.RawMessage, hash string) (User, error) {
	now := s.clock()
	id := store.NewID()
	var (
		enc      []byte
		changed  *time.Time
		username any
		err      error
	)
	if hash != "" {
		if enc, err = s.sealHash(id, hash); err != nil {
			return User{}, err
		}
		changed = &now
	}
	if n.Username != "" {
		username = n.Username
	}
	inserted, err := tx.Exec(ctx, insertUser,
		id, n.Email, emailKey(n.Email), n.EmailVerified, username, nullIfEmpty(usernameKey(n.Username)), n.Name,
		enc, changed, string(meta), searchText(n.Email, n.Username, n.Name), now)
	if err != nil {
		return User{}, err
	}
	if inserted == 0 {
		return User{}, s.conflict(ctx, tx, n.Email, n.Username, "")
	}
	if err := s.audit.Record(ctx, tx, audit.UserCreated(id, n.Source, n.EmailVerified, hash != "")); err != nil {
		return User{}, err
	}
	return User{ID: id, Email: n.Email, EmailVerified: n.EmailVerified, Username: n.Username, Name: n.Name,
		Status: StatusActive, HasPassword: hash != "", Metadata: meta, CreatedAt: now, UpdatedAt: now,
		PasswordChangedAt: changed}, nil
}

// conflict says which of email and username another account than self holds.
func (s *Service) conflict(ctx context.Context, q store.Queryer, email, username, self string) error {
	var n int
	err := q.QueryRow(ctx, `SELECT count(*) FROM users WHERE email_key = $1 AND id <> $2`, emailKey(email), self).Scan(&n)
	if err != nil {
		return err
	}
	if n > 0 {
		return &ConflictError{Field: "email"}
	}
	return &ConflictError{Field: "username"}
}

// Get returns the user with id.
func (s *Service) Get(ctx context.Context, id string) (User, error) {
	u, err := scanUser(s.db.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
	if errors.Is(err, store.ErrNotFound) {
		return User{}, ErrNotFound
	}
	if err != nil {
		return User{}, fmt.Errorf("users: get: %w", err)
	}
	return u, nil
}

// Patch is a change to an account; nil fields stay as they are.
type Patch struct {
	Email         *string
	EmailVerified *bool
	// Username "" removes the username.
	Username *string
	Name     *string
	// Status may be active or disabled. Disabling revokes the user's sessions and
	// tokens; making a locked account active unlocks it.
	Status   *Status
	Metadata json.RawMessage
}

// Update changes an account. A new email address is unverified unless the patch says
// otherwise, and links sent to the old address stop working.
func (s *Service) Update(ctx context.Context, id string, p Patch) (User, error) {
	var fe fieldErrors
	if p.Email != nil {
		e, why := checkEmail(*p.Email)
		if why != "" {
			fe.Add("email", why)
		}
		p.Email = &e
	}
	if p.Username != nil && *p.Username != "" {
		u, why := checkUsername(*p.Username)
		if why != "" {
			fe.Add("username", why)
		}
		p.Username = &u
	}
	if p.Name != nil {
		n, why := checkName(*p.Name)
		if why != "" {
			fe.Add("name", why)
		}
		p.Name = &n
	}
	if p.Status != nil && *p.Status != StatusActive && *p.Status != StatusDisabled {
		fe.Add("status", "must be active or disabled (accounts are locked only by failed sign-ins)")
	}
	var meta json.RawMessage
	if p.Metadata != nil {
		var why string
		if meta, why = checkMetadata(p.Metadata); why != "" {
			fe.Add("metadata", why)
		}
	}
	if err := fe.Err(scope); err != nil {
		return User{}, err
	}
	var u User
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		old, err := scanUser(tx.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`+forUpdate(tx), id))
		if err != nil {
			return err
		}
		u = old
		var fields []string
		if p.Email != nil && *p.Email != old.Email {
			u.Email, u.EmailVerified = *p.Email, false
			fields = append(fields, "email")
		}
		if p.EmailVerified != nil && *p.EmailVerified != u.EmailVerified {
			u.EmailVerified = *p.EmailVerified
			fields = append(fields, "email_verified")
		} else if u.EmailVerified != old.EmailVerified {
			fields = append(fields, "email_verified")
		}
		if p.Username != nil && *p.Username != old.Username {
			u.Username = *p.Username
			fields = append(fields, "username")
		}
		if p.Name != nil && *p.Name != old.Name {
			u.Name = *p.Name
			fields = append(fields, "name")
		}
		if meta != nil && string(meta) != string(old.Metadata) {
			u.Metadata = meta
			fields = append(fields, "metadata")
		}
		if p.Status != nil && *p.Status != old.Status {
			u.Status = *p.Status
		}
		if len(fields) == 0 && u.Status == old.Status {
			return nil // nothing changes, nothing to record
		}
		u.UpdatedAt = s.clock()
		if u.Status == StatusActive && old.Status == StatusLocked {
			u.FailedLogins, u.LockedAt = 0, nil
		}
		n, err := tx.Exec(ctx, `UPDATE users SET email = $2, email_key = $3, email_verified = $4, username = $5,
			username_key = $6, name = $7, metadata = $8, search_text = $9, status = $10, updated_at = $11,
			failed_logins = $12, locked_at = $13, throttled_until = CASE WHEN $12 = 0 THEN NULL ELSE throttled_until END
			WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM users o WHERE o.id <> $1 AND (o.email_key = $3 OR o.username_key = $6))`,
			u.ID, u.Email, emailKey(u.Email), u.EmailVerified, nullIfEmpty(u.Username), nullIfEmpty(usernameKey(u.Username)),
			u.Name, string(u.Metadata), searchText(u.Email, u.Username, u.Name), string(u.Status), u.UpdatedAt,
			u.FailedLogins, u.LockedAt)
		if errors.Is(err, store.ErrAlreadyExists) || err == nil && n == 0 {
			return s.conflict(ctx, tx, u.Email, u.Username, u.ID)
		}
		if err != nil {
			return err
		}
		if slices.Contains(fields, "email") {
			// Links sent to the old address must not verify or reset the new one.
			if _, err := tx.Exec(ctx, `DELETE FROM user_tokens WHERE user_id = $1`, u.ID); err != nil {
				return err
			}
		}
		if len(fields) > 0 {
			if err := s.audit.Record(ctx, tx, audit.UserUpdated(u.ID, fields)); err != nil {
				return err
			}
		}
		return s.statusChanged(ctx, tx, u.ID, old.Status, u.Status)
	})
	if errors.Is(err, store.ErrNotFound) {
		return User{}, ErrNotFound
	}
	if err != nil {
		return User{}, fmt.Errorf("users: update: %w", err)
	}
	return u, nil
}

// statusChanged records a status change made by an admin, and revokes what a disabled
// user holds.
func (s *Service) statusChanged(ctx context.Context, tx *store.Tx, id string, from, to Status) error {
	switch {
	case from == to:
		return nil
	case to == StatusDisabled:
		if err := s.revoke(ctx, tx, id, RevokeDisabled); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.UserDisabled(id))
	case from == StatusLocked:
		return s.audit.Record(ctx, tx, audit.UserUnlocked(id, "admin"))
	default:
		return s.audit.Record(ctx, tx, audit.UserEnabled(id))
	}
}

// Unlock opens an account that failed sign-ins locked, and forgets its failures. Unlocking
// an account that is not locked only clears its failure count (and the backoff it
// imposed), which is audited too.
func (s *Service) Unlock(ctx context.Context, id string) (User, error) {
	var u User
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		var err error
		u, err = scanUser(tx.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`+forUpdate(tx), id))
		if err != nil {
			return err
		}
		if u.Status != StatusLocked && u.FailedLogins == 0 {
			return nil
		}
		wasLocked := u.Status == StatusLocked
		if wasLocked {
			u.Status = StatusActive
		}
		u.FailedLogins, u.LockedAt, u.UpdatedAt = 0, nil, s.clock()
		if _, err := tx.Exec(ctx, `UPDATE users SET status = $2, failed_logins = 0, throttled_until = NULL,
			locked_at = NULL, updated_at = $3 WHERE id = $1`, id, string(u.Status), u.UpdatedAt); err != nil {
			return err
		}
		if !wasLocked {
			return s.audit.Record(ctx, tx, audit.UserFailuresCleared(id))
		}
		return s.audit.Record(ctx, tx, audit.UserUnlocked(id, "admin"))
	})
	if errors.Is(err, store.ErrNotFound) {
		return User{}, ErrNotFound
	}
	if err != nil {
		return User{}, fmt.Errorf("users: unlock: %w", err)
	}
	return u, nil
}

// Delete removes an account, its links, and (through the revokers) what it holds.
func (s *Service) Delete(ctx context.Context, id string) error {
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		// The user's row is locked first, as a sign-in locks it first, so that a delete
		// and a sign-in of one user take their locks in one order and never deadlock.
		var found string
		if err := tx.QueryRow(ctx, `SELECT id FROM users WHERE id = $1`+forUpdate(tx), id).Scan(&found); err != nil {
			return err
		}
		if err := s.revoke(ctx, tx, id, RevokeDeleted); err != nil {
			return err
		}
		n, err := tx.Exec(ctx, `DELETE FROM users WHERE id = $1`, id)
		if err != nil {
			return err
		}
		if n == 0 {
			return store.ErrNotFound
		}
		return s.audit.Record(ctx, tx, audit.UserDeleted(id))
	})
	if errors.Is(err, store.ErrNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("users: delete: %w", err)
	}
	return nil
}

// nullIfEmpty stores "" as NULL, so that unique indexes admit any number of users
// without a username.
func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
