package webhooks

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/identityd/identityd/store"
)

// The states of a delivery.
const (
	StatusPending   = "pending"
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
)

// Delivery is one event's delivery to one subscription, as its log shows it.
type Delivery struct {
	// ID is also the webhook-id header of every attempt, for receivers to deduplicate on.
	ID             string `json:"id"`
	SubscriptionID string `json:"subscription_id"`
	EventID        string `json:"event_id"`
	EventType      string `json:"event_type"`
	// Status is pending (queued or being retried), succeeded or failed (attempts used up,
	// or the subscription was disabled first).
	Status   string `json:"status"`
	Attempts int    `json:"attempts"`
	// LastStatusCode is the HTTP status of the last attempt, nil when it got no answer.
	LastStatusCode *int `json:"last_status_code,omitempty"`
	// LastError says why the last attempt failed: a status, a timeout, a refused or
	// failed connection. It never holds the receiver's response body.
	LastError     string     `json:"last_error,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	LastAttemptAt *time.Time `json:"last_attempt_at,omitempty"`
	DeliveredAt   *time.Time `json:"delivered_at,omitempty"`
}

const deliveryColumns = `id, subscription_id, event_id, event_type, status, attempts, last_status_code, last_error,
	created_at, last_attempt_at, delivered_at`

func scanDelivery(r interface{ Scan(...any) error }) (Delivery, error) {
	var d Delivery
	err := r.Scan(&d.ID, &d.SubscriptionID, &d.EventID, &d.EventType, &d.Status, &d.Attempts, &d.LastStatusCode,
		&d.LastError, &d.CreatedAt, &d.LastAttemptAt, &d.DeliveredAt)
	return d, err
}

// DeliveryPage is one page of a delivery log, newest first, and the cursor of the next
// page ("" when this is the last).
type DeliveryPage struct {
	Deliveries []Delivery
	Next       string
}

// Deliveries returns up to limit deliveries of the subscription with id, newest first,
// starting after cursor ("" for the first page); ErrNotFound when there is no such
// subscription.
func (s *Service) Deliveries(ctx context.Context, subscriptionID string, limit int, cursor string) (DeliveryPage, error) {
	if err := checkLimit(limit); err != nil {
		return DeliveryPage{}, err
	}
	q, args, err := store.PageNewestFirst(`SELECT `+deliveryColumns+` FROM webhook_deliveries WHERE subscription_id = $1`,
		[]any{subscriptionID}, true, limit, cursor)
	if err != nil {
		return DeliveryPage{}, err
	}
	var exists int
	err = s.db.QueryRow(ctx, `SELECT 1 FROM webhook_subscriptions WHERE id = $1`, subscriptionID).Scan(&exists)
	if errors.Is(err, store.ErrNotFound) {
		return DeliveryPage{}, ErrNotFound
	}
	if err != nil {
		return DeliveryPage{}, fmt.Errorf("webhooks: deliveries: %w", err)
	}
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return DeliveryPage{}, fmt.Errorf("webhooks: deliveries: %w", err)
	}
	ds, err := store.CollectRows(rows, func(r *store.Rows) (Delivery, error) { return scanDelivery(r) })
	if err != nil {
		return DeliveryPage{}, fmt.Errorf("webhooks: deliveries: %w", err)
	}
	page := DeliveryPage{Deliveries: ds}
	if len(ds) > limit {
		page.Deliveries = ds[:limit]
		last := page.Deliveries[limit-1]
		page.Next = store.NextCursor(limit+1, limit, last.CreatedAt, last.ID)
	}
	return page, nil
}
