-- The tamper-evident audit log. Events are recorded in the transaction of the change they
-- describe, each with a MAC over its content; the sealer later gives them a dense sequence
-- number and an HMAC chain link, and signs checkpoints of the chain.

-- +goose Up
CREATE TABLE audit_events (
    id           TEXT PRIMARY KEY,
    recorded_at  TEXT NOT NULL,
    type         TEXT NOT NULL,
    actor_kind   TEXT NOT NULL,
    actor_id     TEXT NOT NULL,
    target_kind  TEXT NOT NULL,
    target_id    TEXT NOT NULL,
    outcome      TEXT NOT NULL,
    client_ip    TEXT NOT NULL,
    user_agent   TEXT NOT NULL,
    request_id   TEXT NOT NULL,
    details      TEXT NOT NULL,
    key_id       TEXT NOT NULL,
    mac          BLOB NOT NULL,
    seq          INTEGER,
    seal_key_id  TEXT,
    chain_hash   BLOB,
    rejected_at  TEXT
) STRICT;
CREATE UNIQUE INDEX audit_events_seq ON audit_events (seq) WHERE seq IS NOT NULL;
CREATE INDEX audit_events_pending ON audit_events (id) WHERE seq IS NULL AND rejected_at IS NULL;
CREATE INDEX audit_events_actor ON audit_events (actor_kind, actor_id, id);
CREATE INDEX audit_events_target ON audit_events (target_kind, target_id, id);

CREATE TABLE audit_checkpoints (
    seq         INTEGER PRIMARY KEY,
    chain_hash  BLOB NOT NULL,
    created_at  TEXT NOT NULL,
    key_id      TEXT NOT NULL,
    prev        BLOB NOT NULL,
    signature   BLOB NOT NULL
) STRICT;

-- One row each: the newest sealed link, and how far retention has pruned. Both carry a
-- MAC, so that truncating the chain at either end shows.
CREATE TABLE audit_marks (
    name        TEXT PRIMARY KEY CHECK (name IN ('head', 'pruned')),
    seq         INTEGER NOT NULL,
    chain_hash  BLOB NOT NULL,
    key_id      TEXT NOT NULL,
    mac         BLOB NOT NULL
) STRICT;

-- +goose Down
DROP TABLE audit_marks;
DROP TABLE audit_checkpoints;
DROP TABLE audit_events;
