package config

import (
	"log/slog"
	"net/netip"
	"strings"
	"time"
)

// envPrefix starts the environment variable of every setting.
const envPrefix = "IDENTITYD_"

// setting is one row of the settings table: what users read about it, how its text
// becomes a typed Config field, and the plain default, if any.
type setting struct {
	key         string
	description string
	// def is the default as the text a user would write, run through parse like any
	// other value so a default can never bypass the rules. Empty means no plain
	// default; defaults that depend on other settings or on dev mode live in
	// derivedDefault.
	def string
	// doc replaces "`def`" in the documentation when the default is derived or absent.
	doc    string
	secret bool
	// list settings take a YAML sequence or a comma-separated string.
	list  bool
	parse parseFunc
}

// env is the environment variable that sets s.
func (s *setting) env() string { return envPrefix + strings.ToUpper(s.key) }

// defaultDoc is the default as shown to users.
func (s *setting) defaultDoc() string {
	if s.doc != "" {
		return s.doc
	}
	return "`" + s.def + "`"
}

// settings is the one table every part of the package reads: sources look names up in
// it, problems are ordered by it, and the README is generated from it. Its order is
// the order users see.
var settings = [...]setting{
	{
		key:         "data_dir",
		def:         "./data",
		description: "Directory for the embedded SQLite database and the secrets dev mode generates.",
		parse:       pathValue(func(c *Config, v string) { c.DataDir = v }),
	},
	{
		key:    "database_url",
		doc:    "`sqlite:<data_dir>/identityd.db`",
		secret: true,
		description: "Database to use: `sqlite:PATH` for the embedded database, or " +
			"`postgres://user:password@host:5432/dbname` (or `postgresql://`) for PostgreSQL. " +
			"Secret: never printed, as it may hold a password.",
		parse: databaseURLValue(func(c *Config, v string) { c.DatabaseURL = v }),
	},
	{
		key: "database_connect_timeout",
		def: "30s",
		description: "How long startup keeps retrying a database it cannot reach yet. " +
			"A duration such as `30s`; `0` means a single attempt; at most `10m`.",
		parse: durationValue(0, false, 10*time.Minute, func(c *Config, v time.Duration) { c.DatabaseConnectTimeout = v }),
	},
	{
		key:         "database_max_conns",
		def:         "20",
		description: "Most database connections open at once (on SQLite, the read pool beside the one writer). 4 to 1000: on PostgreSQL the job queue's listener and the migration lock each hold one. Each server also keeps four connections of its own, outside this pool, that follow other replicas' changes (audit seals, signing keys, clients, token revocations).",
		parse:       intValue(4, 1000, func(c *Config, v int) { c.DatabaseMaxConns = v }),
	},
	{
		key:         "migrate_on_start",
		def:         "true",
		description: "Apply pending database migrations when `serve` starts. `true` or `false`.",
		parse:       boolValue(func(c *Config, v bool) { c.MigrateOnStart = v }),
	},
	{
		key: "public_addr",
		def: "127.0.0.1:8080",
		description: "Listen address (`host:port`) of the OAuth 2 and OpenID Connect endpoints, " +
			"sign-in pages and self-service. An empty host (`:8080`) listens on every interface.",
		parse: addrValue(func(c *Config, v string) { c.PublicAddr = v }),
	},
	{
		key: "admin_addr",
		def: "127.0.0.1:8081",
		description: "Listen address (`host:port`) of the management API, admin UI and metrics. " +
			"May equal `public_addr` to serve both on one listener.",
		parse: addrValue(func(c *Config, v string) { c.AdminAddr = v }),
	},
	{
		key: "issuer",
		doc: "dev: `http://` + public_addr",
		description: "Public URL of identityd, the OpenID Connect issuer: `https://`, or `http://` " +
			"only for a loopback host (`localhost`, `127.0.0.0/8`, `::1`); no query, fragment, " +
			"user info or trailing slash. Required outside dev. In dev it defaults to " +
			"`http://` + `public_addr`, with an empty, `0.0.0.0` or `::` host replaced by `127.0.0.1`.",
		parse: textValue(func(c *Config, v string) { c.Issuer = v }),
	},
	{
		key:    "encryption_keys",
		doc:    "none",
		secret: true,
		list:   true,
		description: "Keys that encrypt secrets at rest, comma-separated: each the standard base64 " +
			"of 32 random bytes (`openssl rand -base64 32`). The first encrypts; the others " +
			"still decrypt, for rotation. Required outside dev. Secret: never printed.",
		parse: encryptionKeysValue(func(c *Config, v [][]byte) { c.EncryptionKeys = v }),
	},
	{
		key:         "log_level",
		def:         "info",
		description: "`debug`, `info`, `warn` or `error`, in any case.",
		parse:       logLevelValue(func(c *Config, v slog.Level) { c.LogLevel = v }),
	},
	{
		key:         "log_format",
		def:         "json",
		doc:         "`json` (`text` in dev)",
		description: "`json` or `text`.",
		parse:       logFormatValue(func(c *Config, v string) { c.LogFormat = v }),
	},
	{
		key:         "log_file",
		doc:         "stderr",
		description: "Write logs to this file, rotated by size, instead of to stderr.",
		parse:       pathValue(func(c *Config, v string) { c.LogFile = v }),
	},
	{
		key:         "log_file_max_size_mb",
		def:         "100",
		description: "Size in megabytes at which the log file is rotated. 1 to 100000.",
		parse:       intValue(1, 100000, func(c *Config, v int) { c.LogFileMaxSizeMB = v }),
	},
	{
		key:         "log_file_max_backups",
		def:         "10",
		description: "Rotated log files to keep; `0` keeps them all. 0 to 10000.",
		parse:       intValue(0, 10000, func(c *Config, v int) { c.LogFileMaxBackups = v }),
	},
	{
		key:         "log_file_max_age_days",
		def:         "30",
		description: "Days to keep rotated log files; `0` keeps them whatever their age. 0 to 36500.",
		parse:       intValue(0, 36500, func(c *Config, v int) { c.LogFileMaxAgeDays = v }),
	},
	{
		key: "http_body_limit",
		def: "1MiB",
		description: "Largest request body accepted: bytes (`1048576`) or a whole number with a unit " +
			"(`KiB`, `MiB`, `GiB`, `KB`, `MB`, `GB`). 1KiB to 1GiB.",
		parse: sizeValue(1<<10, 1<<30, func(c *Config, v int64) { c.HTTPBodyLimit = v }),
	},
	{
		key:         "http_read_timeout",
		def:         "30s",
		description: "Time allowed to read a whole request, body included. Above 0, at most `1h`.",
		parse:       durationValue(0, true, time.Hour, func(c *Config, v time.Duration) { c.HTTPReadTimeout = v }),
	},
	{
		key:         "http_write_timeout",
		def:         "60s",
		description: "Time allowed to write a response. Above 0, at most `1h`.",
		parse:       durationValue(0, true, time.Hour, func(c *Config, v time.Duration) { c.HTTPWriteTimeout = v }),
	},
	{
		key:         "http_idle_timeout",
		def:         "120s",
		description: "How long an idle keep-alive connection stays open. Above 0, at most `1h`.",
		parse:       durationValue(0, true, time.Hour, func(c *Config, v time.Duration) { c.HTTPIdleTimeout = v }),
	},
	{
		key:         "shutdown_timeout",
		def:         "30s",
		description: "How long shutdown waits for in-flight requests and jobs. Above 0, at most `10m`.",
		parse:       durationValue(0, true, 10*time.Minute, func(c *Config, v time.Duration) { c.ShutdownTimeout = v }),
	},
	{
		key:  "cors_allowed_origins",
		doc:  "none (CORS off)",
		list: true,
		description: "Origins whose browser pages may call the API, comma-separated, each exactly " +
			"`scheme://host[:port]` with scheme `http` or `https`. `*` is refused. Empty turns CORS off.",
		parse: originsValue(func(c *Config, v []string) { c.CORSAllowedOrigins = v }),
	},
	{
		key: "rate_limit_requests",
		def: "1200",
		description: "Requests allowed from one client IP in each `rate_limit_window`; " +
			"`0` turns rate limiting off. At most 1000000.",
		parse: intValue(0, 1_000_000, func(c *Config, v int) { c.RateLimitRequests = v }),
	},
	{
		key:         "rate_limit_window",
		def:         "1m",
		description: "The window `rate_limit_requests` counts over. `1s` to `1h`.",
		parse:       durationValue(time.Second, false, time.Hour, func(c *Config, v time.Duration) { c.RateLimitWindow = v }),
	},
	{
		key:  "trusted_proxies",
		doc:  "none",
		list: true,
		description: "Proxies whose `X-Forwarded-For` header is believed, comma-separated IPs or " +
			"CIDRs (`10.0.0.0/8`). Empty believes no proxy: a client is the address it connects from.",
		parse: proxiesValue(func(c *Config, v []netip.Prefix) { c.TrustedProxies = v }),
	},
	{
		key:         "jobs_max_workers",
		def:         "10",
		description: "Background jobs run at the same time. 1 to 1000.",
		parse:       intValue(1, 1000, func(c *Config, v int) { c.JobsMaxWorkers = v }),
	},
	{
		key:         "audit_checkpoint_interval",
		def:         "1m",
		description: "How often the audit log's chain is sealed into a signed checkpoint while events arrive. `1s` to `24h`.",
		parse:       durationValue(time.Second, false, 24*time.Hour, func(c *Config, v time.Duration) { c.AuditCheckpointInterval = v }),
	},
	{
		key:         "audit_retention",
		def:         "0",
		description: "How long audit events are kept; older ones are pruned behind a checkpoint, daily. `0` keeps them forever; otherwise at least `24h`.",
		parse:       durationValue(0, false, 100*365*24*time.Hour, func(c *Config, v time.Duration) { c.AuditRetention = v }),
	},
	{
		key:         "webhook_timeout",
		def:         "10s",
		description: "How long one webhook delivery attempt may take. `1s` to `60s`.",
		parse:       durationValue(time.Second, false, time.Minute, func(c *Config, v time.Duration) { c.WebhookTimeout = v }),
	},
	{
		key:         "webhook_max_attempts",
		def:         "10",
		description: "Attempts per webhook delivery, with exponential backoff between them, before it is marked failed. 1 to 50.",
		parse:       intValue(1, 50, func(c *Config, v int) { c.WebhookMaxAttempts = v }),
	},
	{
		key:         "webhook_allow_private_networks",
		def:         "false",
		description: "Allow webhooks to loopback, private and link-local addresses. Off, so that a webhook cannot reach services inside your network. `true` or `false`.",
		parse:       boolValue(func(c *Config, v bool) { c.WebhookAllowPrivateNetworks = v }),
	},
	{
		key:         "product_name",
		def:         "identityd",
		description: "The name people see in emails and on the sign-in and account pages. Up to 100 printable characters.",
		parse:       productNameValue(func(c *Config, v string) { c.ProductName = v }),
	},
	{
		key:    "smtp_url",
		doc:    "none",
		secret: true,
		description: "SMTP server for email (verification, password reset, lockout notices): " +
			"`smtp://user:password@host:587` (STARTTLS required, never sent in plaintext), " +
			"`smtps://user:password@host:465` (TLS from the start), or `smtp://localhost:1025/?tls=none` " +
			"for a relay or mail catcher on loopback. Empty: in dev mode messages are written to the log; " +
			"otherwise no email is sent and the features that need it answer that email is not configured. " +
			"Secret: never printed, as it may hold a password.",
		parse: smtpURLValue(func(c *Config, v string) { c.SMTPURL = v }),
	},
	{
		key: "smtp_allow_plaintext",
		def: "false",
		description: "Allow `tls=none` in smtp_url for a server that is not on loopback, such as a mail catcher in the " +
			"same compose project. Mail then crosses the network readable by anyone on it, reset links included: never " +
			"for a real mail server. `true` or `false`.",
		parse: boolValue(func(c *Config, v bool) { c.SMTPAllowPlaintext = v }),
	},
	{
		key: "mail_from",
		doc: "`no-reply@` and the issuer's host",
		description: "The From address of email, e.g. `no-reply@example.com` or " +
			"`Example ID <no-reply@example.com>`.",
		parse: mailAddressValue(func(c *Config, v string) { c.MailFrom = v }),
	},
	{
		key:         "email_verification_ttl",
		def:         "24h",
		description: "How long an email verification link stays valid. `5m` to `720h` (30 days).",
		parse:       durationValue(5*time.Minute, false, 720*time.Hour, func(c *Config, v time.Duration) { c.EmailVerificationTTL = v }),
	},
	{
		key:         "password_reset_ttl",
		def:         "1h",
		description: "How long a password reset link stays valid. `5m` to `24h`.",
		parse:       durationValue(5*time.Minute, false, 24*time.Hour, func(c *Config, v time.Duration) { c.PasswordResetTTL = v }),
	},
	{
		key: "password_min_length",
		def: "8",
		description: "Fewest characters (Unicode code points) a new password may have. 8 to 64: NIST SP 800-63B " +
			"asks for at least 8, and 15 where a password is the only factor.",
		parse: intValue(8, 64, func(c *Config, v int) { c.PasswordMinLength = v }),
	},
	{
		key:         "password_max_bytes",
		def:         "1024",
		description: "Longest password accepted, in bytes of UTF-8: long passphrases are welcome, unbounded input is not. 64 to 4096.",
		parse:       intValue(64, 4096, func(c *Config, v int) { c.PasswordMaxBytes = v }),
	},
	{
		key: "password_min_score",
		def: "2",
		description: "Least zxcvbn strength score (0 to 4) a new password needs; below it the password is refused as " +
			"too easy to guess. Common passwords and ones containing the user's email or username are refused whatever this says.",
		parse: intValue(0, 4, func(c *Config, v int) { c.PasswordMinScore = v }),
	},
	{
		key: "password_hash_memory",
		def: "19MiB",
		description: "Memory argon2id uses per password hash (OWASP: 19MiB with 2 iterations). " +
			"`identityd passwords calibrate` suggests values for your machine. 7MiB to 4GiB.",
		parse: sizeValue(7<<20, 4<<30, func(c *Config, v int64) { c.PasswordHashMemory = v }),
	},
	{
		key:         "password_hash_iterations",
		def:         "2",
		description: "argon2id passes over its memory per password hash. 1 to 100.",
		parse:       intValue(1, 100, func(c *Config, v int) { c.PasswordHashIterations = v }),
	},
	{
		key:         "password_hash_parallelism",
		def:         "1",
		description: "argon2id lanes (threads) per password hash. 1 to 64.",
		parse:       intValue(1, 64, func(c *Config, v int) { c.PasswordHashParallelism = v }),
	},
	{
		key: "password_hash_memory_budget",
		def: "0",
		description: "Memory all password hashes in flight may use together; further sign-ins wait their turn, so a " +
			"burst cannot exhaust memory. `0` means two hashes per CPU. At most 64GiB.",
		parse: sizeValue(0, 64<<30, func(c *Config, v int64) { c.PasswordHashMemoryBudget = v }),
	},
	{
		key: "login_backoff_after",
		def: "5",
		description: "Consecutive failed sign-ins to an account after which each further attempt must wait, " +
			"twice as long each time (see login_backoff_base and login_backoff_max). 1 to 1000.",
		parse: intValue(1, 1000, func(c *Config, v int) { c.LoginBackoffAfter = v }),
	},
	{
		key:         "login_backoff_base",
		def:         "1s",
		description: "The first wait after login_backoff_after failures. `100ms` to `1h`.",
		parse:       durationValue(100*time.Millisecond, false, time.Hour, func(c *Config, v time.Duration) { c.LoginBackoffBase = v }),
	},
	{
		key:         "login_backoff_max",
		def:         "15m",
		description: "The longest wait between sign-in attempts to one account. `1s` to `24h`.",
		parse:       durationValue(time.Second, false, 24*time.Hour, func(c *Config, v time.Duration) { c.LoginBackoffMax = v }),
	},
	{
		key: "login_lockout_after",
		def: "20",
		description: "Consecutive failed sign-ins after which an account is locked until an admin unlocks it or its " +
			"owner resets the password; the owner gets an email. `0` never locks. Otherwise 2 to 1000, and more than login_backoff_after.",
		parse: intValue(0, 1000, func(c *Config, v int) { c.LoginLockoutAfter = v }),
	},
	{
		key: "login_network_max_failures",
		def: "100",
		description: "Failed sign-ins from one network (an IPv4 address, or an IPv6 /64) within login_network_window " +
			"after which it may not try again until the window ends. `0` turns the limit off. At most 100000.",
		parse: intValue(0, 100000, func(c *Config, v int) { c.LoginNetworkMaxFailures = v }),
	},
	{
		key:         "login_network_window",
		def:         "15m",
		description: "The window login_network_max_failures counts over. `1m` to `24h`.",
		parse:       durationValue(time.Minute, false, 24*time.Hour, func(c *Config, v time.Duration) { c.LoginNetworkWindow = v }),
	},
	{
		key:         "registration_enabled",
		def:         "false",
		description: "Let people create their own accounts at `/register`; they confirm their address by email, so this needs smtp_url outside dev. `true` or `false`.",
		parse:       boolValue(func(c *Config, v bool) { c.RegistrationEnabled = v }),
	},
	{
		key:         "session_idle_timeout",
		def:         "30m",
		description: "A sign-in session unused this long ends. `1m` to `720h`.",
		parse:       durationValue(time.Minute, false, 720*time.Hour, func(c *Config, v time.Duration) { c.SessionIdleTimeout = v }),
	},
	{
		key:         "session_absolute_timeout",
		def:         "12h",
		description: "A sign-in session ends this long after the sign-in, however much it is used. `5m` to `8760h`.",
		parse:       durationValue(5*time.Minute, false, 8760*time.Hour, func(c *Config, v time.Duration) { c.SessionAbsoluteTimeout = v }),
	},
	{
		key:         "session_remember_for",
		def:         "720h",
		description: "With \"Keep me signed in\", how long the session lasts after the sign-in instead of session_absolute_timeout. `5m` to `8760h`.",
		parse:       durationValue(5*time.Minute, false, 8760*time.Hour, func(c *Config, v time.Duration) { c.SessionRememberFor = v }),
	},
	{
		key:         "session_remember_idle",
		def:         "168h",
		description: "With \"Keep me signed in\", how long the session may go unused instead of session_idle_timeout. `1m` to `8760h`.",
		parse:       durationValue(time.Minute, false, 8760*time.Hour, func(c *Config, v time.Duration) { c.SessionRememberIdle = v }),
	},
	{
		key:         "oauth_access_token_lifetime",
		def:         "1h",
		description: "How long access tokens live, unless a client sets its own. `1m` to `24h`.",
		parse:       durationValue(time.Minute, false, 24*time.Hour, func(c *Config, v time.Duration) { c.OAuthAccessTokenLifetime = v }),
	},
	{
		key:         "oauth_refresh_token_lifetime",
		def:         "720h",
		description: "How long refresh tokens live, unless a client sets its own; each refresh issues a new one. `1m` to `8760h`.",
		parse:       durationValue(time.Minute, false, 8760*time.Hour, func(c *Config, v time.Duration) { c.OAuthRefreshTokenLifetime = v }),
	},
	{
		key:         "oauth_id_token_lifetime",
		def:         "1h",
		description: "How long ID tokens live, unless a client sets its own. `1m` to `24h`.",
		parse:       durationValue(time.Minute, false, 24*time.Hour, func(c *Config, v time.Duration) { c.OAuthIDTokenLifetime = v }),
	},
	{
		key:         "oauth_code_lifetime",
		def:         "5m",
		description: "How long an authorization code may wait to be exchanged; it can be used once. `10s` to `10m`.",
		parse:       durationValue(10*time.Second, false, 10*time.Minute, func(c *Config, v time.Duration) { c.OAuthCodeLifetime = v }),
	},
	{
		key:         "oauth_access_token_alg",
		def:         "ES256",
		description: "The algorithm of JWT access tokens (RFC 9068): `ES256` or `RS256`. ID tokens are RS256, the default OpenID Connect requires, unless a client registered for ES256 ones (`id_token_signed_response_alg`). Keys of both algorithms are kept either way.",
		parse:       choiceValue("a supported algorithm", []string{"ES256", "RS256"}, func(c *Config, v string) { c.OAuthAccessTokenAlg = v }),
	},
	{
		key: "oauth_require_pkce",
		def: "true",
		description: "Require PKCE (S256) of every client using the authorization code flow, as OAuth 2.1 does. Public clients " +
			"always need it; `false` lets confidential clients that cannot do PKCE go without. `true` or `false`.",
		parse: boolValue(func(c *Config, v bool) { c.OAuthRequirePKCE = v }),
	},
	{
		key: "oauth_refresh_grace",
		def: "0s",
		description: "For clients that refresh from several threads at once: how long a just-used refresh token may be used " +
			"again (at most oauth_refresh_grace_uses times) instead of counting as reuse, which revokes the grant. `0s` (off) to `1m`.",
		parse: durationValue(0, false, time.Minute, func(c *Config, v time.Duration) { c.OAuthRefreshGrace = v }),
	},
	{
		key:         "oauth_refresh_grace_uses",
		def:         "1",
		description: "How many times a just-used refresh token may be used again within oauth_refresh_grace. 1 to 10.",
		parse:       intValue(1, 10, func(c *Config, v int) { c.OAuthRefreshGraceUses = v }),
	},
	{
		key: "oauth_allow_private_networks",
		def: "false",
		description: "Let identityd fetch clients' key sets (`jwks_uri`) and deliver back-channel logout tokens to loopback, " +
			"private and link-local addresses, for apps inside your network. Off, such addresses are refused when connecting, " +
			"so a client registration cannot make identityd probe its own network, and a registration that names localhost " +
			"or such an address outright is refused. `true` or `false`.",
		parse: boolValue(func(c *Config, v bool) { c.OAuthAllowPrivateNetworks = v }),
	},
	{
		key: "signing_key_rotation",
		def: "2160h",
		description: "How long a token signing key signs before the next one replaces it. The next key is published " +
			"signing_key_publish_lead before it signs; a retired key stays published until every token it signed has expired. `24h` to `8760h`.",
		parse: durationValue(24*time.Hour, false, 8760*time.Hour, func(c *Config, v time.Duration) { c.SigningKeyRotation = v }),
	},
	{
		key: "signing_key_publish_lead",
		def: "1h",
		description: "How long relying parties may cache the JWKS (its `Cache-Control: max-age`); a new signing key is published " +
			"at least this long before it signs anything. `5m` to `24h`.",
		parse: durationValue(5*time.Minute, false, 24*time.Hour, func(c *Config, v time.Duration) { c.SigningKeyPublishLead = v }),
	},
	{
		key: "ui_templates_dir",
		doc: "none",
		description: "A directory of page templates that replace the built-in ones of the same name (`login.html`, `layout.html`, …); " +
			"identityd checks at start that they parse and render.",
		parse: pathValue(func(c *Config, v string) { c.UITemplatesDir = v }),
	},
	{
		key:         "ui_logo_file",
		doc:         "none",
		description: "An image (`.svg`, `.png`, `.jpg`, `.webp`, at most 1 MiB) shown beside product_name on the pages.",
		parse:       pathValue(func(c *Config, v string) { c.UILogoFile = v }),
	},
	{
		key:         "ui_post_limit",
		def:         "30",
		description: "Form submissions (sign-in, registration, password reset, …) one client address may make per minute. 1 to 10000.",
		parse:       intValue(1, 10000, func(c *Config, v int) { c.UIPostLimit = v }),
	},
	{
		key:         "user_import_max_bytes",
		def:         "256MiB",
		description: "Largest JSONL body `POST /v1/users/import` accepts (the CLI's `users import` reads files of any size). 1MiB to 64GiB.",
		parse:       sizeValue(1<<20, 64<<30, func(c *Config, v int64) { c.UserImportMaxBytes = v }),
	},
}

