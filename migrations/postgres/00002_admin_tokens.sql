-- Admin API tokens. Only the SHA-256 of a token is kept; the token itself is shown once.

-- +goose Up
CREATE TABLE admin_tokens (
    id           text        PRIMARY KEY,
    name         text        NOT NULL,
    token_hash   bytea       NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz,
    last_used_at timestamptz
);
CREATE INDEX admin_tokens_expires_at ON admin_tokens (expires_at);

-- +goose Down
DROP TABLE admin_tokens;
