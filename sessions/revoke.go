package sessions

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/identityd/identityd/audit"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/users"
)

// End ends the session token names: its holder signs out. Ending an unknown, malformed
// or already ended token is no error, so that signing out always succeeds. It records
// session.revoked (logout), with the session's user as the actor.
func (s *Service) End(ctx context.Context, token string) error {
	hash, ok := tokenHash(token)
	if !ok {
		return nil
	}
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		var id, userID string
		err := tx.QueryRow(ctx, `DELETE FROM sessions WHERE token_hash = $1 RETURNING id, user_id`, hash).Scan(&id, &userID)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := s.ended(ctx, tx, Ending{UserID: userID, IDs: []string{id}, Reason: ReasonLogout}); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, asUser(audit.SessionRevoked(id, userID, ReasonLogout), userID))
	})
	if err != nil {
		return fmt.Errorf("sessions: end: %w", err)
	}
	return nil
}

// Revoke ends the live session with handle id of userID, for reason ReasonUser (the user
// ends one of their own) or ReasonAdmin. The session must be userID's: a handle of
// anyone else's answers ErrNotFound and changes nothing, so a user can never end
// someone else's session by guessing or copying its handle.
func (s *Service) Revoke(ctx context.Context, userID, id, reason string) error {
	if err := checkReason(reason); err != nil {
		return fmt.Errorf("sessions: revoke: %w", err)
	}
	now := s.clock()
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		var (
			remember          bool
			lastSeen, expires time.Time
		)
		err := tx.QueryRow(ctx, `DELETE FROM sessions WHERE id = $1 AND user_id = $2
			RETURNING remember, last_seen_at, expires_at`, id, userID).Scan(&remember, &lastSeen, &expires)
		if err != nil {
			return err
		}
		if !s.alive(remember, lastSeen, expires, now) {
			// Not live: answering ErrNotFound rolls the delete back, and the cleanup job
			// will count it among the expired.
			return store.ErrNotFound
		}
		if err := s.ended(ctx, tx, Ending{UserID: userID, IDs: []string{id}, Reason: reason}); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, byReason(audit.SessionRevoked(id, userID, reason), userID, reason))
	})
	if errors.Is(err, store.ErrNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("sessions: revoke: %w", err)
	}
	return nil
}

// RevokeOthers ends every session of userID but keepID (the one the user is using, who
// asks to be signed out everywhere else), and reports how many live ones ended.
func (s *Service) RevokeOthers(ctx context.Context, userID, keepID string) (int, error) {
	n, err := s.revokeMany(ctx, userID, ReasonUser, false,
		`DELETE FROM sessions WHERE user_id = $1 AND id <> $2`, userID, keepID)
	if err != nil {
		return 0, fmt.Errorf("sessions: revoke others: %w", err)
	}
	return n, nil
}

// RevokeAll ends every session of userID, for reason ReasonUser or ReasonAdmin, and
// reports how many live ones ended.
func (s *Service) RevokeAll(ctx context.Context, userID, reason string) (int, error) {
	if err := checkReason(reason); err != nil {
		return 0, fmt.Errorf("sessions: revoke all: %w", err)
	}
	n, err := s.revokeMany(ctx, userID, reason, true, `DELETE FROM sessions WHERE user_id = $1`, userID)
	if err != nil {
		return 0, fmt.Errorf("sessions: revoke all: %w", err)
	}
	return n, nil
}

// revokeMany runs the delete of some of userID's sessions (all of them when all) in a
// transaction of its own, with one audit event for the lot.
func (s *Service) revokeMany(ctx context.Context, userID, reason string, all bool, del string, args ...any) (int, error) {
	now := s.clock()
	var n int
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		var (
			ids []string
			err error
		)
		if n, ids, err = s.endAll(ctx, tx, now, del, args...); err != nil {
			return err
		}
		if err := s.ended(ctx, tx, Ending{UserID: userID, IDs: ids, Reason: reason, All: all}); err != nil || n == 0 {
			return err
		}
		return s.audit.Record(ctx, tx, byReason(audit.SessionsRevoked(userID, reason, n), userID, reason))
	})
	return n, err
}

// RevokeUser ends every session of userID in tx, the transaction of the change that
// requires it (a password reset or set, the user disabled or deleted), so that both
// commit or roll back together. It records one session.revoked event with the reason and
// the count, not one per session. It implements users.Revoker.
func (s *Service) RevokeUser(ctx context.Context, tx *store.Tx, userID string, reason users.RevokeReason) error {
	n, ids, err := s.endAll(ctx, tx, s.clock(), `DELETE FROM sessions WHERE user_id = $1`, userID)
	if err != nil {
		return fmt.Errorf("sessions: revoke user: %w", err)
	}
	if err := s.ended(ctx, tx, Ending{UserID: userID, IDs: ids, Reason: string(reason), All: true}); err != nil {
		return fmt.Errorf("sessions: revoke user: %w", err)
	}
	if n == 0 {
		return nil
	}
	if err := s.audit.Record(ctx, tx, audit.SessionsRevoked(userID, string(reason), n)); err != nil {
		return fmt.Errorf("sessions: revoke user: %w", err)
	}
	return nil
}

// endAll runs del, a DELETE of sessions, and reports how many of the deleted were live
// at now, and the handles of all of them. Bulk revocations delete expired sessions too,
// so that none of them could come back to life under a longer idle timeout; only the
// live ones count, because those are what the user saw and what ended.
func (s *Service) endAll(ctx context.Context, tx *store.Tx, now time.Time, del string, args ...any) (int, []string, error) {
	rows, err := tx.Query(ctx, del+` RETURNING id, remember, last_seen_at, expires_at`, args...)
	if err != nil {
		return 0, nil, err
	}
	type ended struct {
		id   string
		live bool
	}
	all, err := store.CollectRows(rows, func(r *store.Rows) (ended, error) {
		var (
			e                 ended
			remember          bool
			lastSeen, expires time.Time
		)
		err := r.Scan(&e.id, &remember, &lastSeen, &expires)
		e.live = s.alive(remember, lastSeen, expires, now)
		return e, err
	})
	if err != nil {
		return 0, nil, err
	}
	n, ids := 0, make([]string, 0, len(all))
	for _, e := range all {
		if e.live {
			n++
		}
		ids = append(ids, e.id)
	}
	return n, ids, nil
}

// checkReason refuses a reason other than ReasonUser and ReasonAdmin: the reasons are
// a closed list that auditors read.
func checkReason(reason string) error {
	if reason != ReasonUser && reason != ReasonAdmin {
		return fmt.Errorf("reason %q: must be %q or %q", reason, ReasonUser, ReasonAdmin)
	}
	return nil
}

// byReason makes the user the actor of ev when they ended their own sessions; an admin's
// revocation keeps the actor the request names.
func byReason(ev audit.Event, userID, reason string) audit.Event {
	if reason == ReasonUser {
		return asUser(ev, userID)
	}
	return ev
}
