// Package config is identityd's typed configuration. Every setting comes from, in
// rising precedence, its default, a YAML file and the environment (IDENTITYD_<KEY>, and
// IDENTITYD_<KEY>_FILE for secrets).
//
// Load works in stages that each do one thing: the sources are read into text, every
// value is parsed by its setting's parser whatever its source, defaults fill what is
// left, and validators check what involves several settings without changing anything.
// Every stage runs even when an earlier one found problems, so an operator sees every
// problem at once, each with the key, value, source, reason and fix.
package config

import (
	"log/slog"
	"net/netip"
	"time"
)

// Config is identityd's configuration, parsed and validated. The settings table
// (Settings, and the README) documents each field's key, default and rules.
type Config struct {
	// DataDir (data_dir) holds the embedded database and the secrets dev mode generates.
	DataDir string
	// DatabaseURL (database_url) is sqlite:PATH or postgres://…; secret, never log it.
	DatabaseURL string
	// DatabaseConnectTimeout (database_connect_timeout) bounds retries of an
	// unreachable database at startup; zero means a single attempt.
	DatabaseConnectTimeout time.Duration
	// DatabaseMaxConns (database_max_conns) caps open database connections.
	DatabaseMaxConns int
	// MigrateOnStart (migrate_on_start) makes serve apply pending migrations.
	MigrateOnStart bool

	// PublicAddr (public_addr) is the host:port of the public listener.
	PublicAddr string
	// AdminAddr (admin_addr) is the host:port of the admin listener; equal to PublicAddr
	// means one listener serves both.
	AdminAddr string
	// Issuer (issuer) is the OpenID Connect issuer URL, without a trailing slash.
	Issuer string
	// EncryptionKeys (encryption_keys) are 32-byte keys for secrets at rest; the first
	// encrypts, all decrypt. Secret, never log them. Empty only in dev.
	EncryptionKeys [][]byte

	// LogLevel (log_level) is the least severe level logged.
	LogLevel slog.Level
	// LogFormat (log_format) is "json" or "text".
	LogFormat string
	// LogFile (log_file) is the rotated log file; empty means stderr.
	LogFile string
	// LogFileMaxSizeMB (log_file_max_size_mb) is the size at which LogFile rotates.
	LogFileMaxSizeMB int
	// LogFileMaxBackups (log_file_max_backups) is how many rotated files to keep.
	LogFileMaxBackups int
	// LogFileMaxAgeDays (log_file_max_age_days) is how long to keep rotated files.
	LogFileMaxAgeDays int

	// HTTPBodyLimit (http_body_limit) is the largest request body in bytes.
	HTTPBodyLimit int64
	// HTTPReadTimeout (http_read_timeout) bounds reading a request.
	HTTPReadTimeout time.Duration
	// HTTPWriteTimeout (http_write_timeout) bounds writing a response.
	HTTPWriteTimeout time.Duration
	// HTTPIdleTimeout (http_idle_timeout) bounds an idle keep-alive connection.
	HTTPIdleTimeout time.Duration
	// ShutdownTimeout (shutdown_timeout) bounds draining in-flight work at shutdown.
	ShutdownTimeout time.Duration

	// CORSAllowedOrigins (cors_allowed_origins) are origins as browsers send them
	// (lower case, no default port); empty turns CORS off.
	CORSAllowedOrigins []string
	// RateLimitRequests (rate_limit_requests) is requests per client IP per
	// RateLimitWindow; zero turns rate limiting off.
	RateLimitRequests int
	// RateLimitWindow (rate_limit_window) is the window RateLimitRequests counts over.
	RateLimitWindow time.Duration
	// TrustedProxies (trusted_proxies) are the peers whose X-Forwarded-For is believed;
	// a single address is a /32 or /128.
	TrustedProxies []netip.Prefix

	// JobsMaxWorkers (jobs_max_workers) caps background jobs running at once.
	JobsMaxWorkers int

	// AuditCheckpointInterval (audit_checkpoint_interval) is how often the audit chain
	// is sealed into a signed checkpoint.
	AuditCheckpointInterval time.Duration
	// AuditRetention (audit_retention) is how long audit events are kept; zero keeps
	// them forever.
	AuditRetention time.Duration
	// WebhookTimeout (webhook_timeout) bounds one delivery attempt.
	WebhookTimeout time.Duration
	// WebhookMaxAttempts (webhook_max_attempts) is how many attempts a delivery gets.
	WebhookMaxAttempts int
	// WebhookAllowPrivateNetworks (webhook_allow_private_networks) lets webhooks reach
	// non-public addresses.
	WebhookAllowPrivateNetworks bool

	// ProductName (product_name) is the name people see in emails and pages.
	ProductName string
	// SMTPURL (smtp_url) is the SMTP server; empty sends no email (dev: logs it).
	// Secret, never log it.
	SMTPURL string
	// SMTPAllowPlaintext (smtp_allow_plaintext) allows tls=none off loopback.
	SMTPAllowPlaintext bool
	// MailFrom (mail_from) is the From address of email.
	MailFrom string
	// EmailVerificationTTL (email_verification_ttl) is how long a verification link works.
	EmailVerificationTTL time.Duration
	// PasswordResetTTL (password_reset_ttl) is how long a reset link works.
	PasswordResetTTL time.Duration

	// PasswordMinLength (password_min_length) is the fewest code points of a new password.
	PasswordMinLength int
	// PasswordMaxBytes (password_max_bytes) is the longest password in bytes.
	PasswordMaxBytes int
	// PasswordMinScore (password_min_score) is the least zxcvbn score of a new password.
	PasswordMinScore int
	// PasswordHashMemory (password_hash_memory) is argon2id's memory per hash, in bytes.
	PasswordHashMemory int64
	// PasswordHashIterations (password_hash_iterations) is argon2id's time cost.
	PasswordHashIterations int
	// PasswordHashParallelism (password_hash_parallelism) is argon2id's lanes.
	PasswordHashParallelism int
	// PasswordHashMemoryBudget (password_hash_memory_budget) bounds the memory of all
	// hashes in flight, in bytes; zero means two hashes per CPU.
	PasswordHashMemoryBudget int64

	// LoginBackoffAfter (login_backoff_after) is the failures before attempts must wait.
	LoginBackoffAfter int
	// LoginBackoffBase (login_backoff_base) is the first wait; it doubles per failure.
	LoginBackoffBase time.Duration
	// LoginBackoffMax (login_backoff_max) caps the wait.
	LoginBackoffMax time.Duration
	// LoginLockoutAfter (login_lockout_after) is the failures that lock an account;
	// zero never locks.
	LoginLockoutAfter int
	// LoginNetworkMaxFailures (login_network_max_failures) is the failures one network
	// may have per LoginNetworkWindow; zero turns the limit off.
	LoginNetworkMaxFailures int
	// LoginNetworkWindow (login_network_window) is the window it counts over.
	LoginNetworkWindow time.Duration

	// RegistrationEnabled (registration_enabled) opens /register.
	RegistrationEnabled bool
	// SessionIdleTimeout (session_idle_timeout) ends an unused session.
	SessionIdleTimeout time.Duration
	// SessionAbsoluteTimeout (session_absolute_timeout) ends a session after sign-in.
	SessionAbsoluteTimeout time.Duration
	// SessionRememberFor (session_remember_for) is the absolute lifetime with "remember me".
	SessionRememberFor time.Duration
	// SessionRememberIdle (session_remember_idle) is the idle timeout with "remember me".
	SessionRememberIdle time.Duration
	// OAuthAccessTokenLifetime (oauth_access_token_lifetime) is the default lifetime of
	// access tokens; clients may set their own.
	OAuthAccessTokenLifetime time.Duration
	// OAuthRefreshTokenLifetime (oauth_refresh_token_lifetime) is the default lifetime of
	// refresh tokens.
	OAuthRefreshTokenLifetime time.Duration
	// OAuthIDTokenLifetime (oauth_id_token_lifetime) is the default lifetime of ID tokens.
	OAuthIDTokenLifetime time.Duration
	// OAuthCodeLifetime (oauth_code_lifetime) is how long an authorization code may wait
	// for its exchange.
	OAuthCodeLifetime time.Duration
	// OAuthAccessTokenAlg (oauth_access_token_alg) signs JWT access tokens: ES256 or RS256.
	OAuthAccessTokenAlg string
	// OAuthRequirePKCE (oauth_require_pkce) requires PKCE of confidential clients too.
	OAuthRequirePKCE bool
	// OAuthRefreshGrace (oauth_refresh_grace) lets a just-rotated refresh token be used
	// again for this long; zero turns the grace off.
	OAuthRefreshGrace time.Duration
	// OAuthRefreshGraceUses (oauth_refresh_grace_uses) bounds the uses within the grace.
	OAuthRefreshGraceUses int
	// OAuthAllowPrivateNetworks (oauth_allow_private_networks) lets identityd reach
	// clients' key sets and back-channel logout URIs on loopback and private addresses.
	OAuthAllowPrivateNetworks bool
	// SigningKeyRotation (signing_key_rotation) is how long a signing key signs before
	// the next replaces it.
	SigningKeyRotation time.Duration
	// SigningKeyPublishLead (signing_key_publish_lead) is how long relying parties may
	// cache the JWKS; a new key is published at least this long before it signs.
	SigningKeyPublishLead time.Duration

	// UITemplatesDir (ui_templates_dir) holds templates overriding the built-in ones.
	UITemplatesDir string
	// UILogoFile (ui_logo_file) is the logo image of the pages.
	UILogoFile string
	// UIPostLimit (ui_post_limit) is form submissions per client address per minute.
	UIPostLimit int

	// UserImportMaxBytes (user_import_max_bytes) caps a bulk import through the API.
	UserImportMaxBytes int64

	// Dev is development mode, from Sources.Dev: an http issuer on public_addr, text
	// logs and no encryption key needed.
	Dev bool
}

