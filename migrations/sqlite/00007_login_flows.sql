-- Login flows: the server-side state of a sign-in between the page that starts it and
-- the session it ends in. A flow is bound to the browser that started it: it holds the
-- SHA-256 of a secret kept in that browser's cookie, and works only with that cookie, so
-- a flow id seen elsewhere (a log, a shared link) cannot be completed by anyone else.

-- +goose Up
CREATE TABLE login_flows (
    id           TEXT    PRIMARY KEY,
    browser_hash BLOB    NOT NULL,
    state        TEXT    NOT NULL CHECK (state IN ('credentials', 'second_factor')),
    user_id      TEXT    REFERENCES users (id) ON DELETE CASCADE,
    methods      TEXT    NOT NULL,
    remember     INTEGER NOT NULL CHECK (remember IN (0, 1)),
    return_to    TEXT    NOT NULL,
    created_at   TEXT    NOT NULL,
    expires_at   TEXT    NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX login_flows_expires ON login_flows (expires_at);

-- +goose Down
DROP TABLE login_flows;
