package oauth

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/identityd/identityd/audit"
	"github.com/identityd/identityd/store"
)

// expiring are the provider's tables whose rows expire, each with the key its batches
// delete by.
var expiring = []struct{ table, key string }{
	{"oauth_requests", "kind, handle_hash"},
	{"oauth_refresh_tokens", "token_hash"},
	{"oauth_access_tokens", "token_hash"},
	{"oauth_client_assertions", "jti_hash"},
	{"oauth_session_clients", "session_id, client_id"},
}

// DeleteExpired deletes expired codes, requests, tokens, assertions, session records and
// revocations, batch rows at a time so that a backlog never holds the database for long,
// and reports how many went. Each batch records oauth.expired_deleted with its count.
func (p *Provider) DeleteExpired(ctx context.Context, batch int) (int64, error) {
	now := p.d.Now().UTC()
	var total int64
	for _, t := range expiring {
		for {
			var n int64
			err := p.d.DB.Tx(ctx, func(tx *store.Tx) error {
				var err error
				// The table and key names are constants above, never input.
				n, err = tx.Exec(ctx, `DELETE FROM `+t.table+` WHERE (`+t.key+`) IN (SELECT `+t.key+` FROM `+t.table+
					` WHERE expires_at <= $1 LIMIT $2)`, now, batch)
				if err != nil || n == 0 {
					return err
				}
				return p.d.Audit.Record(ctx, tx, audit.OAuthExpiredDeleted(n))
			})
			if err != nil {
				return total, fmt.Errorf("oauth: delete expired %s: %w", t.table, err)
			}
			total += n
			if n < int64(batch) {
				break
			}
		}
	}
	n, err := p.revocations.deleteExpired(ctx, batch)
	if err != nil {
		return total, fmt.Errorf("oauth: delete expired revocations: %w", err)
	}
	return total + n, nil
}

// CleanupInterval is how often expired rows are deleted.
const CleanupInterval = 10 * time.Minute

// cleanupBatch bounds each delete statement.
const cleanupBatch = 1000

// CleanupArgs is the job that deletes expired rows.
type CleanupArgs struct{}

// Kind names the job in the queue.
func (CleanupArgs) Kind() string { return "oauth.cleanup" }

// CleanupWorker runs CleanupArgs jobs.
type CleanupWorker struct {
	river.WorkerDefaults[CleanupArgs]
	p *Provider
}

// NewCleanupWorker returns a worker that deletes p's expired rows.
func NewCleanupWorker(p *Provider) *CleanupWorker { return &CleanupWorker{p: p} }

// Work deletes every expired row.
func (w *CleanupWorker) Work(ctx context.Context, _ *river.Job[CleanupArgs]) error {
	if _, err := w.p.DeleteExpired(ctx, cleanupBatch); err != nil {
		return fmt.Errorf("oauth: cleanup: %w", err)
	}
	return nil
}

// CleanupJob is the periodic schedule for the cleanup, run once at start too.
func CleanupJob() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(CleanupInterval),
		func() (river.JobArgs, *river.InsertOpts) { return CleanupArgs{}, nil },
		&river.PeriodicJobOpts{RunOnStart: true, ID: CleanupArgs{}.Kind()})
}
