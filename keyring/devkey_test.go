package keyring_test

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/identityd/identityd/keyring"
)

func TestLoadOrCreateDevKeyCreatesOnceThenReuses(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "dev-encryption-key")

	key, created, err := keyring.LoadOrCreateDevKey(dir)
	if err != nil {
		t.Fatalf("first call: %v", err)
	}
	if !created {
		t.Error("first call: created = false, want true")
	}
	if len(key) != keyring.KeySize {
		t.Errorf("key is %d bytes, want %d", len(key), keyring.KeySize)
	}
	content, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := keyring.EncodeKey(key) + "\n"; string(content) != want {
		t.Errorf("file holds %q, want EncodeKey(key) and a newline", content)
	}
	assertMode(t, path, 0o600)

	again, created, err := keyring.LoadOrCreateDevKey(dir)
	if err != nil {
		t.Fatalf("second call: %v", err)
	}
	if created {
		t.Error("second call: created = true, want false")
	}
	if !bytes.Equal(again, key) {
		t.Error("second call returned a different key")
	}

	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("data directory holds %q, want only the key file (no temporary files left)", names)
	}
}

func TestLoadOrCreateDevKeyCreatesTheDataDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "identityd")
	if _, _, err := keyring.LoadOrCreateDevKey(dir); err != nil {
		t.Fatal(err)
	}
	assertMode(t, dir, 0o700)
}

func TestLoadOrCreateDevKeyRacingProcessesAgreeOnOneKey(t *testing.T) {
	dir := t.TempDir()
	const racers = 8
	keys := make([][]byte, racers)
	created := make([]bool, racers)
	errs := make([]error, racers)
	var start, wg sync.WaitGroup
	start.Add(1)
	for i := range racers {
		wg.Go(func() {
			start.Wait()
			keys[i], created[i], errs[i] = keyring.LoadOrCreateDevKey(dir)
		})
	}
	start.Done()
	wg.Wait()

	creators := 0
	for i := range racers {
		if errs[i] != nil {
			t.Fatalf("racer %d: %v", i, errs[i])
		}
		if !bytes.Equal(keys[i], keys[0]) {
			t.Errorf("racer %d got a different key from racer 0", i)
		}
		if created[i] {
			creators++
		}
	}
	if creators != 1 {
		t.Errorf("%d racers report creating the key, want exactly 1", creators)
	}
}

func TestLoadOrCreateDevKeyRejectsBadContent(t *testing.T) {
	wrongLength := keyring.EncodeKey(testKey(1)[:16])
	tests := []struct {
		name, content string
	}{
		{"empty", ""},
		{"not base64", "this is not a key, it is a sentence\n"},
		{"URL-safe base64", strings.ReplaceAll(strings.ReplaceAll(keyring.EncodeKey(bytes.Repeat([]byte{0xfb, 0xff}, 16)), "+", "-"), "/", "_")},
		{"wrong length", wrongLength + "\n"},
		{"two keys", keyring.EncodeKey(testKey(1)) + "\n" + keyring.EncodeKey(testKey(2)) + "\n"},
		{"huge", strings.Repeat("A", 1<<20)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "dev-encryption-key")
			writeFile(t, path, tt.content, 0o600)

			_, _, err := keyring.LoadOrCreateDevKey(dir)
			if err == nil {
				t.Fatal("LoadOrCreateDevKey succeeded, want an error")
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file", err)
			}
			if line := strings.TrimSpace(tt.content); line != "" && strings.Contains(err.Error(), line) {
				t.Errorf("error %q repeats the file's content", err)
			}
			if got, _ := os.ReadFile(path); string(got) != tt.content {
				t.Error("the file was changed; a bad key file must be left for the operator")
			}
		})
	}
}

func TestLoadOrCreateDevKeyAcceptsAHandEditedFile(t *testing.T) {
	dir := t.TempDir()
	key := testKey(9)
	writeFile(t, filepath.Join(dir, "dev-encryption-key"), "  "+keyring.EncodeKey(key)+"\r\n", 0o600)
	got, created, err := keyring.LoadOrCreateDevKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	if created || !bytes.Equal(got, key) {
		t.Errorf("got created=%v and a different key; want the file's key", created)
	}
}

func TestLoadOrCreateDevKeyRejectsLoosePermissions(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows does not express file access in mode bits")
	}
	for _, mode := range []os.FileMode{0o640, 0o604, 0o644, 0o620, 0o602, 0o666} {
		t.Run(mode.String(), func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "dev-encryption-key")
			writeFile(t, path, keyring.EncodeKey(testKey(1))+"\n", mode)

			_, _, err := keyring.LoadOrCreateDevKey(dir)
			if err == nil {
				t.Fatal("LoadOrCreateDevKey succeeded, want an error")
			}
			for _, want := range []string{path, "chmod 600"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

func TestLoadOrCreateDevKeyRejectsANonRegularFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "dev-encryption-key"), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, _, err := keyring.LoadOrCreateDevKey(dir); err == nil {
		t.Fatal("LoadOrCreateDevKey succeeded with a directory in place of the key file")
	}
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	// WriteFile's mode passes through the umask; set it exactly.
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func assertMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	if runtime.GOOS == "windows" {
		return
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Mode().Perm(); got != want {
		t.Errorf("%s has mode %04o, want %04o", path, got, want)
	}
}
