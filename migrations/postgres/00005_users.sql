-- User accounts, their single-use email tokens, and the per-network login failure
-- counters that brute-force protection keeps here, so that it holds across replicas.
--
-- email_key and username_key are the lower-cased, normalised forms that uniqueness and
-- sign-in use; email and username keep what the user typed. password_enc is the
-- password's hash (a PHC string, or an imported foreign format) encrypted by the keyring
-- with additional data "password:<id>": a copy of the database alone is no base for an
-- offline guessing attack. search_text is the lower-cased email, username and name that
-- admin search matches, indexed by trigrams (pg_trgm, a trusted extension: the database
-- owner may create it) so that a substring query uses the index.
--
-- user_tokens hold the SHA-256 of email verification and password reset tokens, never
-- the tokens; a verification token is bound to the address it was sent to.

-- +goose Up
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE users (
    id                   text        PRIMARY KEY,
    email                text        NOT NULL,
    email_key            text        NOT NULL UNIQUE,
    email_verified       boolean     NOT NULL,
    username             text,
    username_key         text        UNIQUE,
    name                 text        NOT NULL,
    status               text        NOT NULL CHECK (status IN ('active', 'disabled', 'locked')),
    password_enc         bytea,
    password_changed_at  timestamptz,
    failed_logins        integer     NOT NULL DEFAULT 0,
    last_failed_login_at timestamptz,
    throttled_until      timestamptz,
    locked_at            timestamptz,
    metadata             text        NOT NULL,
    search_text          text        NOT NULL,
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL,
    last_login_at        timestamptz
);
CREATE INDEX users_created ON users (created_at, id);
CREATE INDEX users_search ON users USING gin (search_text gin_trgm_ops);

CREATE TABLE user_tokens (
    token_hash bytea       PRIMARY KEY,
    user_id    text        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    text        NOT NULL CHECK (purpose IN ('verify_email', 'reset_password')),
    email_key  text        NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX user_tokens_user ON user_tokens (user_id, purpose);
CREATE INDEX user_tokens_expires ON user_tokens (expires_at);

CREATE TABLE login_failures (
    network      text        PRIMARY KEY,
    window_start timestamptz NOT NULL,
    failures     integer     NOT NULL
);
CREATE INDEX login_failures_window ON login_failures (window_start);

-- +goose Down
DROP TABLE login_failures;
DROP TABLE user_tokens;
DROP TABLE users;
-- pg_trgm stays: other schemas in this database may have come to rely on it.
