package config

import (
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Snapshot renders the configuration as text for the audit log, by setting key, with
// nothing secret in it: the database URL loses its password, and encryption_keys is left
// out (the server records the keys' ids instead). Comparing two snapshots tells which
// settings changed between two starts.
func (c *Config) Snapshot() map[string]string {
	join := func(ss []string) string { return strings.Join(ss, ",") }
	proxies := make([]string, 0, len(c.TrustedProxies))
	for _, p := range c.TrustedProxies {
		proxies = append(proxies, p.String())
	}
	return map[string]string{
		"data_dir":                       c.DataDir,
		"database_url":                   withoutPassword(c.DatabaseURL),
		"database_connect_timeout":       c.DatabaseConnectTimeout.String(),
		"database_max_conns":             strconv.Itoa(c.DatabaseMaxConns),
		"migrate_on_start":               strconv.FormatBool(c.MigrateOnStart),
		"public_addr":                    c.PublicAddr,
		"admin_addr":                     c.AdminAddr,
		"issuer":                         c.Issuer,
		"log_level":                      strings.ToLower(c.LogLevel.String()),
		"log_format":                     c.LogFormat,
		"log_file":                       c.LogFile,
		"log_file_max_size_mb":           strconv.Itoa(c.LogFileMaxSizeMB),
		"log_file_max_backups":           strconv.Itoa(c.LogFileMaxBackups),
		"log_file_max_age_days":          strconv.Itoa(c.LogFileMaxAgeDays),
		"http_body_limit":                strconv.FormatInt(c.HTTPBodyLimit, 10),
		"http_read_timeout":              c.HTTPReadTimeout.String(),
		"http_write_timeout":             c.HTTPWriteTimeout.String(),
		"http_idle_timeout":              c.HTTPIdleTimeout.String(),
		"shutdown_timeout":               c.ShutdownTimeout.String(),
		"cors_allowed_origins":           join(c.CORSAllowedOrigins),
		"rate_limit_requests":            strconv.Itoa(c.RateLimitRequests),
		"rate_limit_window":              c.RateLimitWindow.String(),
		"trusted_proxies":                join(proxies),
		"jobs_max_workers":               strconv.Itoa(c.JobsMaxWorkers),
		"audit_checkpoint_interval":      c.AuditCheckpointInterval.String(),
		"audit_retention":                c.AuditRetention.String(),
		"webhook_timeout":                c.WebhookTimeout.String(),
		"webhook_max_attempts":           strconv.Itoa(c.WebhookMaxAttempts),
		"webhook_allow_private_networks": strconv.FormatBool(c.WebhookAllowPrivateNetworks),
		"product_name":                   c.ProductName,
		"smtp_url":                       withoutPassword(c.SMTPURL),
		"smtp_allow_plaintext":           strconv.FormatBool(c.SMTPAllowPlaintext),
		"mail_from":                      c.MailFrom,
		"email_verification_ttl":         c.EmailVerificationTTL.String(),
		"password_reset_ttl":             c.PasswordResetTTL.String(),
		"password_min_length":            strconv.Itoa(c.PasswordMinLength),
		"password_max_bytes":             strconv.Itoa(c.PasswordMaxBytes),
		"password_min_score":             strconv.Itoa(c.PasswordMinScore),
		"password_hash_memory":           strconv.FormatInt(c.PasswordHashMemory, 10),
		"password_hash_iterations":       strconv.Itoa(c.PasswordHashIterations),
		"password_hash_parallelism":      strconv.Itoa(c.PasswordHashParallelism),
		"password_hash_memory_budget":    strconv.FormatInt(c.PasswordHashMemoryBudget, 10),
		"login_backoff_after":            strconv.Itoa(c.LoginBackoffAfter),
		"login_backoff_base":             c.LoginBackoffBase.String(),
		"login_backoff_max":              c.LoginBackoffMax.String(),
		"login_lockout_after":            strconv.Itoa(c.LoginLockoutAfter),
		"login_network_max_failures":     strconv.Itoa(c.LoginNetworkMaxFailures),
		"login_network_window":           c.LoginNetworkWindow.String(),
		"registration_enabled":           strconv.FormatBool(c.RegistrationEnabled),
		"session_idle_timeout":           c.SessionIdleTimeout.String(),
		"session_absolute_timeout":       c.SessionAbsoluteTimeout.String(),
		"session_remember_for":           c.SessionRememberFor.String(),
		"session_remember_idle":          c.SessionRememberIdle.String(),
		"oauth_access_token_lifetime":    c.OAuthAccessTokenLifetime.String(),
		"oauth_refresh_token_lifetime":   c.OAuthRefreshTokenLifetime.String(),
		"oauth_id_token_lifetime":        c.OAuthIDTokenLifetime.String(),
		"oauth_code_lifetime":            c.OAuthCodeLifetime.String(),
		"oauth_access_token_alg":         c.OAuthAccessTokenAlg,
		"oauth_require_pkce":             strconv.FormatBool(c.OAuthRequirePKCE),
		"oauth_refresh_grace":            c.OAuthRefreshGrace.String(),
		"oauth_refresh_grace_uses":       strconv.Itoa(c.OAuthRefreshGraceUses),
		"oauth_allow_private_networks":   strconv.FormatBool(c.OAuthAllowPrivateNetworks),
		"signing_key_rotation":           c.SigningKeyRotation.String(),
		"signing_key_publish_lead":       c.SigningKeyPublishLead.String(),
		"ui_templates_dir":               c.UITemplatesDir,
		"ui_logo_file":                   c.UILogoFile,
		"ui_post_limit":                  strconv.Itoa(c.UIPostLimit),
		"user_import_max_bytes":          strconv.FormatInt(c.UserImportMaxBytes, 10),
		"dev":                            strconv.FormatBool(c.Dev),
	}
}

// withoutPassword drops the password from a PostgreSQL or SMTP URL; an SQLite URL has
// none.
func withoutPassword(raw string) string {
	if raw == "" {
		return ""
	}
	if strings.HasPrefix(raw, "sqlite:") {
		return raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "[unparsable]"
	}
	if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	return u.String()
}

// LogValue shows the configuration to slog as Snapshot does, so that logging a Config,
// by design or by accident, never writes a secret.
func (c Config) LogValue() slog.Value {
	snap := c.Snapshot()
	attrs := make([]slog.Attr, 0, len(snap))
	for _, k := range slices.Sorted(maps.Keys(snap)) {
		attrs = append(attrs, slog.String(k, snap[k]))
	}
	return slog.GroupValue(attrs...)
}

// Format prints the configuration as Snapshot does, whatever the verb (%v, %+v, %#v,
// %s), so that a Config formatted into an error or a debug line holds no secret.
func (c Config) Format(f fmt.State, _ rune) {
	snap := c.Snapshot()
	parts := make([]string, 0, len(snap))
	for _, k := range slices.Sorted(maps.Keys(snap)) {
		parts = append(parts, k+"="+strconv.Quote(snap[k]))
	}
	_, _ = io.WriteString(f, "{"+strings.Join(parts, " ")+"}")
}
