package flows

import (
	"context"
	"fmt"
	"time"

	"github.com/identityd/identityd/jobs"
)

// CleanupInterval is how often expired flows are deleted.
const CleanupInterval = time.Hour

// CleanupTask deletes expired flows every CleanupInterval.
func CleanupTask(s *Service) jobs.Task {
	return jobs.Task{Name: "flows.cleanup", Every: CleanupInterval, Run: func(ctx context.Context) error {
		if _, err := s.DeleteExpired(ctx, 500); err != nil {
			return fmt.Errorf("flows: cleanup: %w", err)
		}
		return nil
	}}
}
