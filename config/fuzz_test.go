package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/identityd/identityd/config"
)

// FuzzLoadReportsEachProblemOnOneLine feeds arbitrary YAML and environment values to
// Load: it must not panic, must return a config or problems but not both, and must keep
// one problem per line of output, whatever control characters the input holds.
func FuzzLoadReportsEachProblemOnOneLine(f *testing.F) {
	f.Add("log_level: debug\n", "IDENTITYD_LOG_LEVEL=info")
	f.Add("cors_allowed_origins: [*, 'https://a\nb']\n", "IDENTITYD_TRUSTED_PROXIES=::/0,\x1b")
	f.Add("? [a]\n: b\n\"k\\n\": &x [*x]\n<<: {a: 1}\n", "IDENTITYD_LOG_LEVLE=x")
	f.Add("a: [\n", "IDENTITYD_DATABASE_URL_FILE=/nonexistent")
	f.Add("---\n---\n", "identityd_issuer=\n")
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, yaml, envPair string) {
		file := filepath.Join(dir, "config.yaml")
		if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := config.Load(config.Sources{File: file, Env: []string{envPair}, Serving: true})
		if (c == nil) == (err == nil) {
			t.Fatalf("Load returned config %v and error %v", c, err)
		}
		if err == nil {
			return
		}
		var ps config.Problems
		if !errors.As(err, &ps) {
			t.Fatalf("error is %T, not Problems", err)
		}
		if lines := strings.Count(err.Error(), "\n") + 1; lines != len(ps) {
			t.Fatalf("%d problems rendered on %d lines:\n%s", len(ps), lines, err)
		}
	})
}
