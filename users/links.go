package users

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/identityd/identityd/audit"
	"github.com/identityd/identityd/mail"
	"github.com/identityd/identityd/requestinfo"
	"github.com/identityd/identityd/store"
)

// Purposes of a link token.
const (
	purposeVerify = "verify_email"
	purposeReset  = "reset_password"
)

// Paths of the pages links lead to, on the public listener.
const (
	VerifyPath = "/verify"
	ResetPath  = "/reset-password"
	LoginPath  = "/login"
)

// tokenBytes is the entropy of a link token: 256 bits, so that it cannot be guessed and
// a fast hash is a safe way to store it.
const tokenBytes = 32

// newToken returns a fresh link token and the SHA-256 that is stored instead of it.
func newToken() (string, []byte) {
	raw := make([]byte, tokenBytes)
	_, _ = rand.Read(raw) // crypto/rand never fails short; it crashes the program instead
	tok := base64.RawURLEncoding.EncodeToString(raw)
	return tok, tokenHash(tok)
}

// tokenHash is what the database holds of a token.
func tokenHash(tok string) []byte {
	h := sha256.Sum256([]byte(tok))
	return h[:]
}

// validTokenForm reports whether tok could be a token newToken made; anything else is
// refused without a database round trip.
func validTokenForm(tok string) bool {
	return len(tok) == base64.RawURLEncoding.EncodedLen(tokenBytes) && base64.RawURLEncoding.DecodedLen(len(tok)) == tokenBytes
}

