package webhooks

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"
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

// CleanupArgs is the job that trims the delivery log.
type CleanupArgs struct{}

// Kind names the job in the queue.
func (CleanupArgs) Kind() string { return "webhooks.cleanup" }

// CleanupWorker runs CleanupArgs jobs.
type CleanupWorker struct {
	river.WorkerDefaults[CleanupArgs]
	s *Service
}

// NewCleanupWorker returns a worker that trims s's delivery log.
func NewCleanupWorker(s *Service) *CleanupWorker { return &CleanupWorker{s: s} }

// Work deletes the deliveries older than DeliveryRetention.
func (w *CleanupWorker) Work(ctx context.Context, _ *river.Job[CleanupArgs]) error {
	_, err := w.s.DeleteFinishedBefore(ctx, w.s.now().Add(-DeliveryRetention))
	return err
}

// CleanupJob is the daily schedule of the cleanup, run at start too.
func CleanupJob() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(24*time.Hour),
		func() (river.JobArgs, *river.InsertOpts) { return CleanupArgs{}, nil },
		&river.PeriodicJobOpts{RunOnStart: true, ID: CleanupArgs{}.Kind()})
}
