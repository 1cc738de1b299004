package sessions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/identityd/identityd/audit"
	"github.com/identityd/identityd/requestinfo"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/users"
)

// Bounds on what a session stores about its sign-in and its client.
const (
	maxMethods      = 8
	maxMethodLen    = 32
	maxACRLen       = 128
	maxUserAgentLen = 256 // bytes, which bounds characters too; as much as the server's middleware keeps
)

// Establish begins a session for userID after a sign-in and returns its token, which is
// not stored and goes into the cookie (Cookie). The client's address and user agent
// come from requestinfo.
//
// In the same transaction it ends the session previousToken names, if any, whoever's it
// is: the token always changes at sign-in, so a token planted in the browser before it
// (session fixation) is worthless after. It records session.created, and
// session.revoked (replaced) for an ended previous session.
//
// A user who may not sign in (unknown, disabled, locked) gets ErrUserInactive: the
// check runs in the transaction, with the user's row locked against a concurrent
// change, so a session never begins after the disabling that should have ended it.
func (s *Service) Establish(ctx context.Context, previousToken, userID string, a Auth) (token string, sess Session, err error) {
	if err := checkAuth(a); err != nil {
		return "", Session{}, fmt.Errorf("sessions: establish: %w", err)
	}
	now := s.clock()
	info := requestinfo.From(ctx)
	sess = Session{ID: store.NewID(), UserID: userID, CreatedAt: now, LastSeenAt: now,
		ExpiresAt: now.Add(s.lifetime(a.Remember)), IdleExpiresAt: now.Add(s.idle(a.Remember)), Remember: a.Remember,
		UserAgent: boundUserAgent(info.UserAgent), Methods: append([]string(nil), a.Methods...), ACR: a.ACR,
		AuthTime: a.AuthTime.UTC().Truncate(time.Microsecond)}
	if info.ClientIP.IsValid() {
		sess.IP = info.ClientIP.WithZone("").String()
	}
	if a.AuthTime.IsZero() || sess.AuthTime.After(now) {
		sess.AuthTime = now
	}
	amr, err := json.Marshal(sess.Methods)
	if err != nil {
		return "", Session{}, fmt.Errorf("sessions: establish: %w", err)
	}
	token, hash := mintToken()
	err = s.db.Tx(ctx, func(tx *store.Tx) error {
		var status string
		err := tx.QueryRow(ctx, `SELECT status FROM users WHERE id = $1`+locking(tx, " FOR SHARE"), userID).Scan(&status)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return ErrUserInactive
		case err != nil:
			return err
		case status != string(users.StatusActive):
			return ErrUserInactive
		}
		if err := s.replace(ctx, tx, previousToken, userID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO sessions (id, token_hash, user_id, created_at, last_seen_at, expires_at,
			remember, ip, user_agent, amr, acr, auth_time) VALUES ($1, $2, $3, $4, $4, $5, $6, $7, $8, $9, $10, $11)`,
			sess.ID, hash, userID, now, sess.ExpiresAt, sess.Remember, sess.IP, sess.UserAgent, string(amr), sess.ACR,
			sess.AuthTime); err != nil {
			return err
		}
		if err := s.audit.Record(ctx, tx, audit.SessionCreated(sess.ID, userID, sess.Methods, sess.Remember)); err != nil {
			return err
		}
		return s.enforceLimit(ctx, tx, userID, sess.ID, now)
	})
	if err != nil {
		return "", Session{}, fmt.Errorf("sessions: establish: %w", err)
	}
	return token, sess, nil
}

// replace ends the session previousToken names, if it names one, as a sign-in by userID
// takes its place.
func (s *Service) replace(ctx context.Context, tx *store.Tx, previousToken, userID string) error {
	hash, ok := tokenHash(previousToken)
	if !ok {
		return nil
	}
	var id, owner string
	err := tx.QueryRow(ctx, `DELETE FROM sessions WHERE token_hash = $1 RETURNING id, user_id`, hash).Scan(&id, &owner)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := s.ended(ctx, tx, Ending{UserID: owner, IDs: []string{id}, Reason: ReasonReplaced}); err != nil {
		return err
	}
	return s.audit.Record(ctx, tx, asUser(audit.SessionRevoked(id, owner, ReasonReplaced), userID))
}

// enforceLimit ends the user's least recently used sessions beyond MaxPerUser, never
// keep (the session just begun).
func (s *Service) enforceLimit(ctx context.Context, tx *store.Tx, userID, keep string, now time.Time) error {
	var n int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM sessions WHERE user_id = $1`, userID).Scan(&n); err != nil {
		return err
	}
	if n <= MaxPerUser {
		return nil
	}
	ended, ids, err := s.endAll(ctx, tx, now, `DELETE FROM sessions WHERE id IN (SELECT id FROM sessions
		WHERE user_id = $1 AND id <> $2 ORDER BY last_seen_at, id LIMIT $3)`, userID, keep, n-MaxPerUser)
	if err != nil {
		return err
	}
	if err := s.ended(ctx, tx, Ending{UserID: userID, IDs: ids, Reason: ReasonLimit}); err != nil || ended == 0 {
		return err
	}
	// The user's own sign-in ended them.
	return s.audit.Record(ctx, tx, asUser(audit.SessionsRevoked(userID, ReasonLimit, ended), userID))
}

// checkAuth refuses an Auth that cannot describe a sign-in. Callers are identityd's own
// sign-in flows, so a refusal is a programming error, not a user's.
func checkAuth(a Auth) error {
	if len(a.Methods) == 0 || len(a.Methods) > maxMethods {
		return fmt.Errorf("a sign-in has 1 to %d authentication methods, not %d", maxMethods, len(a.Methods))
	}
	for _, m := range a.Methods {
		if m == "" || len(m) > maxMethodLen || strings.Trim(m, "abcdefghijklmnopqrstuvwxyz0123456789_-.") != "" {
			return fmt.Errorf("authentication method %q is not an amr value", m)
		}
	}
	if len(a.ACR) > maxACRLen {
		return fmt.Errorf("the acr is over %d bytes", maxACRLen)
	}
	for _, r := range a.ACR {
		if r < 0x21 || r > 0x7e {
			return fmt.Errorf("the acr %q is not printable ASCII without spaces", a.ACR)
		}
	}
	return nil
}

// boundUserAgent makes a client's user agent storable: valid UTF-8 without NUL (which
// PostgreSQL's text refuses), cut to maxUserAgentLen bytes on a character boundary.
func boundUserAgent(ua string) string {
	ua = strings.ReplaceAll(strings.ToValidUTF8(ua, "\uFFFD"), "\x00", "\uFFFD")
	if len(ua) <= maxUserAgentLen {
		return ua
	}
	cut := maxUserAgentLen
	for cut > 0 && !utf8.RuneStart(ua[cut]) {
		cut--
	}
	return ua[:cut]
}
