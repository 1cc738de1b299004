package config_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/identityd/identityd/config"
)

func TestSnapshotNamesEverySettingAndHoldsNoSecret(t *testing.T) {
	c := mustLoad(t, config.Sources{Env: prodEnv("IDENTITYD_DATABASE_URL=postgres://app:hunter2@db:5432/identityd")})
	snap := c.Snapshot()
	for _, s := range config.Settings() {
		if _, ok := snap[s.Key]; !ok && s.Key != "encryption_keys" {
			t.Errorf("snapshot lacks %s", s.Key)
		}
	}
	for k, v := range snap {
		if strings.Contains(v, "hunter2") {
			t.Errorf("snapshot %s = %q holds the password", k, v)
		}
	}
	if snap["database_url"] != "postgres://app@db:5432/identityd" {
		t.Errorf("database_url = %q", snap["database_url"])
	}
	if _, ok := snap["encryption_keys"]; ok {
		t.Error("snapshot holds the encryption keys")
	}
}

func TestAConfigPrintedOrLoggedShowsNoSecret(t *testing.T) {
	c := mustLoad(t, config.Sources{Env: prodEnv("IDENTITYD_DATABASE_URL=postgres://app:hunter2@db:5432/identityd",
		"IDENTITYD_SMTP_URL=smtp://mailer:s3cret@mail.example.com:587")})
	var logged bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logged, nil))
	log.Info("config", slog.Any("value", *c), slog.Any("pointer", c))
	for name, out := range map[string]string{
		"%v": fmt.Sprintf("%v", *c), "%+v": fmt.Sprintf("%+v", *c), "%#v": fmt.Sprintf("%#v", *c), "%s": fmt.Sprintf("%s", *c),
		"%v of a pointer": fmt.Sprintf("%v", c), "%+v of a pointer": fmt.Sprintf("%+v", c), "slog": logged.String(),
	} {
		for _, secret := range []string{"hunter2", "s3cret", key(1), string(c.EncryptionKeys[0])} {
			if strings.Contains(out, secret) {
				t.Errorf("%s shows a secret: %s", name, out)
			}
		}
		if !strings.Contains(out, "https://id.example.com") {
			t.Errorf("%s does not show the settings: %s", name, out)
		}
	}
}

func TestSnapshotKeepsURLsWithoutCredentialsAsTheyAre(t *testing.T) {
	c := mustLoad(t, config.Sources{Env: prodEnv("IDENTITYD_DATABASE_URL=postgres://db:5432/identityd",
		"IDENTITYD_SMTP_URL=smtp://localhost:1025/?tls=none")})
	snap := c.Snapshot()
	if snap["database_url"] != "postgres://db:5432/identityd" || snap["smtp_url"] != "smtp://localhost:1025/?tls=none" {
		t.Errorf("database_url %q, smtp_url %q: want them as configured", snap["database_url"], snap["smtp_url"])
	}
}
