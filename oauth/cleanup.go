package oauth

import (
	"context"
	"fmt"
	"time"

	"github.com/identityd/identityd/audit"
	"github.com/identityd/identityd/jobs"
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

// CleanupTask deletes p's expired rows every CleanupInterval.
func CleanupTask(p *Provider) jobs.Task {
	return jobs.Task{Name: "oauth.cleanup", Every: CleanupInterval, Run: func(ctx context.Context) error {
		if _, err := p.DeleteExpired(ctx, cleanupBatch); err != nil {
			return fmt.Errorf("oauth: cleanup: %w", err)
		}
		return nil
	}}
}
