// Package audittest gives tests a real audit log, with a fixed key, over their database.
package audittest

import (
	"bytes"
	"testing"
	"time"

	"github.com/identityd/identityd/audit"
	"github.com/identityd/identityd/keyring"
	"github.com/identityd/identityd/store"
)

// Key is the encryption key test logs derive their keys from.
var Key = bytes.Repeat([]byte{0x5a}, keyring.KeySize)

// Keyring returns a keyring holding Key.
func Keyring(t testing.TB) *keyring.Keyring {
	t.Helper()
	kr, err := keyring.New([][]byte{Key})
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// NewLog returns an audit log over db keyed by Key, with the real clock.
func NewLog(t testing.TB, db *store.DB) *audit.Log {
	t.Helper()
	l, err := audit.New(db, Keyring(t), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	return l
}
