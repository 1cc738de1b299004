package signingkeys

import (
	"context"
	"time"

	"github.com/riverqueue/river"
)

// MaintainInterval is how often the schedule is checked. A late check costs nothing
// but time: a next key made late is still published its full lead before it signs (the
// current key signs a little longer meanwhile), and every process switches keys and
// unpublishes retired ones at their times from memory, whenever the rows change.
const MaintainInterval = 10 * time.Minute

// MaintainArgs is the job that runs Maintain.
type MaintainArgs struct{}

// Kind names the job in the queue.
func (MaintainArgs) Kind() string { return "signing_keys.maintain" }

// MaintainWorker runs MaintainArgs jobs.
type MaintainWorker struct {
	river.WorkerDefaults[MaintainArgs]
	keys *Service
}

// NewMaintainWorker returns a worker that maintains the keys of s.
func NewMaintainWorker(s *Service) *MaintainWorker { return &MaintainWorker{keys: s} }

// Work runs Maintain.
func (w *MaintainWorker) Work(ctx context.Context, _ *river.Job[MaintainArgs]) error {
	return w.keys.Maintain(ctx)
}

// MaintainJob is the periodic schedule of MaintainArgs, run once at start too, so that
// a new installation has keys as soon as a server starts.
func MaintainJob() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(MaintainInterval),
		func() (river.JobArgs, *river.InsertOpts) { return MaintainArgs{}, nil },
		&river.PeriodicJobOpts{RunOnStart: true, ID: MaintainArgs{}.Kind()})
}
