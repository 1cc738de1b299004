-- How each client's ID tokens and back-channel logout tokens are signed
-- (id_token_signed_response_alg, OpenID Connect Dynamic Client Registration §2): RS256,
-- the default every OpenID Connect client must accept, or ES256 for clients that ask.

-- +goose Up
ALTER TABLE oauth_clients ADD COLUMN id_token_signed_response_alg TEXT NOT NULL DEFAULT 'RS256'
    CHECK (id_token_signed_response_alg IN ('RS256', 'ES256'));

-- +goose Down
ALTER TABLE oauth_clients DROP COLUMN id_token_signed_response_alg;
