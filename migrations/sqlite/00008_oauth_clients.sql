-- OAuth 2 / OpenID Connect clients (package clients). A client never has its secret
-- stored: secret_hash is the SHA-256 of the high-entropy secret shown once when it was
-- issued, and is NULL for clients that authenticate otherwise (public clients, which use
-- PKCE and no authentication; private_key_jwt clients, which sign assertions with the
-- keys in jwks or at jwks_uri). A confidential client whose method is client_secret_basic
-- or client_secret_post may also have none for a while: after switching to such a
-- method, until a secret is issued by rotation.
--
-- The list columns (redirect_uris, post_logout_redirect_uris, grant_types, scopes,
-- audience) are JSON arrays of strings; jwks is a JSON Web Key Set of public keys, or
-- NULL. Token lifetimes are whole seconds, 0 meaning the server-wide default. Times are
-- UTC text in a fixed layout (see store), so text order is time order.

-- +goose Up
CREATE TABLE oauth_clients (
    id                         TEXT    PRIMARY KEY,
    name                       TEXT    NOT NULL,
    public                     INTEGER NOT NULL CHECK (public IN (0, 1)),
    first_party                INTEGER NOT NULL CHECK (first_party IN (0, 1)),
    redirect_uris              TEXT    NOT NULL,
    post_logout_redirect_uris  TEXT    NOT NULL,
    grant_types                TEXT    NOT NULL,
    scopes                     TEXT    NOT NULL,
    audience                   TEXT    NOT NULL,
    token_endpoint_auth_method TEXT    NOT NULL CHECK (token_endpoint_auth_method IN
                                       ('none', 'client_secret_basic', 'client_secret_post', 'private_key_jwt')),
    jwks                       TEXT,
    jwks_uri                   TEXT    NOT NULL,
    access_token_format        TEXT    NOT NULL CHECK (access_token_format IN ('jwt', 'opaque')),
    access_token_lifetime      INTEGER NOT NULL CHECK (access_token_lifetime >= 0),
    refresh_token_lifetime     INTEGER NOT NULL CHECK (refresh_token_lifetime >= 0),
    id_token_lifetime          INTEGER NOT NULL CHECK (id_token_lifetime >= 0),
    backchannel_logout_uri     TEXT    NOT NULL,
    introspect_any_token       INTEGER NOT NULL CHECK (introspect_any_token IN (0, 1)),
    secret_hash                BLOB    CHECK (length(secret_hash) = 32),
    secret_rotated_at          TEXT,
    created_at                 TEXT    NOT NULL,
    updated_at                 TEXT    NOT NULL,
    -- Public clients are exactly those that do not authenticate, and only the secret
    -- methods have a secret.
    CHECK (public = (token_endpoint_auth_method = 'none')),
    CHECK (secret_hash IS NULL OR token_endpoint_auth_method IN ('client_secret_basic', 'client_secret_post'))
) STRICT;
CREATE INDEX oauth_clients_created ON oauth_clients (created_at, id);

-- +goose Down
DROP TABLE oauth_clients;
