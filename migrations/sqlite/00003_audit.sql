-- The tamper-evident audit log. Recording inserts an event, with a MAC over its content,
-- into audit_pending in the transaction of the change it describes; nothing else, so that
-- recording costs the request as little as it can. The sealer then moves pending events
-- into audit_events, where each gets a dense sequence number and an HMAC chain link, and
-- writes signed checkpoints of the chain. WITHOUT ROWID makes audit_pending's
-- time-ordered id the table's own key: one b-tree written per event.

-- +goose Up
CREATE TABLE audit_pending (
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
    -- Set when the sealer refused the event as forged; it stays here as evidence.
    rejected_at  TEXT
) STRICT, WITHOUT ROWID;

CREATE TABLE audit_events (
    seq          INTEGER PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE,
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
    seal_key_id  TEXT NOT NULL,
    chain_hash   BLOB NOT NULL
) STRICT;
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
DROP TABLE audit_pending;
