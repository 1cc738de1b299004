package users

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"
)

// CleanupInterval is how often expired links and ended failure windows are deleted.
const CleanupInterval = time.Hour

// cleanupBatch bounds each delete statement.
const cleanupBatch = 500

// CleanupArgs is the job that deletes expired link tokens and ended failure windows.
type CleanupArgs struct{}

// Kind names the job in the queue.
func (CleanupArgs) Kind() string { return "users.cleanup" }

// CleanupWorker runs CleanupArgs jobs.
type CleanupWorker struct {
	river.WorkerDefaults[CleanupArgs]
	users *Service
}

// NewCleanupWorker returns a worker that cleans up through s.
func NewCleanupWorker(s *Service) *CleanupWorker { return &CleanupWorker{users: s} }

// Work deletes every expired link and ended failure window.
func (w *CleanupWorker) Work(ctx context.Context, _ *river.Job[CleanupArgs]) error {
	if _, err := w.users.DeleteExpiredLinks(ctx, cleanupBatch); err != nil {
		return fmt.Errorf("users: cleanup links: %w", err)
	}
	if _, err := w.users.DeleteStaleNetworkFailures(ctx, cleanupBatch); err != nil {
		return fmt.Errorf("users: cleanup failure windows: %w", err)
	}
	return nil
}

// CleanupJob is the periodic schedule for the cleanup, run once at start too.
func CleanupJob() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(CleanupInterval),
		func() (river.JobArgs, *river.InsertOpts) { return CleanupArgs{}, nil },
		&river.PeriodicJobOpts{RunOnStart: true, ID: CleanupArgs{}.Kind()})
}
