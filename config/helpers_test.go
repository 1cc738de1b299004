package config_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"strconv"
	"testing"

	"github.com/identityd/identityd/config"
)

// key returns a valid encryption key: the base64 of 32 bytes of b.
func key(b byte) string { return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, 32)) }

// prodEnv is the least environment a non-dev Load accepts, followed by extra.
func prodEnv(extra ...string) []string {
	return append([]string{"IDENTITYD_ISSUER=https://id.example.com", "IDENTITYD_ENCRYPTION_KEYS=" + key(1)}, extra...)
}

// inTempDir moves the test into an empty directory, so files have short relative names
// ("config.yaml line 3") that messages can be compared against exactly.
func inTempDir(t *testing.T) {
	t.Helper()
	t.Chdir(t.TempDir())
}

// writeFile writes content to name in the current directory and returns name.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	if err := os.WriteFile(name, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return name
}

// mustLoad loads src and fails the test on any problem.
func mustLoad(t *testing.T, src config.Sources) *config.Config {
	t.Helper()
	c, err := config.Load(src)
	if err != nil {
		t.Fatalf("Load: unexpected problems:\n%v", err)
	}
	return c
}

// loadProblems loads src, which must fail, and returns the problems.
func loadProblems(t *testing.T, src config.Sources) config.Problems {
	t.Helper()
	c, err := config.Load(src)
	if err == nil {
		t.Fatalf("Load succeeded with %+v, want problems", c)
	}
	if c != nil {
		t.Errorf("Load returned a config alongside problems")
	}
	var ps config.Problems
	if !errors.As(err, &ps) {
		t.Fatalf("Load error is %T, want config.Problems: %v", err, err)
	}
	return ps
}

// wantError loads src and compares the whole error text with want.
func wantError(t *testing.T, src config.Sources, want string) {
	t.Helper()
	if got := loadProblems(t, src).Error(); got != want {
		t.Errorf("error text:\ngot:\n%s\nwant:\n%s", got, want)
	}
}

// quote is how problems show a value.
func quote(s string) string { return strconv.Quote(s) }