// Sources says where Load reads settings from.
type Sources struct {
	// File is the path of a YAML file of settings, or "" for none.
	File string
	// Env holds "KEY=value" pairs, as from os.Environ; passed in rather than read so
	// that tests and tools control it.
	Env []string
	// Dev selects development mode.
	Dev bool
	// Serving says the configuration is for a server (serve, config validate), which
	// needs an issuer and encryption keys. Operator commands that only reach the
	// database (migrate, admin, jobs) load without it, so they work with just a
	// database URL.
	Serving bool
}

// sourceDefault is the Source of values no source set.
const sourceDefault = "default"

// origin is where a setting's value came from, and whether that value failed to parse.
// Validators use it to name sources and to skip settings already reported, so one
// mistake is not reported twice.
type origin struct {
	source string
	failed bool
}

// provenance is what the validators know about the values beyond the Config itself.
type provenance struct {
	origins map[string]origin
	// fileFailed is set when the YAML file could not be read in full (missing, not
	// YAML, a key that is not text): a setting that seems missing may then be in it, so
	// "required" problems would mislead.
	fileFailed bool
	// serving is Sources.Serving: only a server requires the issuer and keys.
	serving bool
}

// Load reads the configuration from src: defaults, then the file, then the
// environment, each overriding the last. Values from every source are checked, even
// those a higher layer overrides, so a file never hides a latent mistake. On any
// problem it returns nil and a Problems error holding all of them.
func Load(src Sources) (*Config, error) {
	fileInputs, problems := fromFile(src.File)
	envInputs, envProblems := fromEnv(src.Env)
	problems = append(problems, envProblems...)

	c := &Config{Dev: src.Dev}
	prov := provenance{origins: make(map[string]origin), fileFailed: hasFileProblem(problems), serving: src.Serving}
	problems = append(problems, parseLayers(c, prov.origins, fileInputs, envInputs)...)
	problems = append(problems, applyDefaults(c, prov.origins)...)
	problems = append(problems, validate(c, prov)...)

	if len(problems) > 0 {
		sortProblems(problems)
		return nil, problems
	}
	return c, nil
}

func hasFileProblem(ps Problems) bool {
	for _, p := range ps {
		if p.Key == configFileKey {
			return true
		}
	}
	return false
}

// parseLayers parses each setting from each layer, lowest first, so the last layer that
// sets a setting wins, and records where every setting's value came from.
func parseLayers(c *Config, origins map[string]origin, layers ...map[string]input) Problems {
	var ps Problems
	for i := range settings {
		s := &settings[i]
		for _, layer := range layers {
			in, ok := layer[s.key]
			if !ok {
				continue
			}
			var rs []refusal
			if in.broken != nil {
				rs = []refusal{*in.broken}
			} else {
				rs = s.parse(c, in)
			}
			origins[s.key] = origin{source: in.source, failed: len(rs) > 0}
			for _, r := range rs {
				ps = append(ps, problemOf(s, in.source, r))
			}
		}
	}
	return ps
}

// problemOf turns a refusal of a value of s into a Problem, dropping secret values so
// they never travel further than the parser.
func problemOf(s *setting, source string, r refusal) Problem {
	value := r.value
	if s.secret && value != "" {
		value = redacted
	}
	return Problem{Key: s.key, Source: source, Value: value, Why: r.why, Fix: r.fix}
}
