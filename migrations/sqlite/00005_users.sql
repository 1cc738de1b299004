-- User accounts, their single-use email tokens, and the per-network login failure
-- counters that brute-force protection keeps here, so that it holds across replicas.
--
-- email_key and username_key are the lower-cased, normalised forms that uniqueness and
-- sign-in use; email and username keep what the user typed. password_enc is the
-- password's hash (a PHC string, or an imported foreign format) encrypted by the keyring
-- with additional data "password:<id>": a copy of the database alone is no base for an
-- offline guessing attack. search_text is the lower-cased email, username and name that
-- admin search matches; users_search indexes it by trigrams (FTS5's trigram tokenizer),
-- kept in step by triggers, so that a substring query uses the index.
--
-- user_tokens hold the SHA-256 of email verification and password reset tokens, never
-- the tokens; a verification token is bound to the address it was sent to.

-- +goose Up
CREATE TABLE users (
    id                   TEXT    PRIMARY KEY,
    email                TEXT    NOT NULL,
    email_key            TEXT    NOT NULL UNIQUE,
    email_verified       INTEGER NOT NULL CHECK (email_verified IN (0, 1)),
    username             TEXT,
    username_key         TEXT    UNIQUE,
    name                 TEXT    NOT NULL,
    status               TEXT    NOT NULL CHECK (status IN ('active', 'disabled', 'locked')),
    password_enc         BLOB,
    password_changed_at  TEXT,
    failed_logins        INTEGER NOT NULL DEFAULT 0,
    last_failed_login_at TEXT,
    throttled_until      TEXT,
    locked_at            TEXT,
    metadata             TEXT    NOT NULL,
    search_text          TEXT    NOT NULL,
    created_at           TEXT    NOT NULL,
    updated_at           TEXT    NOT NULL,
    last_login_at        TEXT
) STRICT;
CREATE INDEX users_created ON users (created_at, id);

CREATE VIRTUAL TABLE users_search USING fts5 (
    search_text, content = 'users', content_rowid = 'rowid', tokenize = 'trigram'
);
-- +goose StatementBegin
CREATE TRIGGER users_search_insert AFTER INSERT ON users BEGIN
    INSERT INTO users_search (rowid, search_text) VALUES (new.rowid, new.search_text);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER users_search_delete AFTER DELETE ON users BEGIN
    INSERT INTO users_search (users_search, rowid, search_text) VALUES ('delete', old.rowid, old.search_text);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER users_search_update AFTER UPDATE OF search_text ON users BEGIN
    INSERT INTO users_search (users_search, rowid, search_text) VALUES ('delete', old.rowid, old.search_text);
    INSERT INTO users_search (rowid, search_text) VALUES (new.rowid, new.search_text);
END;
-- +goose StatementEnd

CREATE TABLE user_tokens (
    token_hash BLOB PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    TEXT NOT NULL CHECK (purpose IN ('verify_email', 'reset_password')),
    email_key  TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX user_tokens_user ON user_tokens (user_id, purpose);
CREATE INDEX user_tokens_expires ON user_tokens (expires_at);

CREATE TABLE login_failures (
    network      TEXT    PRIMARY KEY,
    window_start TEXT    NOT NULL,
    failures     INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX login_failures_window ON login_failures (window_start);

-- +goose Down
DROP TABLE login_failures;
DROP TABLE user_tokens;
DROP TRIGGER users_search_update;
DROP TRIGGER users_search_delete;
DROP TRIGGER users_search_insert;
DROP TABLE users_search;
DROP TABLE users;
