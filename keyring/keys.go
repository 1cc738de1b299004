package keyring

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// GenerateKey returns a new random KeySize-byte key from the operating system's secure
// random source, ready for EncodeKey and the configuration.
func GenerateKey() ([]byte, error) {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("keyring: generate key: %w", err)
	}
	return key, nil
}

// EncodeKey returns key in the configuration format: standard base64 with padding.
func EncodeKey(key []byte) string {
	return base64.StdEncoding.EncodeToString(key)
}

// decodeKey parses the configuration format. Surrounding whitespace is ignored, since
// files edited by hand gain newlines; anything else must be exact. Its errors never
// repeat the input, which may be a key.
func decodeKey(s string) ([]byte, error) {
	key, err := base64.StdEncoding.Strict().DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, errors.New("not standard base64")
	}
	if len(key) != KeySize {
		return nil, fmt.Errorf("decodes to %d bytes, not %d", len(key), KeySize)
	}
	return key, nil
}
