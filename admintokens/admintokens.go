// Package admintokens issues and checks the bearer tokens that authorise calls to the
// management API.
//
// A token is 256 random bits shown once, when it is created; the database keeps only its
// SHA-256, so a leaked database reveals no usable token, and checking one costs a hash
// and an indexed lookup rather than a slow password hash (the input is high-entropy, so
// a fast hash is safe). Tokens expire, can be revoked, and expired ones are deleted by a
// periodic job.
package admintokens

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/identityd/identityd/audit"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/validation"
)

// Prefix starts every admin token, so that secret scanners and people can recognise one.
const Prefix = "idd_admin_"

// Limits on what callers may ask for.
const (
	DefaultTTL    = time.Hour
	MinTTL        = time.Minute
	MaxTTL        = 365 * 24 * time.Hour
	MaxNameLength = 100
	DefaultName   = "admin"
)

// lastUsedEvery throttles last_used_at writes, so that a busy automation does not turn
// every API call into a database write.
const lastUsedEvery = time.Minute

var (
	// ErrInvalid means a presented token is unknown, malformed, expired or revoked. The
	// cases are deliberately not told apart to the presenter.
	ErrInvalid = errors.New("admintokens: invalid token")
	// ErrNotFound means no token has the given id.
	ErrNotFound = errors.New("admintokens: no such token")
)

// ValidationError says why a request was refused, in words for the caller: the first
// field at fault.
type ValidationError = validation.Error

// scope begins the messages of this package's refusals.
const scope = "admintokens"

// Token describes an admin token; it never holds the secret.
type Token struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  time.Time  `json:"expires_at"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
}

// Active reports whether the token would be accepted at now.
func (t Token) Active(now time.Time) bool {
	return t.RevokedAt == nil && now.Before(t.ExpiresAt)
}

// Recorder records audit events in the transaction of the change they describe.
type Recorder interface {
	Record(ctx context.Context, tx *store.Tx, ev audit.Event) error
}

// Service manages admin tokens in the database.
type Service struct {
	db    *store.DB
	now   func() time.Time
	audit Recorder
}

// New returns a Service over db that records every change in audit; now is the clock
// (time.Now in production).
func New(db *store.DB, now func() time.Time, audit Recorder) *Service {
	return &Service{db: db, now: now, audit: audit}
}

// Create makes a new token valid for ttl and returns its secret, which is not stored and
// cannot be shown again.
func (s *Service) Create(ctx context.Context, name string, ttl time.Duration) (secret string, tok Token, err error) {
	if name == "" {
		name = DefaultName
	}
	if err := validateName(name); err != nil {
		return "", Token{}, err
	}
	if ttl < MinTTL || ttl > MaxTTL {
		return "", Token{}, validation.One(scope, "ttl", "must be between 1m and 8760h (365 days)")
	}
	raw := make([]byte, 32)
	_, _ = rand.Read(raw) // never fails: crypto/rand crashes the program rather than return short
	secret = Prefix + base64.RawURLEncoding.EncodeToString(raw)
	now := s.now().UTC().Truncate(time.Microsecond)
	tok = Token{ID: store.NewID(), Name: name, CreatedAt: now, ExpiresAt: now.Add(ttl)}
	hash := sha256.Sum256([]byte(secret))
	err = s.db.Tx(ctx, func(tx *store.Tx) error {
		_, err := tx.Exec(ctx,
			`INSERT INTO admin_tokens (id, name, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
			tok.ID, tok.Name, hash[:], tok.CreatedAt, tok.ExpiresAt)
		if err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.AdminTokenCreated(tok.ID, tok.Name, tok.ExpiresAt))
	})
	if err != nil {
		return "", Token{}, fmt.Errorf("admintokens: create: %w", err)
	}
	return secret, tok, nil
}

// Verify returns the token whose secret was presented, or ErrInvalid.
func (s *Service) Verify(ctx context.Context, secret string) (Token, error) {
	// Cheap checks first: a string that cannot be a token costs no database round trip.
	body, ok := strings.CutPrefix(secret, Prefix)
	if !ok || base64.RawURLEncoding.DecodedLen(len(body)) != 32 {
		return Token{}, ErrInvalid
	}
	hash := sha256.Sum256([]byte(secret))
	var (
		tok    Token
		stored []byte
	)
	err := s.db.QueryRow(ctx,
		`SELECT id, name, token_hash, created_at, expires_at, revoked_at, last_used_at FROM admin_tokens WHERE token_hash = $1`,
		hash[:]).Scan(&tok.ID, &tok.Name, &stored, &tok.CreatedAt, &tok.ExpiresAt, &tok.RevokedAt, &tok.LastUsedAt)
	if errors.Is(err, store.ErrNotFound) {
		return Token{}, ErrInvalid
	}
	if err != nil {
		return Token{}, fmt.Errorf("admintokens: verify: %w", err)
	}
	// The lookup matched on the hash already; comparing again in constant time keeps the
	// decision itself free of timing differences whatever the index does.
	now := s.now()
	if subtle.ConstantTimeCompare(stored, hash[:]) != 1 || !tok.Active(now) {
		return Token{}, ErrInvalid
	}
	if tok.LastUsedAt == nil || now.Sub(*tok.LastUsedAt) >= lastUsedEvery {
		used := now.UTC().Truncate(time.Microsecond)
		if _, err := s.db.Exec(ctx, `UPDATE admin_tokens SET last_used_at = $1 WHERE id = $2`, used, tok.ID); err != nil {
			return Token{}, fmt.Errorf("admintokens: verify: record use: %w", err)
		}
		tok.LastUsedAt = &used
	}
	return tok, nil
}

