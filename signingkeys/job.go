package signingkeys

import (
	"time"

	"github.com/identityd/identityd/jobs"
)

// MaintainInterval is how often the schedule is checked. A late check costs nothing
// but time: a next key made late is still published its full lead before it signs (the
// current key signs a little longer meanwhile), and every process switches keys and
// unpublishes retired ones at their times from memory, whenever the rows change.
const MaintainInterval = 10 * time.Minute

// MaintainTask runs Maintain every MaintainInterval, and at start, so that a new
// installation has keys as soon as a server starts.
func MaintainTask(s *Service) jobs.Task {
	return jobs.Task{Name: "signing_keys.maintain", Every: MaintainInterval, Run: s.Maintain}
}
