-- The tamper-evident audit log. Recording inserts an event, with a MAC over its content,
-- into audit_pending in the transaction of the change it describes; nothing else, so that
-- recording costs the request as little as it can. The sealer then moves pending events
-- into audit_events, where each gets a dense sequence number and an HMAC chain link, and
-- writes signed checkpoints of the chain. details is text, not jsonb, so that its bytes
-- stay exactly as they were MAC'd.

-- +goose Up
CREATE TABLE audit_pending (
    id           text        PRIMARY KEY,
    recorded_at  timestamptz NOT NULL,
    type         text        NOT NULL,
    actor_kind   text        NOT NULL,
    actor_id     text        NOT NULL,
    target_kind  text        NOT NULL,
    target_id    text        NOT NULL,
    outcome      text        NOT NULL,
    client_ip    text        NOT NULL,
    user_agent   text        NOT NULL,
    request_id   text        NOT NULL,
    details      text        NOT NULL,
    key_id       text        NOT NULL,
    mac          bytea       NOT NULL,
    -- Set when the sealer refused the event as forged; it stays here as evidence.
    rejected_at  timestamptz
);

CREATE TABLE audit_events (
    seq          bigint      PRIMARY KEY,
    id           text        NOT NULL UNIQUE,
    recorded_at  timestamptz NOT NULL,
    type         text        NOT NULL,
    actor_kind   text        NOT NULL,
    actor_id     text        NOT NULL,
    target_kind  text        NOT NULL,
    target_id    text        NOT NULL,
    outcome      text        NOT NULL,
    client_ip    text        NOT NULL,
    user_agent   text        NOT NULL,
    request_id   text        NOT NULL,
    details      text        NOT NULL,
    key_id       text        NOT NULL,
    mac          bytea       NOT NULL,
    seal_key_id  text        NOT NULL,
    chain_hash   bytea       NOT NULL
);
CREATE INDEX audit_events_actor ON audit_events (actor_kind, actor_id, id);
CREATE INDEX audit_events_target ON audit_events (target_kind, target_id, id);

CREATE TABLE audit_checkpoints (
    seq         bigint      PRIMARY KEY,
    chain_hash  bytea       NOT NULL,
    created_at  timestamptz NOT NULL,
    key_id      text        NOT NULL,
    prev        bytea       NOT NULL,
    signature   bytea       NOT NULL
);

-- One row each: the newest sealed link, and how far retention has pruned. Both carry a
-- MAC, so that truncating the chain at either end shows.
CREATE TABLE audit_marks (
    name        text   PRIMARY KEY CHECK (name IN ('head', 'pruned')),
    seq         bigint NOT NULL,
    chain_hash  bytea  NOT NULL,
    key_id      text   NOT NULL,
    mac         bytea  NOT NULL
);

-- +goose Down
DROP TABLE audit_marks;
DROP TABLE audit_checkpoints;
DROP TABLE audit_events;
DROP TABLE audit_pending;
