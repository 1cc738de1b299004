package signingkeys

import (
	"context"
	"fmt"
)

// List returns every stored key with its state as of now, sorted by algorithm and then
// activation, for operators (identityd keys list). It reads the public keys as stored
// and opens no private key, so it needs no keyring key; no Key it returns can sign. A
// retired key past its UnpublishAt is listed until Maintain deletes it.
func (s *Service) List(ctx context.Context) ([]Key, error) {
	rows, err := readRows(ctx, s.db)
	if err != nil {
		return nil, fmt.Errorf("signingkeys: list: %w", err)
	}
	keys, err := describe(rows)
	if err != nil {
		return nil, fmt.Errorf("signingkeys: list: %w", err)
	}
	placed, _ := place(keys, s.now(), s.cfg.MaxTokenLifetime)
	return placed, nil
}
