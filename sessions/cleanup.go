package sessions

import (
	"context"
	"fmt"
	"time"

	"github.com/identityd/identityd/audit"
	"github.com/identityd/identityd/jobs"
	"github.com/identityd/identityd/store"
)

// DeleteExpired deletes sessions past their absolute or idle expiry, batch rows at a
// time so that a large backlog never holds the database for long, and reports how many
// went. Each batch records session.expired_deleted with its count.
func (s *Service) DeleteExpired(ctx context.Context, batch int) (int64, error) {
	now := s.clock()
	idle, rememberIdle := s.idleCutoffs(now)
	var total int64
	for {
		var n int64
		err := s.db.Tx(ctx, func(tx *store.Tx) error {
			var err error
			// The complement of alive, one index per kind of expiry: sessions_expires,
			// and sessions_idle for each value of remember. The parts are disjoint, so
			// UNION ALL lets each use its index without a sort to remove duplicates, and
			// the limit counts distinct sessions.
			n, err = tx.Exec(ctx, `DELETE FROM sessions WHERE id IN (
				SELECT id FROM sessions WHERE expires_at <= $1
				UNION ALL SELECT id FROM sessions WHERE remember = FALSE AND last_seen_at <= $2 AND expires_at > $1
				UNION ALL SELECT id FROM sessions WHERE remember = TRUE AND last_seen_at <= $3 AND expires_at > $1
				LIMIT $4)`, now, idle, rememberIdle, batch)
			if err != nil || n == 0 {
				return err
			}
			return s.audit.Record(ctx, tx, audit.SessionsExpiredDeleted(n))
		})
		if err != nil {
			return total, fmt.Errorf("sessions: delete expired: %w", err)
		}
		total += n
		if n < int64(batch) {
			return total, nil
		}
	}
}

// CleanupInterval is how often expired sessions are deleted.
const CleanupInterval = time.Hour

// cleanupBatch bounds each delete statement.
const cleanupBatch = 500

// CleanupTask deletes expired sessions every CleanupInterval.
func CleanupTask(s *Service) jobs.Task {
	return jobs.Task{Name: "sessions.cleanup", Every: CleanupInterval, Run: func(ctx context.Context) error {
		if _, err := s.DeleteExpired(ctx, cleanupBatch); err != nil {
			return fmt.Errorf("sessions: cleanup: %w", err)
		}
		return nil
	}}
}
