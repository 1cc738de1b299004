package users

import (
	"context"
	"errors"
	"fmt"

	"github.com/identityd/identityd/audit"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/validation"
)

// hashAAD binds an encrypted hash to its account, so that one account's ciphertext
// copied into another's row does not decrypt.
func hashAAD(id string) []byte { return []byte("password:" + id) }

// sealHash encrypts a password hash for storage.
func (s *Service) sealHash(id, hash string) ([]byte, error) {
	enc, err := s.kr.Encrypt([]byte(hash), hashAAD(id))
	if err != nil {
		return nil, fmt.Errorf("encrypt password hash: %w", err)
	}
	return enc, nil
}

// openHash decrypts a stored password hash.
func (s *Service) openHash(id string, enc []byte) (string, error) {
	hash, err := s.kr.Decrypt(enc, hashAAD(id))
	if err != nil {
		return "", fmt.Errorf("decrypt password hash: %w", err)
	}
	return string(hash), nil
}

// checkPassword checks a new password against the policy and the user's own details.
func (s *Service) checkPassword(password string, u User) error {
	if err := s.cfg.Policy.Check(password, u.Email, u.Username, u.Name); err != nil {
		return validation.One(scope, "password", policyReason(err))
	}
	return nil
}

// storePassword sets the user's password hash in tx, forgets failed sign-ins, and, when
// unlock is set, opens a locked account. It reports whether the account was locked.
func (s *Service) storePassword(ctx context.Context, tx *store.Tx, id, hash string, unlock, verify bool) (bool, error) {
	enc, err := s.sealHash(id, hash)
	if err != nil {
		return false, err
	}
	var status string
	if err := tx.QueryRow(ctx, `SELECT status FROM users WHERE id = $1`+forUpdate(tx), id).Scan(&status); err != nil {
		return false, err
	}
	wasLocked := unlock && Status(status) == StatusLocked
	if wasLocked {
		status = string(StatusActive)
	}
	now := s.clock()
	_, err = tx.Exec(ctx, `UPDATE users SET password_enc = $2, password_changed_at = $3, updated_at = $3,
		failed_logins = 0, throttled_until = NULL, status = $4,
		locked_at = CASE WHEN $4 = 'locked' THEN locked_at ELSE NULL END,
		email_verified = email_verified OR $5 WHERE id = $1`, id, enc, now, status, verify)
	return wasLocked, err
}

// SetPassword sets a user's password as an admin: it must satisfy the policy, and the
// user's sessions and tokens are revoked. A locked account stays locked; Unlock opens it.
func (s *Service) SetPassword(ctx context.Context, id, password string) error {
	u, err := s.Get(ctx, id)
	if err != nil {
		return err
	}
	if err := s.checkPassword(password, u); err != nil {
		return err
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return fmt.Errorf("users: set password: %w", err)
	}
	err = s.db.Tx(ctx, func(tx *store.Tx) error {
		if _, err := s.storePassword(ctx, tx, id, hash, false, false); err != nil {
			return err
		}
		if err := s.revoke(ctx, tx, id, RevokePasswordSet); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.UserPasswordSet(id))
	})
	if errors.Is(err, store.ErrNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("users: set password: %w", err)
	}
	return nil
}

// ChangePassword sets a new password for a user who gives the current one. A wrong
// current password is a failed sign-in, with its backoff and lockout: otherwise a stolen
// session could guess the password without limit.
func (s *Service) ChangePassword(ctx context.Context, id, current, password string) error {
	u, err := s.Get(ctx, id)
	if err != nil {
		return err
	}
	if err := s.checkPassword(password, u); err != nil {
		return err
	}
	identifier := u.Email
	if _, err := s.Authenticate(ctx, identifier, current); err != nil {
		return err
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return fmt.Errorf("users: change password: %w", err)
	}
	err = s.db.Tx(ctx, func(tx *store.Tx) error {
		if _, err := s.storePassword(ctx, tx, id, hash, false, false); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.UserPasswordChanged(id))
	})
	if errors.Is(err, store.ErrNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("users: change password: %w", err)
	}
	return nil
}

