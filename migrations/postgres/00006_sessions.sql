-- Browser sessions. token_hash is the SHA-256 of the random token in the session cookie,
-- never the token; id is a public handle that lists and revocations use, so that no
-- token ever leaves the cookie. A session ends at expires_at whatever its use, or when
-- it goes unused for the idle timeout that applies to it (longer when remember is set),
-- which the service computes from last_seen_at with the current configuration.
--
-- amr is a JSON array of RFC 8176 method names; acr and auth_time are what OpenID
-- Connect asks of the sign-in that began the session. sessions_idle serves the cleanup
-- of idle sessions, which looks for each kind (remember or not) by last_seen_at.

-- +goose Up
CREATE TABLE sessions (
    id           text        PRIMARY KEY,
    token_hash   bytea       NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    user_id      text        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    remember     boolean     NOT NULL,
    ip           text        NOT NULL CHECK (length(ip) <= 64),
    user_agent   text        NOT NULL CHECK (length(user_agent) <= 256),
    amr          text        NOT NULL,
    acr          text        NOT NULL CHECK (length(acr) <= 128),
    auth_time    timestamptz NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id, created_at);
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX sessions_idle ON sessions (remember, last_seen_at);

-- +goose Down
DROP TABLE sessions;
