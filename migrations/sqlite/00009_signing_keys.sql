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
-- Times are UTC text in a fixed layout (see store), so text order is time order.

-- +goose Up
CREATE TABLE signing_keys (
    kid          TEXT PRIMARY KEY,
    alg          TEXT NOT NULL CHECK (alg IN ('ES256', 'RS256')),
    private_enc  BLOB NOT NULL,
    public_jwk   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    activates_at TEXT NOT NULL CHECK (activates_at >= created_at),
    retired_at   TEXT,
    unpublish_at TEXT,
    CHECK ((retired_at IS NULL) = (unpublish_at IS NULL)),
    CHECK (unpublish_at >= retired_at)
) STRICT, WITHOUT ROWID;

-- +goose Down
DROP TABLE signing_keys;
