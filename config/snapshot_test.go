package config_test

import (
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
