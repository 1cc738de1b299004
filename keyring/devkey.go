package keyring

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// DevKeyFile is the name of the development encryption key inside the data directory.
const DevKeyFile = "dev-encryption-key"

// maxDevKeyFileSize bounds what LoadOrCreateDevKey reads: a key file is 45 bytes, and a
// much larger file is not one.
const maxDevKeyFileSize = 1024

// LoadOrCreateDevKey returns the development encryption key kept in dir, generating it
// on first use. It serves `identityd serve --dev`, which generates missing secrets once
// and keeps them in the data directory so encrypted data survives restarts.
//
// The key lives in dir/dev-encryption-key as EncodeKey(key) and a newline, mode 0600;
// dir is created with mode 0700 if missing. created reports whether this call made the
// key. Processes racing to create it agree on one key: the file appears complete and
// exclusively (it is written under a temporary name, then linked into place, which fails
// if the name exists), and the loser reads the winner's. A file with other content, or
// one that group or others may access, is an error naming the file: the key must not be
// silently replaced (data sealed under it would be lost) nor used while exposed.
func LoadOrCreateDevKey(dir string) (key []byte, created bool, err error) {
	path := filepath.Join(dir, DevKeyFile)
	key, err = readDevKey(path)
	if err == nil {
		return key, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}

	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, false, fmt.Errorf("keyring: create data directory for the dev encryption key: %w", err)
	}
	key, err = GenerateKey()
	if err != nil {
		return nil, false, err
	}
	switch err := createExclusive(path, []byte(EncodeKey(key)+"\n")); {
	case errors.Is(err, fs.ErrExist):
		// Another process created it between our read and our link: use theirs.
		key, err = readDevKey(path)
		if err != nil {
			return nil, false, err
		}
		return key, false, nil
	case err != nil:
		return nil, false, fmt.Errorf("keyring: create dev encryption key %s: %w", path, err)
	}
	return key, true, nil
}

// LoadDevKey returns the development key kept in dir without ever creating one, for
// commands that run beside `identityd serve --dev`. When there is none, the error
// matches fs.ErrNotExist.
func LoadDevKey(dir string) ([]byte, error) {
	return readDevKey(filepath.Join(dir, DevKeyFile))
}

// createExclusive makes path hold content, or fails with fs.ErrExist if path exists. A
// plain O_EXCL create would let a concurrent reader see the file empty or half written
// (and a crash leave it so); writing a temporary file and hard-linking it into place
// publishes it complete, and the link is as exclusive as O_EXCL.
func createExclusive(path string, content []byte) error {
	dir := filepath.Dir(path)
	// CreateTemp opens with O_EXCL and mode 0600.
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+"-*.tmp")
	if err != nil {
		return err
	}
	// After a successful link the key stays reachable under path; a leftover temporary
	// name would hold the same key with the same mode, in the same directory.
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(content); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		return err
	}
	return syncDir(dir)
}

// syncDir makes the new directory entry durable: losing the key file in a crash would
// lose everything encrypted under it.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil // directories cannot be synced there; NTFS journals the entry
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// readDevKey reads and checks an existing key file. A missing file yields an error
// matching fs.ErrNotExist.
func readDevKey(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("keyring: read dev encryption key: %w", err)
	}
	defer f.Close()
	// Checked on the open file, not the path, so what we check is what we read.
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("keyring: read dev encryption key: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("keyring: dev encryption key %s is not a regular file", path)
	}
	// Windows does not express access in mode bits; it reports 0666 for every file.
	if perm := info.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, fmt.Errorf("keyring: dev encryption key %s is accessible by group or others (mode %04o); run: chmod 600 %s",
			path, perm, path)
	}
	content, err := io.ReadAll(io.LimitReader(f, maxDevKeyFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("keyring: read dev encryption key %s: %w", path, err)
	}
	if len(content) > maxDevKeyFileSize {
		return nil, fmt.Errorf("keyring: dev encryption key %s is larger than %d bytes; it does not hold a key",
			path, maxDevKeyFileSize)
	}
	key, err := decodeKey(string(content))
	if err != nil {
		return nil, fmt.Errorf("keyring: dev encryption key %s does not hold a base64-encoded %d-byte key: %w; restore the original, or delete it to generate a new one and lose what the old one encrypted",
			path, KeySize, err)
	}
	return key, nil
}
