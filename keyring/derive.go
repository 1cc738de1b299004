package keyring

import (
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
)

// Derive returns a size-byte key for purpose, derived with HKDF-SHA256 from the current
// key, and the id of that key. Other parts of identityd use it for keys that must follow
// the configured ones without being stored — the audit log's MAC and signing keys, say —
// so that rotating the configured key rotates them too. Each purpose string names one use
// and must never be reused for another; the data-encryption purpose is refused.
func (k *Keyring) Derive(purpose string, size int) (keyID string, key []byte, err error) {
	if k.current == nil {
		return "", nil, errors.New("keyring: derive: keyring has no keys; create it with keyring.New")
	}
	key, err = derive(k.current, purpose, size)
	return k.current.id.String(), key, err
}

// DeriveFrom is Derive from the configured key whose id is keyID (hex, as Derive and
// CurrentKeyID return it): what verifies data made under a key that is no longer current.
// It fails with ErrUnknownKey when no configured key has that id.
func (k *Keyring) DeriveFrom(keyID, purpose string, size int) ([]byte, error) {
	raw, err := hex.DecodeString(keyID)
	if err != nil || len(raw) != keyIDSize {
		return nil, fmt.Errorf("%w: %q is not a key id", ErrUnknownKey, keyID)
	}
	s, ok := k.byID[[keyIDSize]byte(raw)]
	if !ok {
		return nil, fmt.Errorf("%w: key id %s is not among the configured encryption keys", ErrUnknownKey, keyID)
	}
	return derive(s, purpose, size)
}

func derive(s *sealer, purpose string, size int) ([]byte, error) {
	if purpose == "" || purpose == dataEncryptionKDF {
		return nil, fmt.Errorf("keyring: derive: purpose %q is not allowed", purpose)
	}
	if size < 16 || size > 64 {
		return nil, fmt.Errorf("keyring: derive: size %d is outside 16 to 64 bytes", size)
	}
	key, err := hkdf.Key(sha256.New, s.secret, nil, purpose, size)
	if err != nil {
		return nil, fmt.Errorf("keyring: derive %q: %w", purpose, err)
	}
	return key, nil
}
