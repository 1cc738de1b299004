package sessions

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"time"

	"github.com/identityd/identityd/store"
)

// Lookup returns the live session token names, or ErrNotFound. It runs on every request
// that carries a session cookie: a malformed token costs no database round trip, a
// well-formed one a hash and one indexed read, and the session's use is written down
// only when TouchEvery has passed since it last was.
func (s *Service) Lookup(ctx context.Context, token string) (Session, error) {
	hash, ok := tokenHash(token)
	if !ok {
		return Session{}, ErrNotFound
	}
	now := s.clock()
	sess, err := s.find(ctx, s.db, hash, now, "")
	if err != nil {
		return Session{}, wrap("lookup", err)
	}
	if now.Sub(sess.LastSeenAt) >= s.cfg.TouchEvery {
		// The condition keeps a replica whose clock lags from moving the time back.
		if _, err := s.db.Exec(ctx, `UPDATE sessions SET last_seen_at = $1 WHERE id = $2 AND last_seen_at < $1`,
			now, sess.ID); err != nil {
			return Session{}, fmt.Errorf("sessions: lookup: note use: %w", err)
		}
		s.seen(&sess, now)
	}
	return sess, nil
}

// Rotate gives the live session token names a new token, keeping its handle and
// everything else, and returns it; the old token stops working at once. Call it at
// every change of privilege (a second factor passed, say), so that a token seen before
// the change is worthless after it. Of two concurrent rotations of one token, one
// succeeds and the other answers ErrNotFound.
func (s *Service) Rotate(ctx context.Context, token string) (newToken string, sess Session, err error) {
	hash, ok := tokenHash(token)
	if !ok {
		return "", Session{}, ErrNotFound
	}
	now := s.clock()
	fresh, freshHash := mintToken()
	err = s.db.Tx(ctx, func(tx *store.Tx) error {
		var err error
		if sess, err = s.find(ctx, tx, hash, now, locking(tx, " FOR UPDATE")); err != nil {
			return err
		}
		// Rotating is using: the session is seen now.
		_, err = tx.Exec(ctx, `UPDATE sessions SET token_hash = $1, last_seen_at = $2 WHERE id = $3`, freshHash, now, sess.ID)
		return err
	})
	if err != nil {
		return "", Session{}, wrap("rotate", err)
	}
	s.seen(&sess, now)
	return fresh, sess, nil
}

// find reads the live session whose token hashes to hash, with lock appended to the
// query.
func (s *Service) find(ctx context.Context, q store.Queryer, hash []byte, now time.Time, lock string) (Session, error) {
	var stored []byte
	sess, err := s.scan(q.QueryRow(ctx, `SELECT `+sessionColumns+`, token_hash FROM sessions WHERE token_hash = $1`+lock, hash),
		&stored)
	if errors.Is(err, store.ErrNotFound) {
		return Session{}, ErrNotFound
	}
	if err != nil {
		return Session{}, err
	}
	// The lookup matched on the hash already; comparing again in constant time keeps the
	// decision itself free of timing differences whatever the index does.
	if subtle.ConstantTimeCompare(stored, hash) != 1 || !s.alive(sess.Remember, sess.LastSeenAt, sess.ExpiresAt, now) {
		return Session{}, ErrNotFound
	}
	return sess, nil
}

// seen updates sess for a use at now.
func (s *Service) seen(sess *Session, now time.Time) {
	sess.LastSeenAt = now
	sess.IdleExpiresAt = now.Add(s.idle(sess.Remember))
}

// wrap adds op to err, leaving ErrNotFound bare: it is the answer, not a failure.
func wrap(op string, err error) error {
	if errors.Is(err, ErrNotFound) {
		return ErrNotFound
	}
	return fmt.Errorf("sessions: %s: %w", op, err)
}
