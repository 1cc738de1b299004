package signingkeys

import (
	"context"
	"fmt"
	"time"

	"github.com/identityd/identityd/store"
)

// List returns every stored key with its state as of now, sorted by algorithm and then
// activation, for operators (identityd keys list). It reads the public keys as stored
// and opens no private key, so it needs no keyring key; no Key it returns can sign. A
// retired key past its UnpublishAt is listed until Maintain deletes it.
func (s *Service) List(ctx context.Context) ([]Key, error) {
	return List(ctx, s.db, s.now(), s.cfg)
}

// List is Service.List without a Service, which needs the keyring: for an operator who
// may look at the keys without holding the encryption keys. Of cfg only
// MaxTokenLifetime counts, which places retired keys.
func List(ctx context.Context, db *store.DB, now time.Time, cfg Config) ([]Key, error) {
	rows, err := readRows(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("signingkeys: list: %w", err)
	}
	keys, err := describe(rows)
	if err != nil {
		return nil, fmt.Errorf("signingkeys: list: %w", err)
	}
	placed, _ := place(keys, now, cfg.withDefaults().MaxTokenLifetime)
	return placed, nil
}
