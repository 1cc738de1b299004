-- The OAuth 2 / OpenID Connect provider's state (package oauth). Every token and code is
-- kept only as the SHA-256 of the handle fosite derives from it, never as itself.
--
-- oauth_requests holds the authorization requests fosite keeps between the steps of a
-- flow, by kind of handle: authorization codes ('code'), their PKCE challenge ('pkce')
-- and OpenID Connect request ('oidc'), and pushed authorization requests ('par').
-- request_id is fosite's request id, which names a grant: the refresh tokens and access
-- tokens issued from one authorization share it. JWT access tokens have no row at all:
-- they are self-contained, and revoking one, a grant, a user's tokens or a consent adds
-- a key to oauth_revocations until every token it covers has expired.

-- +goose Up
CREATE TABLE oauth_requests (
    kind        TEXT        NOT NULL CHECK (kind IN ('code', 'pkce', 'oidc', 'par')),
    handle_hash BLOB       NOT NULL,
    request_id  TEXT        NOT NULL,
    client_id   TEXT        NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    user_id     TEXT        REFERENCES users (id) ON DELETE CASCADE,
    data        TEXT        NOT NULL,
    active      INTEGER     NOT NULL CHECK (active IN (0, 1)),
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    PRIMARY KEY (kind, handle_hash)
) STRICT;
CREATE INDEX oauth_requests_request ON oauth_requests (request_id);
CREATE INDEX oauth_requests_expires ON oauth_requests (expires_at);

CREATE TABLE oauth_refresh_tokens (
    token_hash BLOB       PRIMARY KEY,
    request_id TEXT        NOT NULL,
    client_id  TEXT        NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    user_id    TEXT        REFERENCES users (id) ON DELETE CASCADE,
    session_id TEXT,
    data       TEXT        NOT NULL,
    active     INTEGER     NOT NULL CHECK (active IN (0, 1)),
    rotated_at TEXT,
    grace_uses INTEGER     NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
) STRICT;
CREATE INDEX oauth_refresh_tokens_request ON oauth_refresh_tokens (request_id);
CREATE INDEX oauth_refresh_tokens_user ON oauth_refresh_tokens (user_id, client_id);
CREATE INDEX oauth_refresh_tokens_session ON oauth_refresh_tokens (session_id);
CREATE INDEX oauth_refresh_tokens_expires ON oauth_refresh_tokens (expires_at);

CREATE TABLE oauth_access_tokens (
    token_hash BLOB       PRIMARY KEY,
    request_id TEXT        NOT NULL,
    client_id  TEXT        NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    user_id    TEXT        REFERENCES users (id) ON DELETE CASCADE,
    session_id TEXT,
    data       TEXT        NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
) STRICT;
CREATE INDEX oauth_access_tokens_request ON oauth_access_tokens (request_id);
CREATE INDEX oauth_access_tokens_user ON oauth_access_tokens (user_id, client_id);
CREATE INDEX oauth_access_tokens_session ON oauth_access_tokens (session_id);
CREATE INDEX oauth_access_tokens_expires ON oauth_access_tokens (expires_at);

CREATE TABLE oauth_revocations (
    key        TEXT        PRIMARY KEY,
    revoked_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
) STRICT;
CREATE INDEX oauth_revocations_expires ON oauth_revocations (expires_at);

CREATE TABLE oauth_consents (
    user_id    TEXT        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id  TEXT        NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    scopes     TEXT        NOT NULL,
    granted_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (user_id, client_id)
) STRICT;

CREATE TABLE oauth_client_assertions (
    jti_hash   BLOB       PRIMARY KEY,
    expires_at TEXT NOT NULL
) STRICT;
CREATE INDEX oauth_client_assertions_expires ON oauth_client_assertions (expires_at);

CREATE TABLE oauth_session_clients (
    session_id TEXT        NOT NULL,
    client_id  TEXT        NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    user_id    TEXT        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    PRIMARY KEY (session_id, client_id)
) STRICT;
CREATE INDEX oauth_session_clients_expires ON oauth_session_clients (expires_at);

-- +goose Down
DROP TABLE oauth_session_clients;
DROP TABLE oauth_client_assertions;
DROP TABLE oauth_consents;
DROP TABLE oauth_revocations;
DROP TABLE oauth_access_tokens;
DROP TABLE oauth_refresh_tokens;
DROP TABLE oauth_requests;
