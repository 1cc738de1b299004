-- Admin API tokens. Only the SHA-256 of a token is kept; the token itself is shown once.
-- Times are UTC text in a fixed layout (see store), so text order is time order.

-- +goose Up
CREATE TABLE admin_tokens (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    token_hash   BLOB NOT NULL UNIQUE,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    revoked_at   TEXT,
    last_used_at TEXT
) STRICT;
CREATE INDEX admin_tokens_expires_at ON admin_tokens (expires_at);

-- +goose Down
DROP TABLE admin_tokens;
