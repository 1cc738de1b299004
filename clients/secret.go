package clients

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"

	"github.com/identityd/identityd/audit"
	"github.com/identityd/identityd/store"
)

// SecretPrefix starts every client secret, so that secret scanners and people can
// recognise one.
const SecretPrefix = "idd_cs_"

// newSecret returns a new client secret, 256 random bits in base64url after the prefix,
// and the SHA-256 that is stored in its place.
func newSecret() (string, []byte) {
	raw := make([]byte, 32)
	_, _ = rand.Read(raw) // never fails: crypto/rand crashes the program rather than return short
	secret := SecretPrefix + base64.RawURLEncoding.EncodeToString(raw)
	hash := sha256.Sum256([]byte(secret))
	return secret, hash[:]
}

// LookupWithSecretHash is Lookup with the stored SHA-256 of the client's secret (nil when
// it has none), for client authentication: both from the one cache entry, so that they
// always describe the same version of the client.
func (s *Service) LookupWithSecretHash(ctx context.Context, id string) (Client, []byte, error) {
	e, err := s.entry(ctx, id)
	if err != nil {
		return Client{}, nil, err
	}
	return e.client.clone(), slices.Clone(e.hash), nil
}

// SecretMatches reports whether secret is the one whose stored SHA-256 is hash, taking
// the same time wherever the two differ. The secret is high-entropy, so one SHA-256 is
// all the hashing it needs.
func SecretMatches(hash, secret []byte) bool {
	sum := sha256.Sum256(secret)
	return len(hash) > 0 && subtle.ConstantTimeCompare(sum[:], hash) == 1
}

// VerifySecret checks a secret presented for the client with id: nil when it is the
// client's, ErrInvalidSecret when it is not or the client has no secret, ErrNotFound for
// an unknown client. It compares as SecretMatches does.
func (s *Service) VerifySecret(ctx context.Context, id, secret string) error {
	e, err := s.entry(ctx, id)
	if err != nil {
		return err
	}
	if !SecretMatches(e.hash, []byte(secret)) {
		return ErrInvalidSecret
	}
	return nil
}

// RotateSecret gives a confidential client that authenticates with a secret a new one
// and returns the client as it now is, with the secret; the secret is shown this once.
// The old secret stops working at once, in this process on return and in other replicas
// when notified. It answers ErrPublicClient for a public client and ErrNoSecretAuth for a
// private_key_jwt one, which have no secret.
func (s *Service) RotateSecret(ctx context.Context, id string) (Client, string, error) {
	if !plausibleID(id) {
		return Client{}, "", ErrNotFound
	}
	secret, hash := newSecret()
	var c Client
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		q := `SELECT ` + clientColumns + ` FROM oauth_clients WHERE id = $1`
		if tx.Dialect() == store.Postgres {
			q += ` FOR UPDATE` // an Update switching the method must not slip in between
		}
		var err error
		if c, _, err = scanClient(tx.QueryRow(ctx, q, id)); err != nil {
			return err
		}
		switch {
		case c.Public:
			return ErrPublicClient
		case !usesSecret(c.TokenEndpointAuthMethod):
			return ErrNoSecretAuth
		}
		now := s.stamp()
		if _, err := tx.Exec(ctx, `UPDATE oauth_clients SET secret_hash = $1, secret_rotated_at = $2, updated_at = $2
			WHERE id = $3`, hash, now, id); err != nil {
			return err
		}
		c.HasSecret, c.SecretRotatedAt, c.UpdatedAt = true, &now, now
		notify(tx, id)
		return s.audit.Record(ctx, tx, audit.ClientSecretRotated(id))
	})
	s.cache.invalidate(id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Client{}, "", ErrNotFound
	case errors.Is(err, ErrPublicClient), errors.Is(err, ErrNoSecretAuth):
		return Client{}, "", err
	case err != nil:
		return Client{}, "", fmt.Errorf("clients: rotate secret: %w", err)
	}
	return c, secret, nil
}