// lookup returns the setting named key and its place in the table, or nil and -1.
func lookup(key string) (*setting, int) {
	for i := range settings {
		if settings[i].key == key {
			return &settings[i], i
		}
	}
	return nil, -1
}

// Setting describes one configuration setting for documentation and tooling.
type Setting struct {
	// Key is the name in the YAML file, e.g. "log_level".
	Key string
	// Env is the environment variable, e.g. "IDENTITYD_LOG_LEVEL". Secret settings also
	// accept Env + "_FILE", naming a file that holds the value.
	Env string
	// Default is the default as shown to users, in Markdown, e.g. "`info`".
	Default string
	// Description says what the setting does and which values it accepts, in Markdown.
	Description string
	// Secret settings are never printed, not even in error messages.
	Secret bool
}

// Settings lists every setting in the order the documentation shows them.
func Settings() []Setting {
	out := make([]Setting, len(settings))
	for i := range settings {
		s := &settings[i]
		out[i] = Setting{Key: s.key, Env: s.env(), Default: s.defaultDoc(), Description: s.description, Secret: s.secret}
	}
	return out
}

// MarkdownTable renders Settings as the configuration table of the README, one line per
// setting, each line ending in a newline. The README test keeps the two identical.
func MarkdownTable() string {
	var b strings.Builder
	b.WriteString("| Setting | Environment variable | Default | Description |\n")
	b.WriteString("|---|---|---|---|\n")
	for _, s := range Settings() {
		env := "`" + s.Env + "`"
		if s.Secret {
			env += " or `" + s.Env + "_FILE`"
		}
		cells := []string{"`" + s.Key + "`", env, s.Default, s.Description}
		for i, c := range cells {
			// A pipe would end the cell early.
			cells[i] = strings.ReplaceAll(c, "|", `\|`)
		}
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	return b.String()
}
