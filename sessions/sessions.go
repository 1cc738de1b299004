// Package sessions keeps identityd's browser sessions: the server-side state behind the
// sign-in pages and single sign-on.
//
// A session has two names. Its token, 256 random bits, lives only in the browser's
// cookie; the database holds the token's SHA-256, so a copy of the database yields no
// cookie anyone could replay, and checking a token costs a hash and an indexed lookup
// (the token is high-entropy, so a fast hash is safe). Its handle (Session.ID) is a short
// public id that lists and revocations use, so that a token never leaves its cookie.
//
// A session ends at the first of: its absolute expiry, fixed at sign-in; its idle
// expiry, once it has gone unused for the idle timeout; sign-out; a new sign-in in the
// same browser; revocation by its user or an admin, or because the user's password was
// reset or set, or the user was disabled or deleted. A "remember me" sign-in gets
// longer lifetimes of both kinds and a cookie that outlives the browser; without it the
// cookie ends when the browser closes.
//
// The idle expiry is computed from when the session was last seen with the timeouts
// configured now, so a shorter timeout applies at once to every session. (A longer one
// also revives sessions that idled past the old timeout and that the cleanup job has not
// yet deleted: they are within the new policy.)
//
// Every change records its audit event in its own transaction. Noting that a session
// was used is no change anyone audits, and it is written at most every TouchEvery per
// session, so that browsing does not become a stream of writes.
package sessions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/identityd/identityd/audit"
	"github.com/identityd/identityd/requestinfo"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/users"
)

var (
	// ErrNotFound means no live session answers: the token is malformed, unknown, ended
	// or expired, or the user has no live session with the handle. The cases are
	// deliberately not told apart.
	ErrNotFound = errors.New("sessions: no such session")
	// ErrUserInactive means a session cannot begin: the user does not exist, or is
	// disabled or locked.
	ErrUserInactive = errors.New("sessions: the user cannot sign in")
)

// Reasons for ending sessions early, as session.revoked events record them. RevokeUser
// records the users.RevokeReason it is given instead.
const (
	// ReasonLogout: the session's holder signed out.
	ReasonLogout = "logout"
	// ReasonReplaced: a new sign-in in the same browser took the session's place.
	ReasonReplaced = "replaced"
	// ReasonUser: the user ended the session from their list of sessions.
	ReasonUser = "user"
	// ReasonAdmin: an admin ended the session.
	ReasonAdmin = "admin"
	// ReasonLimit: the user signed in again with MaxPerUser sessions already, and the
	// least recently used made room.
	ReasonLimit = "limit"
)

// MaxPerUser bounds a user's sessions: a new sign-in beyond it ends the least recently
// used. It keeps what one account can make the database hold finite, and lets List
// show every live session of a user without pagination.
const MaxPerUser = 100

// Auth describes the sign-in that begins a session, as OpenID Connect reports it.
type Auth struct {
	// Methods are the RFC 8176 amr values of the sign-in, e.g. ["pwd"]; at least one,
	// at most 8, each of lower-case letters, digits, '_', '-' and '.', up to 32 long.
	Methods []string
	// ACR is the authentication context class reached, "" for none; at most 128
	// printable ASCII characters.
	ACR string
	// AuthTime is when the user authenticated; the zero time, or a time after now,
	// means now.
	AuthTime time.Time
	// Remember asks for a session that outlives the browser ("remember me").
	Remember bool
}

// Session describes a session; it never holds the token.
type Session struct {
	// ID is the session's public handle.
	ID     string `json:"id"`
	UserID string `json:"user_id"`
	// CreatedAt is when the sign-in began the session.
	CreatedAt time.Time `json:"created_at"`
	// LastSeenAt is when the session was last used, to within the TouchEvery setting.
	LastSeenAt time.Time `json:"last_seen_at"`
	// ExpiresAt is the absolute expiry, whatever the session's use.
	ExpiresAt time.Time `json:"expires_at"`
	// IdleExpiresAt is when the session ends unless it is used before: LastSeenAt plus
	// the idle timeout that applies. The session ends at the earlier of the two.
	IdleExpiresAt time.Time `json:"idle_expires_at"`
	Remember      bool      `json:"remember"`
	// IP and UserAgent are the client's at sign-in, to help its user recognise it.
	IP        string `json:"ip"`
	UserAgent string `json:"user_agent"`
	// Methods, ACR and AuthTime are the Auth the session began with.
	Methods  []string  `json:"methods"`
	ACR      string    `json:"acr,omitempty"`
	AuthTime time.Time `json:"auth_time"`
}

