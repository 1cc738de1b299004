package audit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/identityd/identityd/jobs"
	"github.com/identityd/identityd/store"
)

// pruneBatch bounds each pruning transaction.
const pruneBatch = 1000

// Prune deletes the sealed events up to the newest checkpoint made before cutoff, a
// bounded batch per transaction, and reports how far it pruned (0 when it pruned
// nothing). Each batch moves the authenticated pruning mark with it, so the remaining
// chain verifies from the mark at every moment, and the first batch records an
// audit.pruned event: deleting part of the audit log is itself audited.
func (l *Log) Prune(ctx context.Context, cutoff time.Time) (int64, error) {
	var through int64
	err := l.db.QueryRow(ctx, `SELECT seq FROM audit_checkpoints WHERE created_at < $1 ORDER BY seq DESC LIMIT 1`, cutoff).
		Scan(&through)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("audit: prune: %w", err)
	}
	from := int64(0)
	if m, err := readMark(ctx, l.db, "pruned"); err != nil {
		return 0, err
	} else if m != nil {
		from = m.seq
	}
	if through <= from {
		return 0, nil
	}
	first := true
	for from < through {
		upTo := min(from+pruneBatch, through)
		err := l.db.Tx(ctx, func(tx *store.Tx) error {
			var link []byte
			if err := tx.QueryRow(ctx, `SELECT chain_hash FROM audit_events WHERE seq = $1`, upTo).Scan(&link); err != nil {
				return fmt.Errorf("audit: prune: event #%d: %w", upTo, err)
			}
			if _, err := tx.Exec(ctx, `DELETE FROM audit_events WHERE seq > $1 AND seq <= $2`, from, upTo); err != nil {
				return fmt.Errorf("audit: prune: %w", err)
			}
			if err := writeMark(ctx, tx, l.keys.current, "pruned", upTo, link); err != nil {
				return err
			}
			if first {
				return l.Record(ctx, tx, AuditPruned(through))
			}
			return nil
		})
		if err != nil {
			return from, err
		}
		first, from = false, upTo
	}
	return through, nil
}

// PruneTask prunes l daily to the events of the last retention, by l's clock.
func PruneTask(l *Log, retention time.Duration) jobs.Task {
	return jobs.Task{Name: "audit.prune", Every: 24 * time.Hour, Run: func(ctx context.Context) error {
		_, err := l.Prune(ctx, l.now().Add(-retention))
		return err
	}}
}
