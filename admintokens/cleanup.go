package admintokens

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"
)

// CleanupInterval is how often expired tokens are deleted.
const CleanupInterval = time.Hour

// cleanupBatch bounds each delete statement.
const cleanupBatch = 500

// CleanupArgs is the job that deletes expired admin tokens.
type CleanupArgs struct{}

// Kind names the job in the queue.
func (CleanupArgs) Kind() string { return "admin_tokens.cleanup" }

// CleanupWorker runs CleanupArgs jobs.
type CleanupWorker struct {
	river.WorkerDefaults[CleanupArgs]
	tokens *Service
}

// NewCleanupWorker returns a worker that deletes tokens through s.
func NewCleanupWorker(s *Service) *CleanupWorker { return &CleanupWorker{tokens: s} }

// Work deletes every expired token.
func (w *CleanupWorker) Work(ctx context.Context, _ *river.Job[CleanupArgs]) error {
	if _, err := w.tokens.DeleteExpired(ctx, cleanupBatch); err != nil {
		return fmt.Errorf("admintokens: cleanup: %w", err)
	}
	return nil
}

// CleanupJob is the periodic schedule for the cleanup, run once at start too so that a
// server that restarts often still cleans up.
func CleanupJob() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(CleanupInterval),
		func() (river.JobArgs, *river.InsertOpts) { return CleanupArgs{}, nil },
		&river.PeriodicJobOpts{RunOnStart: true, ID: CleanupArgs{}.Kind()})
}