// Recorder records audit events in the transaction of the change they describe.
type Recorder interface {
	Record(ctx context.Context, tx *store.Tx, ev audit.Event) error
}

// Service manages sessions in the database.
type Service struct {
	db    *store.DB
	audit Recorder
	now   func() time.Time
	cfg   Config
	hooks []EndHook
}

var _ users.Revoker = (*Service)(nil)

// New returns a Service over db that records every change in rec; now is the clock
// (time.Now when nil). Zero fields of cfg take their defaults (DefaultConfig); a
// configuration that makes no sense is refused with every problem named.
func New(db *store.DB, rec Recorder, now func() time.Time, cfg Config) (*Service, error) {
	if db == nil || rec == nil {
		return nil, errors.New("sessions: new: a database and an audit recorder are required")
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	return &Service{db: db, audit: rec, now: now, cfg: cfg.withDefaults()}, nil
}

// clock is the current time as stored: UTC, to the microsecond both backends keep.
func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// idle is the idle timeout of a session.
func (s *Service) idle(remember bool) time.Duration {
	if remember {
		return s.cfg.RememberIdle
	}
	return s.cfg.IdleTimeout
}

// lifetime is the absolute lifetime of a new session.
func (s *Service) lifetime(remember bool) time.Duration {
	if remember {
		return s.cfg.RememberFor
	}
	return s.cfg.AbsoluteTimeout
}

// alive reports whether a session with these times is live at now. The cleanup job's
// query and liveClause are its complement and its SQL form; keep the three together.
func (s *Service) alive(remember bool, lastSeen, expires, now time.Time) bool {
	return now.Before(expires) && now.Before(lastSeen.Add(s.idle(remember)))
}

// liveClause is alive in SQL over a session row: $N is now, $N+1 and $N+2 are now minus
// the idle timeouts without and with remember (idleCutoffs).
func liveClause(n int) string {
	return fmt.Sprintf(`expires_at > $%d AND (NOT remember AND last_seen_at > $%d OR remember AND last_seen_at > $%d)`,
		n, n+1, n+2)
}

// idleCutoffs are the last_seen_at at or before which a session is idle at now, without
// and with remember.
func (s *Service) idleCutoffs(now time.Time) (time.Time, time.Time) {
	return now.Add(-s.cfg.IdleTimeout), now.Add(-s.cfg.RememberIdle)
}

// sessionColumns are the columns scan reads, in its order.
const sessionColumns = `id, user_id, created_at, last_seen_at, expires_at, remember, ip, user_agent, amr, acr, auth_time`

// scanner is a row or rows.
type scanner interface{ Scan(dest ...any) error }

// scan reads sessionColumns, then extra.
func (s *Service) scan(r scanner, extra ...any) (Session, error) {
	var (
		sess Session
		amr  string
	)
	dest := append([]any{&sess.ID, &sess.UserID, &sess.CreatedAt, &sess.LastSeenAt, &sess.ExpiresAt, &sess.Remember,
		&sess.IP, &sess.UserAgent, &amr, &sess.ACR, &sess.AuthTime}, extra...)
	if err := r.Scan(dest...); err != nil {
		return Session{}, err
	}
	if err := json.Unmarshal([]byte(amr), &sess.Methods); err != nil {
		return Session{}, fmt.Errorf("stored methods of session %s: %w", sess.ID, err)
	}
	sess.IdleExpiresAt = sess.LastSeenAt.Add(s.idle(sess.Remember))
	return sess, nil
}

// asUser makes userID the actor of ev, for changes the user made themselves.
func asUser(ev audit.Event, userID string) audit.Event {
	ev.Actor = requestinfo.Actor{Kind: requestinfo.ActorUser, ID: userID}
	return ev
}

// locking is clause (" FOR UPDATE", " FOR SHARE") on PostgreSQL, where it locks the rows
// a read in a write transaction returns, and "" on SQLite, where a write transaction
// holds the only writer already.
func locking(tx *store.Tx, clause string) string {
	if tx.Dialect() == store.Postgres {
		return clause
	}
	return ""
}
