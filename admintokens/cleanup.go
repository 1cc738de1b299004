package admintokens

import (
	"context"
	"fmt"
	"time"

	"github.com/identityd/identityd/jobs"
)

// CleanupInterval is how often expired tokens are deleted.
const CleanupInterval = time.Hour

// cleanupBatch bounds each delete statement.
const cleanupBatch = 500

// CleanupTask deletes expired tokens every CleanupInterval.
func CleanupTask(s *Service) jobs.Task {
	return jobs.Task{Name: "admin_tokens.cleanup", Every: CleanupInterval, Run: func(ctx context.Context) error {
		if _, err := s.DeleteExpired(ctx, cleanupBatch); err != nil {
			return fmt.Errorf("admintokens: cleanup: %w", err)
		}
		return nil
	}}
}
