package main

import (
	"crypto/rand"
	"encoding/base64"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestConfigValidateAcceptsAValidProductionConfiguration(t *testing.T) {
	key := newKey(t)
	o := mustRun(t, prodEnv(t, key), "config", "validate")
	if o.stdout != "configuration is valid\n" || o.stderr != "" {
		t.Errorf("got %v, want only \"configuration is valid\"", o)
	}
	for _, secret := range []string{"s3cret-db-pw", key} {
		if strings.Contains(o.stdout+o.stderr, secret) {
			t.Errorf("output holds the secret %q:\n%v", secret, o)
		}
	}
}

func TestConfigValidateListsEveryProblemOfFileAndEnvironmentOnItsOwnLine(t *testing.T) {
	file := filepath.Join(t.TempDir(), "identityd.yaml")
	writeFile(t, file, ""+
		"public_addr: 127.0.0.1:8080\n"+
		"issuer: http://id.example.com\n"+
		"log_levle: debug\n")
	shortKey := base64.StdEncoding.EncodeToString(randomBytes(t, 16))
	env := []string{
		"IDENTITYD_DATA_DIR=" + t.TempDir(),
		"IDENTITYD_DATABASE_URL=mysql://root:hunter2@db/identityd",
		"IDENTITYD_ENCRYPTION_KEYS=" + shortKey,
		"IDENTITYD_HTTP_READ_TIMEOUT=30",
	}
	o := wantUsage(t, env, "config", "validate", "--config", file)
	if o.stdout != "" {
		t.Errorf("stdout = %q, want nothing", o.stdout)
	}
	got := lines(o.stderr)
	if len(got) != 6 || got[0] != "identityd: the configuration has 5 problem(s):" {
		t.Fatalf("want a header and 5 problems, one per line; got:\n%s", o.stderr)
	}
	problems := got[1:]
	for _, want := range []string{
		`database_url = [redacted] (from IDENTITYD_DATABASE_URL): must start with sqlite:, postgres:// or postgresql://. Fix: use sqlite:PATH or postgres://user:password@host:5432/dbname.`,
		`issuer = "http://id.example.com" (from ` + file + ` line 2): http is allowed only for a loopback host (localhost, 127.0.0.0/8, ::1). Fix: use https://id.example.com.`,
		"encryption_keys = [redacted] (from IDENTITYD_ENCRYPTION_KEYS): key 1 of 1 is 16 bytes, not 32. Fix: generate a key with `openssl rand -base64 32`.",
		`http_read_timeout = "30" (from IDENTITYD_HTTP_READ_TIMEOUT): has no unit. Fix: add one, e.g. 30s, 5m or 1h.`,
	} {
		if !slices.Contains(problems, want) {
			t.Errorf("missing the line\n%s\nin:\n%s", want, o.stderr)
		}
	}
	for _, p := range problems {
		if !strings.Contains(p, " (from ") || !strings.Contains(p, " Fix: ") {
			t.Errorf("problem line %q does not say where from and how to fix it", p)
		}
	}
	if !strings.HasPrefix(problems[4], "log_levle (from "+file+" line 3): ") ||
		!strings.Contains(problems[4], "log_level") {
		t.Errorf("last problem %q: want the unknown log_levle with a suggestion of log_level", problems[4])
	}
	for _, secret := range []string{"hunter2", "root:", shortKey} {
		if strings.Contains(o.stdout+o.stderr, secret) {
			t.Errorf("output holds the secret %q:\n%v", secret, o)
		}
	}
}

func TestConfigValidateNeverPrintsASecret(t *testing.T) {
	dir := t.TempDir()
	key := newKey(t)
	keyFile := filepath.Join(dir, "keys")
	writeFile(t, keyFile, key+","+key+"\n")
	tests := []struct {
		name    string
		env     []string
		secrets []string
	}{
		{
			name:    "a database URL of an unknown scheme",
			env:     []string{"IDENTITYD_DATABASE_URL=mysql://admin:Tr0ub4dor@db/identityd"},
			secrets: []string{"Tr0ub4dor"},
		},
		{
			name:    "a malformed PostgreSQL URL",
			env:     []string{"IDENTITYD_DATABASE_URL=postgres://admin:Tr0ub4dor@db:port/identityd"},
			secrets: []string{"Tr0ub4dor"},
		},
		{
			name:    "a good PostgreSQL URL beside another problem",
			env:     []string{"IDENTITYD_DATABASE_URL=postgres://admin:Tr0ub4dor@db/identityd", "IDENTITYD_LOG_LEVEL=loud"},
			secrets: []string{"Tr0ub4dor"},
		},
		{
			name:    "an encryption key that is not base64",
			env:     []string{"IDENTITYD_ENCRYPTION_KEYS=" + key + ",not-base64!" + key[:20]},
			secrets: []string{key, key[:20]},
		},
		{
			name:    "a repeated encryption key read from a file",
			env:     []string{"IDENTITYD_ENCRYPTION_KEYS_FILE=" + keyFile},
			secrets: []string{key},
		},
		{
			name:    "a database URL both set and read from a file",
			env:     []string{"IDENTITYD_DATABASE_URL=postgres://admin:Tr0ub4dor@db/identityd", "IDENTITYD_DATABASE_URL_FILE=" + keyFile},
			secrets: []string{"Tr0ub4dor", key},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := append([]string{"IDENTITYD_DATA_DIR=" + dir, "IDENTITYD_ISSUER=https://id.example.com",
				"IDENTITYD_ENCRYPTION_KEYS=" + newKey(t)}, tt.env...)
			o := wantUsage(t, env, "config", "validate")
			for _, secret := range tt.secrets {
				if strings.Contains(o.stdout+o.stderr, secret) {
					t.Errorf("output holds the secret %q:\n%v", secret, o)
				}
			}
		})
	}
}

func TestConfigValidateDevAcceptsAConfigurationWithoutIssuerOrKeys(t *testing.T) {
	env := []string{"IDENTITYD_DATA_DIR=" + filepath.Join(t.TempDir(), "data")}
	o := mustRun(t, env, "config", "validate", "--dev")
	if o.stdout != "configuration is valid\n" {
		t.Errorf("got %v, want \"configuration is valid\"", o)
	}
	o = wantUsage(t, env, "config", "validate")
	got := lines(o.stderr)
	if len(got) != 3 || got[0] != "identityd: the configuration has 2 problem(s):" ||
		!strings.HasPrefix(got[1], "issuer (from default): required outside dev mode.") ||
		!strings.HasPrefix(got[2], "encryption_keys (from default): required outside dev mode.") {
		t.Errorf("without --dev: want the issuer and the keys required, got:\n%s", o.stderr)
	}
}

func TestConfigValidateDoesNotTouchTheDatabaseOrTheDataDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	mustRun(t, []string{"IDENTITYD_DATA_DIR=" + dir}, "config", "validate", "--dev")
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("config validate created %s (stat: %v); checking must change nothing", dir, err)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}
