package users

import (
	"context"
	"fmt"
	"time"

	"github.com/identityd/identityd/jobs"
)

// CleanupInterval is how often expired links and ended failure windows are deleted.
const CleanupInterval = time.Hour

// cleanupBatch bounds each delete statement.
const cleanupBatch = 500

// CleanupTask deletes expired link tokens and ended failure windows every
// CleanupInterval.
func CleanupTask(s *Service) jobs.Task {
	return jobs.Task{Name: "users.cleanup", Every: CleanupInterval, Run: func(ctx context.Context) error {
		if _, err := s.DeleteExpiredLinks(ctx, cleanupBatch); err != nil {
			return fmt.Errorf("users: cleanup links: %w", err)
		}
		if _, err := s.DeleteStaleNetworkFailures(ctx, cleanupBatch); err != nil {
			return fmt.Errorf("users: cleanup failure windows: %w", err)
		}
		return nil
	}}
}
