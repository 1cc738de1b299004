package webhooks

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/riverqueue/river"

	"github.com/identityd/identityd/audit"
	"github.com/identityd/identityd/jobs"
	"github.com/identityd/identityd/store"
)

// payload is the body of a delivery, in the Standard Webhooks layout.
type payload struct {
	Type string `json:"type"`
	// Timestamp is when the event was recorded (not when it is sent), RFC 3339.
	Timestamp string      `json:"timestamp"`
	Data      audit.Event `json:"data"`
}

// Dispatch gives every enabled subscription whose patterns match one of events a
// delivery: a row in its delivery log with the payload, and a job on q to send it, both
// in tx. It is the audit sealer's OnSealed hook, so deliveries commit with the sealing
// of their events, and it is idempotent: an event already dispatched to a subscription
// is skipped, so running it twice over the same events sends nothing twice.
//
// Dispatch only writes rows; no receiver is called in tx.
func (s *Service) Dispatch(ctx context.Context, tx *store.Tx, q *jobs.Queue, events []audit.Event) error {
	if len(events) == 0 {
		return nil
	}
	targets, err := s.enabledSubscriptions(ctx, tx)
	if err != nil || len(targets) == 0 {
		return err
	}
	now := s.stamp()
	opts := &river.InsertOpts{Queue: QueueName, MaxAttempts: s.cfg.MaxAttempts}
	for _, ev := range events {
		var body []byte
		for _, t := range targets {
			if !slices.ContainsFunc(t.patterns, func(p string) bool { return audit.TypePatternMatches(p, ev.Type) }) {
				continue
			}
			if body == nil {
				if body, err = json.Marshal(payload{Type: ev.Type, Timestamp: ev.Time.UTC().Format(time.RFC3339Nano), Data: ev}); err != nil {
					// Events come from the log, whose details are valid JSON objects; an
					// event that cannot be sent must not stop the sealer, so it is
					// skipped and said so.
					s.cfg.Logger.ErrorContext(ctx, "webhooks: event cannot be encoded; not delivered",
						slog.String("event_id", ev.ID), slog.String("error", err.Error()))
					break
				}
			}
			id := store.NewID()
			n, err := tx.Exec(ctx, `INSERT INTO webhook_deliveries
				(id, subscription_id, event_id, event_type, payload, status, attempts, last_error, created_at)
				VALUES ($1, $2, $3, $4, $5, 'pending', 0, '', $6)
				ON CONFLICT (subscription_id, event_id) DO NOTHING`,
				id, t.id, ev.ID, ev.Type, string(body), now)
			if err != nil {
				return fmt.Errorf("webhooks: dispatch: %w", err)
			}
			if n == 0 {
				continue // dispatched before
			}
			if _, err := q.Enqueue(ctx, tx, DeliverArgs{DeliveryID: id}, opts); err != nil {
				return fmt.Errorf("webhooks: dispatch: %w", err)
			}
		}
	}
	return nil
}

// target is an enabled subscription as Dispatch needs it.
type target struct {
	id       string
	patterns []string
}

func (s *Service) enabledSubscriptions(ctx context.Context, tx *store.Tx) ([]target, error) {
	rows, err := tx.Query(ctx, `SELECT id, event_types FROM webhook_subscriptions WHERE enabled = $1 ORDER BY id`, true)
	if err != nil {
		return nil, fmt.Errorf("webhooks: dispatch: read subscriptions: %w", err)
	}
	all, err := store.CollectRows(rows, func(r *store.Rows) (target, error) {
		var (
			t     target
			types string
		)
		if err := r.Scan(&t.id, &types); err != nil {
			return t, err
		}
		if err := json.Unmarshal([]byte(types), &t.patterns); err != nil {
			// Only a hand-edited row gets here. Skipping it keeps the sealer going.
			s.cfg.Logger.ErrorContext(ctx, "webhooks: subscription has unreadable event types; skipped",
				slog.String("subscription_id", t.id))
			t.patterns = nil
		}
		return t, nil
	})
	if err != nil {
		return nil, fmt.Errorf("webhooks: dispatch: read subscriptions: %w", err)
	}
	return all, nil
}
