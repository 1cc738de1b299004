package keyring_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/identityd/identityd/keyring"
)

func TestDerivedKeysFollowTheConfiguredKeyAndDifferByPurpose(t *testing.T) {
	a, b := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	kr, err := keyring.New([][]byte{a, b})
	if err != nil {
		t.Fatal(err)
	}
	id, mac, err := kr.Derive("test mac v1", 32)
	if err != nil || id != kr.CurrentKeyID() || len(mac) != 32 {
		t.Fatalf("Derive = %s, %d bytes, %v", id, len(mac), err)
	}
	again, err := kr.DeriveFrom(id, "test mac v1", 32)
	if err != nil || !bytes.Equal(again, mac) {
		t.Fatalf("DeriveFrom the current key = %x, %v; want %x", again, err, mac)
	}
	_, other, _ := kr.Derive("test chain v1", 32)
	if bytes.Equal(other, mac) {
		t.Fatal("two purposes derived the same key")
	}

	// After rotation ([b, a]) the current key changes, and the old one still derives.
	rotated, _ := keyring.New([][]byte{b, a})
	if ids := rotated.KeyIDs(); len(ids) != 2 || ids[1] != id || ids[0] == id {
		t.Fatalf("KeyIDs after rotation = %v, want the new key first and %s second", ids, id)
	}
	newID, newMAC, _ := rotated.Derive("test mac v1", 32)
	if newID == id || bytes.Equal(newMAC, mac) {
		t.Fatal("rotation did not change the derived key")
	}
	old, err := rotated.DeriveFrom(id, "test mac v1", 32)
	if err != nil || !bytes.Equal(old, mac) {
		t.Fatalf("old key after rotation = %x, %v; want %x", old, err, mac)
	}
	alone, _ := keyring.New([][]byte{b})
	if _, err := alone.DeriveFrom(id, "test mac v1", 32); !errors.Is(err, keyring.ErrUnknownKey) {
		t.Fatalf("DeriveFrom a removed key = %v, want ErrUnknownKey", err)
	}
}

func TestDeriveRefusesBadPurposesSizesAndIDs(t *testing.T) {
	kr, _ := keyring.New([][]byte{bytes.Repeat([]byte{1}, 32)})
	for _, purpose := range []string{"", "identityd keyring data encryption v1"} {
		if _, _, err := kr.Derive(purpose, 32); err == nil {
			t.Errorf("Derive(%q) succeeded", purpose)
		}
	}
	for _, size := range []int{0, 8, 65} {
		if _, _, err := kr.Derive("x", size); err == nil {
			t.Errorf("Derive size %d succeeded", size)
		}
	}
	for _, id := range []string{"", "zz", "00"} {
		if _, err := kr.DeriveFrom(id, "x", 32); !errors.Is(err, keyring.ErrUnknownKey) {
			t.Errorf("DeriveFrom(%q) = %v, want ErrUnknownKey", id, err)
		}
	}
}
