package webhooks

import (
	"context"
	"fmt"
	"time"

	"github.com/identityd/identityd/jobs"
)

// DeliveryRetention is how long the delivery log keeps finished deliveries. Pending ones
// stay until they finish or are abandoned (FailAbandoned).
const DeliveryRetention = 30 * 24 * time.Hour

// riverRescueAfter is how long River leaves a job whose worker vanished (a crash during
// the attempt) before it rescues it: River's default, which jobs does not change.
const riverRescueAfter = time.Hour

// abandonAfter is how long after its creation a delivery can still be pending for a good
// reason: every attempt's time and the longest retry schedule, River's wait before it
// rescues an attempt cut short by a crash, and a day for a backlog or a server that was
// down a while.
func (s *Service) abandonAfter() time.Duration {
	d := riverRescueAfter + 24*time.Hour
	for attempt := 1; attempt <= s.cfg.MaxAttempts; attempt++ {
		d += s.attemptTimeout()
		if attempt < s.cfg.MaxAttempts {
			d += backoff(s.cfg.RetryBase, attempt) * 11 / 10 // jitter is at most 10%
		}
	}
	return d
}

// abandonedReason is what the delivery log says of a delivery FailAbandoned ended.
const abandonedReason = "abandoned: its last attempt never finished (identityd stopped during it)"

// FailAbandoned marks failed the deliveries created before cutoff that are still
// pending, a bounded batch per statement, and reports how many. A delivery stays pending
// for good only when identityd stopped during its last attempt: River then gives the job
// up without running it again, and nothing else would ever end it. Should its job run
// after all, it finds the delivery finished and sends nothing.
func (s *Service) FailAbandoned(ctx context.Context, cutoff time.Time) (int64, error) {
	var total int64
	for {
		// The status is checked again outside the subquery: on PostgreSQL a worker's
		// result may commit between the subquery's snapshot and the row lock.
		n, err := s.db.Exec(ctx, `UPDATE webhook_deliveries SET status = $1, last_error = $2 WHERE status = $3 AND id IN
			(SELECT id FROM webhook_deliveries WHERE status = $3 AND created_at < $4 LIMIT $5)`,
			StatusFailed, abandonedReason, StatusPending, cutoff, cleanupBatch)
		if err != nil {
			return total, fmt.Errorf("webhooks: fail abandoned deliveries: %w", err)
		}
		total += n
		if n < cleanupBatch {
			return total, nil
		}
	}
}

// cleanupBatch bounds each delete statement.
const cleanupBatch = 1000

// DeleteFinishedBefore deletes succeeded and failed deliveries created before cutoff, a
// bounded batch per statement, and reports how many went.
func (s *Service) DeleteFinishedBefore(ctx context.Context, cutoff time.Time) (int64, error) {
	var total int64
	for {
		n, err := s.db.Exec(ctx, `DELETE FROM webhook_deliveries WHERE id IN (SELECT id FROM webhook_deliveries
			WHERE status IN ('succeeded', 'failed') AND created_at < $1 LIMIT $2)`, cutoff, cleanupBatch)
		if err != nil {
			return total, fmt.Errorf("webhooks: delete old deliveries: %w", err)
		}
		total += n
		if n < cleanupBatch {
			return total, nil
		}
	}
}

// CleanupTask ends abandoned deliveries and trims the delivery log to
// DeliveryRetention, hourly.
func CleanupTask(s *Service) jobs.Task {
	return jobs.Task{Name: "webhooks.cleanup", Every: time.Hour, Run: func(ctx context.Context) error {
		now := s.now()
		if _, err := s.FailAbandoned(ctx, now.Add(-s.abandonAfter())); err != nil {
			return err
		}
		_, err := s.DeleteFinishedBefore(ctx, now.Add(-DeliveryRetention))
		return err
	}}
}
