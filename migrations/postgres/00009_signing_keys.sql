-- Token signing keys (package signingkeys). kid is the key's RFC 7638 thumbprint.
-- private_enc is the private key (PKCS #8 DER) encrypted by the keyring with additional
-- data "signing-key:<kid>", so a ciphertext moved to another row does not open, and
-- public_jwk is the public key as published (a JWK in JSON), for listing keys without
-- the keyring.
--
-- A key is published from created_at and signs from activates_at; once a later key has
-- activated, retired_at says since when it signs no more and unpublish_at (retired_at
-- plus the longest token lifetime) when it leaves the JWKS and is deleted. The table
-- holds a handful of rows, read whole by every query: it needs no index beyond its key.

-- +goose Up
CREATE TABLE signing_keys (
    kid          text        PRIMARY KEY,
    alg          text        NOT NULL CHECK (alg IN ('ES256', 'RS256')),
    private_enc  bytea       NOT NULL,
    public_jwk   text        NOT NULL,
    created_at   timestamptz NOT NULL,
    activates_at timestamptz NOT NULL CHECK (activates_at >= created_at),
    retired_at   timestamptz,
    unpublish_at timestamptz,
    CHECK ((retired_at IS NULL) = (unpublish_at IS NULL)),
    CHECK (unpublish_at >= retired_at)
);

-- +goose Down
DROP TABLE signing_keys;