// issueToken replaces the user's earlier tokens of purpose with a new one bound to the
// address emailKey, valid for ttl, and returns the link that carries it.
func (s *Service) issueToken(ctx context.Context, tx *store.Tx, userID, purpose, key string, ttl time.Duration, path string) (string, error) {
	tok, hash := newToken()
	now := s.clock()
	if _, err := tx.Exec(ctx, `DELETE FROM user_tokens WHERE user_id = $1 AND purpose = $2`, userID, purpose); err != nil {
		return "", err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO user_tokens (token_hash, user_id, purpose, email_key, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, hash, userID, purpose, key, now, now.Add(ttl)); err != nil {
		return "", err
	}
	return s.cfg.BaseURL + path + "?" + url.Values{"token": {tok}}.Encode(), nil
}

// link is one kind of emailed link: what it is for, how long it lasts, where it leads,
// the message that carries it and the event that records sending it.
type link struct {
	purpose string
	ttl     time.Duration
	path    string
	// refuse says why u may not get this link now, or nil.
	refuse func(u User) error
	render func(r *mail.Renderer, u User, link string, ttl time.Duration) (mail.Message, error)
	event  func(id string) audit.Event
}

// sendLink issues a link of kind k to user id and queues the message that carries it,
// in one transaction with its audit event.
func (s *Service) sendLink(ctx context.Context, id string, k link) error {
	if s.outbox == nil {
		return ErrMailUnavailable
	}
	return s.db.Tx(ctx, func(tx *store.Tx) error {
		u, err := scanUser(tx.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`+forUpdate(tx), id))
		if err != nil {
			return err
		}
		if err := k.refuse(u); err != nil {
			return err
		}
		url, err := s.issueToken(ctx, tx, id, k.purpose, emailKey(u.Email), k.ttl, k.path)
		if err != nil {
			return err
		}
		m, err := k.render(s.mail, u, url, k.ttl)
		if err != nil {
			return err
		}
		if err := s.outbox.Send(ctx, tx, m); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, k.event(id))
	})
}

// linkError passes on the errors a caller tells apart and wraps the rest.
func linkError(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		return ErrNotFound
	case errors.Is(err, ErrAlreadyVerified), errors.Is(err, ErrDisabled), errors.Is(err, ErrMailUnavailable):
		return err
	}
	return fmt.Errorf("users: %s: %w", op, err)
}

// RequestVerification sends the user a link that verifies their email address.
func (s *Service) RequestVerification(ctx context.Context, id string) error {
	return linkError("request verification", s.sendLink(ctx, id, link{
		purpose: purposeVerify, ttl: s.cfg.VerificationTTL, path: VerifyPath,
		refuse: func(u User) error {
			if u.EmailVerified {
				return ErrAlreadyVerified
			}
			return nil
		},
		render: func(r *mail.Renderer, u User, url string, ttl time.Duration) (mail.Message, error) {
			return r.Verification(u.Email, u.Name, url, ttl)
		},
		event: audit.UserEmailVerificationSent,
	}))
}

// VerifyEmail marks the address a verification link was sent to as verified, and uses
// the link up. A link sent to an address the user has since changed does nothing.
func (s *Service) VerifyEmail(ctx context.Context, token string) (User, error) {
	if !validTokenForm(token) {
		return User{}, ErrInvalidToken
	}
	var u User
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		var userID, key string
		err := tx.QueryRow(ctx, `DELETE FROM user_tokens WHERE token_hash = $1 AND purpose = $2 AND expires_at > $3
			RETURNING user_id, email_key`, tokenHash(token), purposeVerify, s.clock()).Scan(&userID, &key)
		if errors.Is(err, store.ErrNotFound) {
			return ErrInvalidToken
		}
		if err != nil {
			return err
		}
		n, err := tx.Exec(ctx, `UPDATE users SET email_verified = $3, updated_at = $4 WHERE id = $1 AND email_key = $2`,
			userID, key, true, s.clock())
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrInvalidToken
		}
		if err := s.audit.Record(ctx, tx, audit.UserEmailVerified(userID)); err != nil {
			return err
		}
		u, err = scanUser(tx.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, userID))
		return err
	})
	if errors.Is(err, ErrInvalidToken) {
		return User{}, ErrInvalidToken
	}
	if err != nil {
		return User{}, fmt.Errorf("users: verify email: %w", err)
	}
	return u, nil
}

// SendPasswordReset sends the user a password reset link; admins use it for a user who
// asks for help. A disabled user gets none (ErrDisabled): a reset would not let them in.
func (s *Service) SendPasswordReset(ctx context.Context, id string) error {
	return linkError("send password reset", s.sendLink(ctx, id, link{
		purpose: purposeReset, ttl: s.cfg.ResetTTL, path: ResetPath,
		refuse: func(u User) error {
			if u.Status == StatusDisabled {
				return ErrDisabled
			}
			return nil
		},
		render: func(r *mail.Renderer, u User, url string, ttl time.Duration) (mail.Message, error) {
			return r.PasswordReset(u.Email, u.Name, url, ttl)
		},
		event: audit.UserPasswordResetRequested,
	}))
}

// sendLockoutNotice tells a user, in the transaction that locks them, that their account
// was locked, with a reset link that also unlocks it. Without a mail server the lock
// still happens; only the notice is skipped, and logged.
func (s *Service) sendLockoutNotice(ctx context.Context, tx *store.Tx, id, email, name string, failures int, at time.Time) error {
	if s.outbox == nil {
		s.log.WarnContext(ctx, "account locked, but no mail server is configured to tell its owner", slog.String("user_id", id))
		return nil
	}
	link, err := s.issueToken(ctx, tx, id, purposeReset, emailKey(email), s.cfg.ResetTTL, ResetPath)
	if err != nil {
		return err
	}
	ip := ""
	if a := requestinfo.From(ctx).ClientIP; a.IsValid() {
		ip = a.String()
	}
	m, err := s.mail.Lockout(email, name, failures, at, ip, link, s.cfg.ResetTTL)
	if err != nil {
		return err
	}
	return s.outbox.Send(ctx, tx, m)
}

// DeleteExpiredLinks deletes link tokens that expired before now, batch rows at a time,
// and reports how many went.
func (s *Service) DeleteExpiredLinks(ctx context.Context, batch int) (int64, error) {
	return s.deleteInBatches(ctx, `DELETE FROM user_tokens WHERE token_hash IN
		(SELECT token_hash FROM user_tokens WHERE expires_at <= $1 LIMIT $2)`, s.now(), batch)
}