// Revoke stops a token from working. Revoking a revoked token changes nothing.
func (s *Service) Revoke(ctx context.Context, id string) (Token, error) {
	now := s.now().UTC().Truncate(time.Microsecond)
	var tok Token
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		n, err := tx.Exec(ctx, `UPDATE admin_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL`, now, id)
		if err != nil {
			return err
		}
		err = tx.QueryRow(ctx,
			`SELECT id, name, created_at, expires_at, revoked_at, last_used_at FROM admin_tokens WHERE id = $1`, id).
			Scan(&tok.ID, &tok.Name, &tok.CreatedAt, &tok.ExpiresAt, &tok.RevokedAt, &tok.LastUsedAt)
		if err != nil || n == 0 {
			return err // unknown, or revoked before: nothing changed, nothing to record
		}
		return s.audit.Record(ctx, tx, audit.AdminTokenRevoked(tok.ID, tok.Name))
	})
	if errors.Is(err, store.ErrNotFound) {
		return Token{}, ErrNotFound
	}
	if err != nil {
		return Token{}, fmt.Errorf("admintokens: revoke: %w", err)
	}
	return tok, nil
}

// ErrBadCursor means a list cursor was not one List made.
var ErrBadCursor = store.ErrBadCursor

// MaxPageSize bounds one page of List.
const MaxPageSize = 500

// Page is one page of tokens, newest first, and the cursor of the next page ("" when
// this is the last).
type Page struct {
	Tokens []Token
	Next   string
}

// List returns up to limit tokens, newest first, starting after cursor ("" for the first
// page). Pages are keyed on (created_at, id), so tokens created meanwhile neither repeat
// nor shift later pages.
func (s *Service) List(ctx context.Context, limit int, cursor string) (Page, error) {
	if limit < 1 || limit > MaxPageSize {
		return Page{}, validation.One(scope, "limit", fmt.Sprintf("must be between 1 and %d", MaxPageSize))
	}
	q, args, err := store.PageNewestFirst(
		`SELECT id, name, created_at, expires_at, revoked_at, last_used_at FROM admin_tokens`, nil, false, limit, cursor)
	if err != nil {
		return Page{}, err
	}
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return Page{}, fmt.Errorf("admintokens: list: %w", err)
	}
	toks, err := store.CollectRows(rows, func(r *store.Rows) (Token, error) {
		var t Token
		return t, r.Scan(&t.ID, &t.Name, &t.CreatedAt, &t.ExpiresAt, &t.RevokedAt, &t.LastUsedAt)
	})
	if err != nil {
		return Page{}, fmt.Errorf("admintokens: list: %w", err)
	}
	page := Page{Tokens: toks}
	if len(toks) > limit {
		page.Tokens = toks[:limit]
		last := page.Tokens[limit-1]
		page.Next = store.NextCursor(len(toks), limit, last.CreatedAt, last.ID)
	}
	return page, nil
}

// DeleteExpired deletes tokens that expired before now, batch rows at a time so that a
// large backlog never holds the database for long, and reports how many went.
func (s *Service) DeleteExpired(ctx context.Context, batch int) (int64, error) {
	now := s.now()
	var total int64
	for {
		var n int64
		err := s.db.Tx(ctx, func(tx *store.Tx) error {
			var err error
			n, err = tx.Exec(ctx,
				`DELETE FROM admin_tokens WHERE id IN (SELECT id FROM admin_tokens WHERE expires_at <= $1 LIMIT $2)`,
				now, batch)
			if err != nil || n == 0 {
				return err
			}
			return s.audit.Record(ctx, tx, audit.AdminTokensExpiredDeleted(n))
		})
		if err != nil {
			return total, fmt.Errorf("admintokens: delete expired: %w", err)
		}
		total += n
		if n < int64(batch) {
			return total, nil
		}
	}
}

func validateName(name string) error {
	if !utf8.ValidString(name) {
		return validation.One(scope, "name", "must be valid UTF-8")
	}
	if utf8.RuneCountInString(name) > MaxNameLength {
		return validation.One(scope, "name", fmt.Sprintf("must be at most %d characters", MaxNameLength))
	}
	if strings.TrimSpace(name) != name {
		return validation.One(scope, "name", "must not start or end with spaces")
	}
	for _, r := range name {
		if !unicode.IsPrint(r) {
			return validation.One(scope, "name", "must contain only printable characters")
		}
	}
	return nil
}