// ResetLinkValid reports whether a reset link's token can still set a password, so that
// the page it lands on can say so before the person chooses one.
func (s *Service) ResetLinkValid(ctx context.Context, token string) (bool, error) {
	if !validTokenForm(token) {
		return false, nil
	}
	var n int
	err := s.db.QueryRow(ctx, `SELECT count(*) FROM user_tokens t JOIN users u ON u.id = t.user_id
		WHERE t.token_hash = $1 AND t.purpose = $2 AND t.expires_at > $3 AND t.email_key = u.email_key AND u.status <> 'disabled'`,
		tokenHash(token), purposeReset, s.clock()).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("users: check reset link: %w", err)
	}
	return n > 0, nil
}

// ResetPassword sets a new password with a reset link and uses the link up. Following
// the link proves the user reads mail at their address, so it also verifies the address
// and opens an account that failed sign-ins locked; the user's sessions and tokens are
// revoked. An unknown, used or expired link, or one for a disabled account, is
// ErrInvalidToken; a password the policy refuses is a *ValidationError, and leaves the
// link usable.
func (s *Service) ResetPassword(ctx context.Context, token, password string) (User, error) {
	if !validTokenForm(token) {
		return User{}, ErrInvalidToken
	}
	hashed := tokenHash(token)
	var userID string
	err := s.db.QueryRow(ctx, `SELECT t.user_id FROM user_tokens t JOIN users u ON u.id = t.user_id
		WHERE t.token_hash = $1 AND t.purpose = $2 AND t.expires_at > $3 AND t.email_key = u.email_key AND u.status <> 'disabled'`,
		hashed, purposeReset, s.clock()).Scan(&userID)
	if errors.Is(err, store.ErrNotFound) {
		return User{}, ErrInvalidToken
	}
	if err != nil {
		return User{}, fmt.Errorf("users: reset password: %w", err)
	}
	u, err := s.Get(ctx, userID)
	if errors.Is(err, ErrNotFound) {
		return User{}, ErrInvalidToken
	}
	if err != nil {
		return User{}, err
	}
	if err := s.checkPassword(password, u); err != nil {
		return User{}, err
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return User{}, fmt.Errorf("users: reset password: %w", err)
	}
	err = s.db.Tx(ctx, func(tx *store.Tx) error {
		// The link is used up here, in the transaction that uses it, so that two
		// requests racing with one link cannot both succeed.
		n, err := tx.Exec(ctx, `DELETE FROM user_tokens WHERE token_hash = $1 AND purpose = $2 AND expires_at > $3
			AND user_id = $4 AND email_key = (SELECT email_key FROM users WHERE id = $4 AND status <> 'disabled')`,
			hashed, purposeReset, s.clock(), userID)
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrInvalidToken
		}
		if _, err := tx.Exec(ctx, `DELETE FROM user_tokens WHERE user_id = $1 AND purpose = $2`, userID, purposeReset); err != nil {
			return err
		}
		wasLocked, err := s.storePassword(ctx, tx, userID, hash, true, true)
		if err != nil {
			return err
		}
		if err := s.revoke(ctx, tx, userID, RevokePasswordReset); err != nil {
			return err
		}
		if wasLocked {
			if err := s.audit.Record(ctx, tx, audit.UserUnlocked(userID, "password_reset")); err != nil {
				return err
			}
		}
		if err := s.audit.Record(ctx, tx, audit.UserPasswordReset(userID)); err != nil {
			return err
		}
		u, err = scanUser(tx.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, userID))
		return err
	})
	if errors.Is(err, ErrInvalidToken) || errors.Is(err, store.ErrNotFound) {
		return User{}, ErrInvalidToken
	}
	if err != nil {
		return User{}, fmt.Errorf("users: reset password: %w", err)
	}
	return u, nil
}
