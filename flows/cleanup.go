package flows

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"
)

// CleanupInterval is how often expired flows are deleted.
const CleanupInterval = time.Hour

// CleanupArgs is the job that deletes expired flows.
type CleanupArgs struct{}

// Kind names the job in the queue.
func (CleanupArgs) Kind() string { return "flows.cleanup" }

// CleanupWorker runs CleanupArgs jobs.
type CleanupWorker struct {
	river.WorkerDefaults[CleanupArgs]
	flows *Service
}

// NewCleanupWorker returns a worker that deletes expired flows through s.
func NewCleanupWorker(s *Service) *CleanupWorker { return &CleanupWorker{flows: s} }

// Work deletes every expired flow.
func (w *CleanupWorker) Work(ctx context.Context, _ *river.Job[CleanupArgs]) error {
	if _, err := w.flows.DeleteExpired(ctx, 500); err != nil {
		return fmt.Errorf("flows: cleanup: %w", err)
	}
	return nil
}

// CleanupJob is the periodic schedule for the cleanup, run once at start too.
func CleanupJob() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(CleanupInterval),
		func() (river.JobArgs, *river.InsertOpts) { return CleanupArgs{}, nil },
		&river.PeriodicJobOpts{RunOnStart: true, ID: CleanupArgs{}.Kind()})
}
