package webhooks

import (
	"context"
	"fmt"
	"time"

	"github.com/identityd/identityd/jobs"
)

// DeliveryRetention is how long the delivery log keeps finished deliveries. Pending ones
// stay until they finish, however old.
const DeliveryRetention = 30 * 24 * time.Hour

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

// CleanupTask trims the delivery log to DeliveryRetention, daily.
func CleanupTask(s *Service) jobs.Task {
	return jobs.Task{Name: "webhooks.cleanup", Every: 24 * time.Hour, Run: func(ctx context.Context) error {
		_, err := s.DeleteFinishedBefore(ctx, s.now().Add(-DeliveryRetention))
		return err
	}}
}
