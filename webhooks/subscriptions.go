package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/identityd/identityd/audit"
	"github.com/identityd/identityd/store"
)

// Subscription is a URL subscribed to event types. It never holds the secret.
type Subscription struct {
	ID  string `json:"id"`
	URL string `json:"url"`
	// EventTypes are the patterns an event's type must match one of: "*", a prefix like
	// "admin.token.*", or an exact type from the audit catalogue.
	EventTypes []string  `json:"event_types"`
	Enabled    bool      `json:"enabled"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// subscriptionColumns are the columns scanSubscription reads.
const subscriptionColumns = `id, url, event_types, enabled, created_at, updated_at`

func scanSubscription(r interface{ Scan(...any) error }) (Subscription, error) {
	var (
		sub   Subscription
		types string
	)
	if err := r.Scan(&sub.ID, &sub.URL, &types, &sub.Enabled, &sub.CreatedAt, &sub.UpdatedAt); err != nil {
		return Subscription{}, err
	}
	if err := json.Unmarshal([]byte(types), &sub.EventTypes); err != nil {
		return Subscription{}, fmt.Errorf("webhooks: subscription %s: stored event types: %w", sub.ID, err)
	}
	return sub, nil
}

// Create subscribes url to the event types and returns the subscription with its signing
// secret, which is stored only encrypted and shown this once (RotateSecret makes a new
// one). The subscription starts enabled.
func (s *Service) Create(ctx context.Context, url string, eventTypes []string) (Subscription, string, error) {
	if err := validateURL(url, s.cfg.AllowPrivateNetworks); err != nil {
		return Subscription{}, "", err
	}
	if err := validateEventTypes(eventTypes); err != nil {
		return Subscription{}, "", err
	}
	now := s.stamp()
	sub := Subscription{ID: store.NewID(), URL: url, EventTypes: slices.Clone(eventTypes), Enabled: true, CreatedAt: now, UpdatedAt: now}
	secret := newSecret()
	enc, err := s.kr.Encrypt([]byte(secret), secretAAD(sub.ID))
	if err != nil {
		return Subscription{}, "", fmt.Errorf("webhooks: create: %w", err)
	}
	types, _ := json.Marshal(sub.EventTypes) // a []string always marshals
	err = s.db.Tx(ctx, func(tx *store.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO webhook_subscriptions
			(id, url, event_types, secret_enc, enabled, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			sub.ID, sub.URL, string(types), enc, true, sub.CreatedAt, sub.UpdatedAt); err != nil {
			return err
		}
		return s.log.Record(ctx, tx, audit.WebhookCreated(sub.ID, sub.URL, sub.EventTypes))
	})
	if err != nil {
		return Subscription{}, "", fmt.Errorf("webhooks: create: %w", err)
	}
	return sub, secret, nil
}

// Get returns the subscription with id, or ErrNotFound.
func (s *Service) Get(ctx context.Context, id string) (Subscription, error) {
	sub, err := scanSubscription(s.db.QueryRow(ctx,
		`SELECT `+subscriptionColumns+` FROM webhook_subscriptions WHERE id = $1`, id))
	if errors.Is(err, store.ErrNotFound) {
		return Subscription{}, ErrNotFound
	}
	if err != nil {
		return Subscription{}, fmt.Errorf("webhooks: get: %w", err)
	}
	return sub, nil
}

// Page is one page of subscriptions, newest first, and the cursor of the next page (""
// when this is the last).
type Page struct {
	Subscriptions []Subscription
	Next          string
}

// List returns up to limit subscriptions, newest first, starting after cursor ("" for
// the first page).
func (s *Service) List(ctx context.Context, limit int, cursor string) (Page, error) {
	if err := checkLimit(limit); err != nil {
		return Page{}, err
	}
	q, args, err := store.PageNewestFirst(`SELECT `+subscriptionColumns+` FROM webhook_subscriptions`, nil, false, limit, cursor)
	if err != nil {
		return Page{}, err
	}
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return Page{}, fmt.Errorf("webhooks: list: %w", err)
	}
	subs, err := store.CollectRows(rows, func(r *store.Rows) (Subscription, error) { return scanSubscription(r) })
	if err != nil {
		return Page{}, fmt.Errorf("webhooks: list: %w", err)
	}
	page := Page{Subscriptions: subs}
	if len(subs) > limit {
		page.Subscriptions = subs[:limit]
		last := page.Subscriptions[limit-1]
		page.Next = store.NextCursor(limit+1, limit, last.CreatedAt, last.ID)
	}
	return page, nil
}

// Update says what to change in a subscription: each field that is set (non-nil). A
// field set to what it already holds is no change, and an update that changes nothing
// writes nothing and records no event. Disabling a subscription makes its pending
// deliveries fail instead of being sent.
type Update struct {
	URL        *string
	EventTypes *[]string
	Enabled    *bool
}

// Update applies u to the subscription with id and returns the result, or ErrNotFound.
// The audit event names the changed fields with their new values.
func (s *Service) Update(ctx context.Context, id string, u Update) (Subscription, error) {
	if u.URL != nil {
		if err := validateURL(*u.URL, s.cfg.AllowPrivateNetworks); err != nil {
			return Subscription{}, err
		}
	}
	if u.EventTypes != nil {
		if err := validateEventTypes(*u.EventTypes); err != nil {
			return Subscription{}, err
		}
	}
	var sub Subscription
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		q := `SELECT ` + subscriptionColumns + ` FROM webhook_subscriptions WHERE id = $1`
		if tx.Dialect() == store.Postgres {
			q += ` FOR UPDATE` // SQLite's writer transaction excludes other writers already
		}
		var err error
		if sub, err = scanSubscription(tx.QueryRow(ctx, q, id)); err != nil {
			return err
		}
		changed := map[string]any{}
		if u.URL != nil && *u.URL != sub.URL {
			sub.URL = *u.URL
			changed["url"] = sub.URL
		}
		if u.EventTypes != nil && !slices.Equal(*u.EventTypes, sub.EventTypes) {
			sub.EventTypes = slices.Clone(*u.EventTypes)
			changed["event_types"] = sub.EventTypes
		}
		if u.Enabled != nil && *u.Enabled != sub.Enabled {
			sub.Enabled = *u.Enabled
			changed["enabled"] = sub.Enabled
		}
		if len(changed) == 0 {
			return nil
		}
		sub.UpdatedAt = s.stamp()
		types, _ := json.Marshal(sub.EventTypes) // a []string always marshals
		if _, err := tx.Exec(ctx, `UPDATE webhook_subscriptions SET url = $1, event_types = $2, enabled = $3, updated_at = $4
			WHERE id = $5`, sub.URL, string(types), sub.Enabled, sub.UpdatedAt, sub.ID); err != nil {
			return err
		}
		return s.log.Record(ctx, tx, audit.WebhookUpdated(sub.ID, changed))
	})
	if errors.Is(err, store.ErrNotFound) {
		return Subscription{}, ErrNotFound
	}
	if err != nil {
		return Subscription{}, fmt.Errorf("webhooks: update: %w", err)
	}
	return sub, nil
}

// RotateSecret gives the subscription with id a new signing secret and returns it; it is
// shown this once. Attempts from now on, retries of earlier deliveries included, are
// signed with the new secret only.
func (s *Service) RotateSecret(ctx context.Context, id string) (string, error) {
	secret := newSecret()
	enc, err := s.kr.Encrypt([]byte(secret), secretAAD(id))
	if err != nil {
		return "", fmt.Errorf("webhooks: rotate secret: %w", err)
	}
	err = s.db.Tx(ctx, func(tx *store.Tx) error {
		n, err := tx.Exec(ctx, `UPDATE webhook_subscriptions SET secret_enc = $1, updated_at = $2 WHERE id = $3`,
			enc, s.stamp(), id)
		if err != nil {
			return err
		}
		if n == 0 {
			return store.ErrNotFound
		}
		// The value is a marker, never the secret (and the audit log redacts anything
		// under a "secret" key regardless).
		return s.log.Record(ctx, tx, audit.WebhookUpdated(id, map[string]any{"secret": "rotated"}))
	})
	if errors.Is(err, store.ErrNotFound) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("webhooks: rotate secret: %w", err)
	}
	return secret, nil
}

// Delete removes the subscription with id and its delivery log, or returns ErrNotFound.
// Deliveries still queued for it are dropped without being sent.
func (s *Service) Delete(ctx context.Context, id string) error {
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		var url string
		if err := tx.QueryRow(ctx, `SELECT url FROM webhook_subscriptions WHERE id = $1`, id).Scan(&url); err != nil {
			return err
		}
		n, err := tx.Exec(ctx, `DELETE FROM webhook_subscriptions WHERE id = $1`, id)
		if err != nil {
			return err
		}
		if n == 0 { // deleted meanwhile, by another replica
			return store.ErrNotFound
		}
		return s.log.Record(ctx, tx, audit.WebhookDeleted(id, url))
	})
	if errors.Is(err, store.ErrNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("webhooks: delete: %w", err)
	}
	return nil
}
