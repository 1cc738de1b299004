package server

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/identityd/identityd/config"
	"github.com/identityd/identityd/keyring"
)

// Keyring builds the data-encryption keyring from cfg's encryption keys. Without any, it
// uses the development key kept in the data directory: generating it when generate is
// true (serve --dev), otherwise only if it is there already (operator commands beside a
// dev server). Anything else is an error that says what to set.
func Keyring(cfg *config.Config, generate bool, log *slog.Logger) (*keyring.Keyring, error) {
	keys := cfg.EncryptionKeys
	if len(keys) == 0 {
		var (
			key     []byte
			created bool
			err     error
		)
		if generate {
			key, created, err = keyring.LoadOrCreateDevKey(cfg.DataDir)
		} else {
			key, err = keyring.LoadDevKey(cfg.DataDir)
		}
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil, errors.New("no encryption keys: set IDENTITYD_ENCRYPTION_KEYS (generate a key with `openssl rand -base64 32`), " +
				"or run identityd serve --dev once to generate a development key in the data directory")
		case err != nil:
			return nil, fmt.Errorf("encryption keys: %w", err)
		}
		if created {
			log.Warn("dev mode: generated an encryption key and saved it in the data directory; set IDENTITYD_ENCRYPTION_KEYS in production",
				slog.String("data_dir", cfg.DataDir))
		}
		keys = [][]byte{key}
	}
	kr, err := keyring.New(keys)
	if err != nil {
		return nil, fmt.Errorf("encryption keys: %w", err)
	}
	return kr, nil
}
