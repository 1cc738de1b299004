-- Webhook subscriptions and their delivery log. A subscription's signing secret is kept
-- only encrypted by the keyring (additional data "webhook_secret:<id>"); event_types is
-- a JSON array of type patterns. A delivery is one sealed audit event for one
-- subscription: its payload is frozen when it is dispatched, so that every retry sends
-- the same bytes, and (subscription_id, event_id) is unique, so that an event is
-- dispatched to a subscription at most once.

-- +goose Up
CREATE TABLE webhook_subscriptions (
    id          text        PRIMARY KEY,
    url         text        NOT NULL,
    event_types text        NOT NULL,
    secret_enc  bytea       NOT NULL,
    enabled     boolean     NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX webhook_subscriptions_created ON webhook_subscriptions (created_at, id);

CREATE TABLE webhook_deliveries (
    id               text        PRIMARY KEY,
    subscription_id  text        NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
    event_id         text        NOT NULL,
    event_type       text        NOT NULL,
    payload          text        NOT NULL,
    status           text        NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts         integer     NOT NULL DEFAULT 0,
    last_status_code integer,
    last_error       text        NOT NULL DEFAULT '',
    created_at       timestamptz NOT NULL,
    last_attempt_at  timestamptz,
    delivered_at     timestamptz,
    UNIQUE (subscription_id, event_id)
);
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (subscription_id, created_at, id);

-- +goose Down
DROP TABLE webhook_deliveries;
DROP TABLE webhook_subscriptions;
