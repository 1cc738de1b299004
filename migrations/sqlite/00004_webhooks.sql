-- Webhook subscriptions and their delivery log. A subscription's signing secret is kept
-- only encrypted by the keyring (additional data "webhook_secret:<id>"); event_types is
-- a JSON array of type patterns. A delivery is one sealed audit event for one
-- subscription: its payload is frozen when it is dispatched, so that every retry sends
-- the same bytes, and (subscription_id, event_id) is unique, so that an event is
-- dispatched to a subscription at most once. The store turns foreign keys on, which
-- the cascade from subscriptions to deliveries needs.

-- +goose Up
CREATE TABLE webhook_subscriptions (
    id          TEXT PRIMARY KEY,
    url         TEXT NOT NULL,
    event_types TEXT NOT NULL,
    secret_enc  BLOB NOT NULL,
    enabled     INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
) STRICT;
CREATE INDEX webhook_subscriptions_created ON webhook_subscriptions (created_at, id);

CREATE TABLE webhook_deliveries (
    id               TEXT PRIMARY KEY,
    subscription_id  TEXT NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
    event_id         TEXT NOT NULL,
    event_type       TEXT NOT NULL,
    payload          TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    last_status_code INTEGER,
    last_error       TEXT NOT NULL DEFAULT '',
    created_at       TEXT NOT NULL,
    last_attempt_at  TEXT,
    delivered_at     TEXT,
    UNIQUE (subscription_id, event_id)
) STRICT;
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (subscription_id, created_at, id);

-- +goose Down
DROP TABLE webhook_deliveries;
DROP TABLE webhook_subscriptions;
