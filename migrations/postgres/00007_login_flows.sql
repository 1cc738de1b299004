-- Login flows: the server-side state of a sign-in between the page that starts it and
-- the session it ends in. A flow is bound to the browser that started it: it holds the
-- SHA-256 of a secret kept in that browser's cookie, and works only with that cookie, so
-- a flow id seen elsewhere (a log, a shared link) cannot be completed by anyone else.

-- +goose Up
CREATE TABLE login_flows (
    id           text        PRIMARY KEY,
    browser_hash bytea       NOT NULL,
    state        text        NOT NULL CHECK (state IN ('credentials', 'second_factor')),
    user_id      text        REFERENCES users (id) ON DELETE CASCADE,
    methods      text        NOT NULL,
    remember     boolean     NOT NULL,
    return_to    text        NOT NULL,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL
);
CREATE INDEX login_flows_expires ON login_flows (expires_at);

-- +goose Down
DROP TABLE login_flows;
