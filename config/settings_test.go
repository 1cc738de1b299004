package config_test

import (
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/identityd/identityd/config"
)

func TestSettingsAreTheDocumentedListInOrder(t *testing.T) {
	want := [][2]string{
		{"data_dir", "`./data`"},
		{"database_url", "`sqlite:<data_dir>/identityd.db`"},
		{"database_connect_timeout", "`30s`"},
		{"database_max_conns", "`20`"},
		{"migrate_on_start", "`true`"},
		{"public_addr", "`127.0.0.1:8080`"},
		{"admin_addr", "`127.0.0.1:8081`"},
		{"issuer", "dev: `http://` + public_addr"},
		{"encryption_keys", "none"},
		{"log_level", "`info`"},
		{"log_format", "`json` (`text` in dev)"},
		{"log_file", "stderr"},
		{"log_file_max_size_mb", "`100`"},
		{"log_file_max_backups", "`10`"},
		{"log_file_max_age_days", "`30`"},
		{"http_body_limit", "`1MiB`"},
		{"http_read_timeout", "`30s`"},
		{"http_write_timeout", "`60s`"},
		{"http_idle_timeout", "`120s`"},
		{"shutdown_timeout", "`30s`"},
		{"cors_allowed_origins", "none (CORS off)"},
		{"rate_limit_requests", "`1200`"},
		{"rate_limit_window", "`1m`"},
		{"trusted_proxies", "none"},
		{"jobs_max_workers", "`10`"},
		{"audit_checkpoint_interval", "`1m`"},
		{"audit_retention", "`0`"},
		{"webhook_timeout", "`10s`"},
		{"webhook_max_attempts", "`10`"},
		{"webhook_allow_private_networks", "`false`"},
		{"product_name", "`identityd`"},
		{"smtp_url", "none"},
		{"smtp_allow_plaintext", "`false`"},
		{"mail_from", "`no-reply@` and the issuer's host"},
		{"email_verification_ttl", "`24h`"},
		{"password_reset_ttl", "`1h`"},
		{"password_min_length", "`8`"},
		{"password_max_bytes", "`1024`"},
		{"password_min_score", "`2`"},
		{"password_hash_memory", "`19MiB`"},
		{"password_hash_iterations", "`2`"},
		{"password_hash_parallelism", "`1`"},
		{"password_hash_memory_budget", "`0`"},
		{"login_backoff_after", "`5`"},
		{"login_backoff_base", "`1s`"},
		{"login_backoff_max", "`15m`"},
		{"login_lockout_after", "`20`"},
		{"login_network_max_failures", "`100`"},
		{"login_network_window", "`15m`"},
		{"registration_enabled", "`false`"},
		{"session_idle_timeout", "`30m`"},
		{"session_absolute_timeout", "`12h`"},
		{"session_remember_for", "`720h`"},
		{"session_remember_idle", "`168h`"},
		{"oauth_access_token_lifetime", "`1h`"},
		{"oauth_refresh_token_lifetime", "`720h`"},
		{"oauth_id_token_lifetime", "`1h`"},
		{"oauth_code_lifetime", "`5m`"},
		{"oauth_access_token_alg", "`ES256`"},
		{"oauth_require_pkce", "`true`"},
		{"oauth_refresh_grace", "`0s`"},
		{"oauth_refresh_grace_uses", "`1`"},
		{"oauth_allow_private_networks", "`false`"},
		{"signing_key_rotation", "`2160h`"},
		{"signing_key_publish_lead", "`1h`"},
		{"ui_templates_dir", "none"},
		{"ui_logo_file", "none"},
		{"ui_post_limit", "`30`"},
		{"user_import_max_bytes", "`256MiB`"},
	}
	var got [][2]string
	for _, s := range config.Settings() {
		got = append(got, [2]string{s.Key, s.Default})
		if env := "IDENTITYD_" + strings.ToUpper(s.Key); s.Env != env {
			t.Errorf("%s: Env = %q, want %q", s.Key, s.Env, env)
		}
		if secret := s.Key == "database_url" || s.Key == "encryption_keys" || s.Key == "smtp_url"; s.Secret != secret {
			t.Errorf("%s: Secret = %v, want %v", s.Key, s.Secret, secret)
		}
		if s.Description == "" || !strings.HasSuffix(s.Description, ".") {
			t.Errorf("%s: Description %q should be a sentence", s.Key, s.Description)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("settings:\ngot  %q\nwant %q", got, want)
	}
}

func TestEveryPlainDocumentedDefaultIsWhatLoadUses(t *testing.T) {
	// Setting every plain default explicitly must change nothing, so the documentation
	// cannot drift from the code.
	plain := regexp.MustCompile("^`([^`<]*)`$")
	var env []string
	for _, s := range config.Settings() {
		if m := plain.FindStringSubmatch(s.Default); m != nil {
			env = append(env, s.Env+"="+m[1])
		}
	}
	if len(env) < 15 {
		t.Fatalf("only %d plain defaults found: %q", len(env), env)
	}
	for _, dev := range []bool{false, true} {
		implicit := mustLoad(t, config.Sources{Dev: dev, Env: prodEnv()})
		explicit := mustLoad(t, config.Sources{Dev: dev, Env: prodEnv(env...)})
		if !reflect.DeepEqual(implicit, explicit) {
			t.Errorf("dev=%v: defaults differ from their documentation:\nloaded     %+v\ndocumented %+v", dev, *implicit, *explicit)
		}
	}
}

func TestMarkdownTableHasARowForEverySettingInOrder(t *testing.T) {
	table := config.MarkdownTable()
	lines := strings.Split(strings.TrimSuffix(table, "\n"), "\n")
	settings := config.Settings()
	if len(lines) != 2+len(settings) {
		t.Fatalf("table has %d lines, want a header, a rule and %d rows:\n%s", len(lines), len(settings), table)
	}
	if lines[0] != "| Setting | Environment variable | Default | Description |" || lines[1] != "|---|---|---|---|" {
		t.Errorf("header:\n%s\n%s", lines[0], lines[1])
	}
	for i, s := range settings {
		row := lines[2+i]
		env := "`" + s.Env + "`"
		if s.Secret {
			env += " or `" + s.Env + "_FILE`"
		}
		want := "| `" + s.Key + "` | " + env + " | " + s.Default + " | " + s.Description + " |"
		if row != want {
			t.Errorf("row %d:\ngot  %s\nwant %s", i, row, want)
		}
	}
}
