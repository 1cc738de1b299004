package config_test

import (
	"bytes"
	"log/slog"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/identityd/identityd/config"
)

// devDefaults is what Load gives in dev mode with nothing set.
func devDefaults() config.Config {
	return config.Config{
		DataDir:                   "./data",
		DatabaseURL:               "sqlite:data/identityd.db",
		DatabaseConnectTimeout:    30 * time.Second,
		DatabaseMaxConns:          20,
		MigrateOnStart:            true,
		PublicAddr:                "127.0.0.1:8080",
		AdminAddr:                 "127.0.0.1:8081",
		Issuer:                    "http://127.0.0.1:8080",
		LogLevel:                  slog.LevelInfo,
		LogFormat:                 "text",
		LogFileMaxSizeMB:          100,
		LogFileMaxBackups:         10,
		LogFileMaxAgeDays:         30,
		HTTPBodyLimit:             1 << 20,
		HTTPReadTimeout:           30 * time.Second,
		HTTPWriteTimeout:          60 * time.Second,
		HTTPIdleTimeout:           120 * time.Second,
		ShutdownTimeout:           30 * time.Second,
		RateLimitRequests:         1200,
		RateLimitWindow:           time.Minute,
		JobsMaxWorkers:            10,
		AuditCheckpointInterval:   time.Minute,
		WebhookTimeout:            10 * time.Second,
		WebhookMaxAttempts:        10,
		ProductName:               "identityd",
		MailFrom:                  "no-reply@localhost",
		EmailVerificationTTL:      24 * time.Hour,
		PasswordResetTTL:          time.Hour,
		PasswordMinLength:         8,
		PasswordMaxBytes:          1024,
		PasswordMinScore:          2,
		PasswordHashMemory:        19 << 20,
		PasswordHashIterations:    2,
		PasswordHashParallelism:   1,
		LoginBackoffAfter:         5,
		LoginBackoffBase:          time.Second,
		LoginBackoffMax:           15 * time.Minute,
		LoginLockoutAfter:         20,
		LoginNetworkMaxFailures:   100,
		LoginNetworkWindow:        15 * time.Minute,
		SessionIdleTimeout:        30 * time.Minute,
		SessionAbsoluteTimeout:    12 * time.Hour,
		SessionRememberFor:        720 * time.Hour,
		SessionRememberIdle:       168 * time.Hour,
		OAuthAccessTokenLifetime:  time.Hour,
		OAuthRefreshTokenLifetime: 720 * time.Hour,
		OAuthIDTokenLifetime:      time.Hour,
		OAuthCodeLifetime:         5 * time.Minute,
		OAuthAccessTokenAlg:       "ES256",
		OAuthRequirePKCE:          true,
		OAuthRefreshGraceUses:     1,
		SigningKeyRotation:        2160 * time.Hour,
		SigningKeyPublishLead:     time.Hour,
		UIPostLimit:               30,
		UserImportMaxBytes:        256 << 20,
		Dev:                       true,
	}
}

func TestDevModeWithNothingSetGivesTheDocumentedDefaults(t *testing.T) {
	got := mustLoad(t, config.Sources{Dev: true})
	if want := devDefaults(); !reflect.DeepEqual(*got, want) {
		t.Errorf("got  %+v\nwant %+v", *got, want)
	}
}

func TestOutsideDevTheDefaultsAreTheSameButLogsAreJSONAndThereIsNoIssuerDefault(t *testing.T) {
	got := mustLoad(t, config.Sources{Env: prodEnv()})
	want := devDefaults()
	want.Dev = false
	want.LogFormat = "json"
	want.Issuer = "https://id.example.com"
	want.MailFrom = "no-reply@id.example.com"
	want.EncryptionKeys = [][]byte{bytes.Repeat([]byte{1}, 32)}
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("got  %+v\nwant %+v", *got, want)
	}
}

func TestOutsideDevIssuerAndEncryptionKeysAreRequiredToServe(t *testing.T) {
	wantError(t, config.Sources{Serving: true}, ""+
		"issuer (from default): required outside dev mode. Fix: set IDENTITYD_ISSUER to the public https URL, e.g. https://id.example.com.\n"+
		"encryption_keys (from default): required outside dev mode. Fix: generate a key with `openssl rand -base64 32` and set IDENTITYD_ENCRYPTION_KEYS.")
}

func TestAnAuditRetentionShorterThanADayIsRefused(t *testing.T) {
	wantError(t, config.Sources{Env: []string{"IDENTITYD_AUDIT_RETENTION=1h"}},
		`audit_retention = "1h0m0s" (from IDENTITYD_AUDIT_RETENTION): is shorter than a day, which would prune audit events almost as soon as they are written. Fix: use 0 to keep events forever, or at least 24h (e.g. 8760h for a year).`)
	c := mustLoad(t, config.Sources{Env: []string{"IDENTITYD_AUDIT_RETENTION=8760h"}})
	if c.AuditRetention != 8760*time.Hour {
		t.Fatalf("retention %v", c.AuditRetention)
	}
}

func TestOperatorCommandsNeedNoIssuerOrEncryptionKeys(t *testing.T) {
	c := mustLoad(t, config.Sources{Env: []string{"IDENTITYD_DATABASE_URL=postgres://db.example.com/identityd"}})
	if c.Issuer != "" || len(c.EncryptionKeys) != 0 || c.DatabaseURL != "postgres://db.example.com/identityd" {
		t.Fatalf("loaded %+v", c)
	}
	// Settings that are present are still checked.
	wantError(t, config.Sources{Env: []string{"IDENTITYD_ISSUER=http://id.example.com"}},
		`issuer = "http://id.example.com" (from IDENTITYD_ISSUER): http is allowed only for a loopback host (localhost, 127.0.0.0/8, ::1). Fix: use https://id.example.com.`)
}

func TestAnEmptyKeyListOutsideDevIsRefusedWhereItWasWritten(t *testing.T) {
	inTempDir(t)
	file := writeFile(t, "config.yaml", "issuer: https://id.example.com\nencryption_keys: []\n")
	wantError(t, config.Sources{File: file, Serving: true},
		"encryption_keys (from config.yaml line 2): required outside dev mode. Fix: generate a key with `openssl rand -base64 32` and set IDENTITYD_ENCRYPTION_KEYS.")
}

func TestLayersOverrideEachOtherInOrder(t *testing.T) {
	tests := []struct {
		name string
		file string
		env  []string
		get  func(*config.Config) any
		want any
	}{
		{
			name: "the file overrides a default",
			file: "log_level: debug\n",
			get:  func(c *config.Config) any { return c.LogLevel },
			want: slog.LevelDebug,
		},
		{
			name: "the environment overrides the file",
			file: "log_level: debug\n",
			env:  []string{"IDENTITYD_LOG_LEVEL=error"},
			get:  func(c *config.Config) any { return c.LogLevel },
			want: slog.LevelError,
		},
		{
			name: "the environment overrides a default the file leaves alone",
			file: "log_level: debug\n",
			env:  []string{"IDENTITYD_JOBS_MAX_WORKERS=3"},
			get:  func(c *config.Config) any { return []any{c.LogLevel, c.JobsMaxWorkers} },
			want: []any{slog.LevelDebug, 3},
		},
		{
			name: "an empty variable counts as unset and leaves the file's value",
			file: "log_level: debug\n",
			env:  []string{"IDENTITYD_LOG_LEVEL="},
			get:  func(c *config.Config) any { return c.LogLevel },
			want: slog.LevelDebug,
		},
		{
			name: "null in the file counts as unset and leaves the default",
			file: "log_level: ~\nlog_format:\n",
			get:  func(c *config.Config) any { return []any{c.LogLevel, c.LogFormat} },
			want: []any{slog.LevelInfo, "json"},
		},
		{
			name: "the default database lives in data_dir",
			file: "data_dir: /var/lib/identityd\n",
			get:  func(c *config.Config) any { return c.DatabaseURL },
			want: "sqlite:/var/lib/identityd/identityd.db",
		},
		{
			name: "data_dir from the environment moves the default database too",
			file: "data_dir: /var/lib/identityd\n",
			env:  []string{"IDENTITYD_DATA_DIR=/srv/id"},
			get:  func(c *config.Config) any { return c.DatabaseURL },
			want: "sqlite:/srv/id/identityd.db",
		},
		{
			name: "a database_url that is set ignores data_dir",
			file: "data_dir: /var/lib/identityd\ndatabase_url: postgres://db/identityd\n",
			get:  func(c *config.Config) any { return c.DatabaseURL },
			want: "postgres://db/identityd",
		},
		{
			name: "an explicit log format wins over the one dev mode would pick",
			env:  []string{"IDENTITYD_LOG_FORMAT=text"},
			get:  func(c *config.Config) any { return c.LogFormat },
			want: "text",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inTempDir(t)
			file := writeFile(t, "config.yaml", tt.file)
			c := mustLoad(t, config.Sources{File: file, Env: prodEnv(tt.env...)})
			if got := tt.get(c); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestABadFileValueIsReportedEvenWhenTheEnvironmentOverridesIt(t *testing.T) {
	inTempDir(t)
	file := writeFile(t, "config.yaml", "log_level: loud\n")
	wantError(t, config.Sources{File: file, Env: []string{"IDENTITYD_LOG_LEVEL=info"}, Dev: true},
		`log_level = "loud" (from config.yaml line 1): not a log level. Fix: use debug, info, warn or error.`)
}

func TestDevIssuerIsHTTPOnPublicAddrWithAWildcardHostMadeLoopback(t *testing.T) {
	tests := []struct{ publicAddr, want string }{
		{"127.0.0.1:9000", "http://127.0.0.1:9000"},
		{"0.0.0.0:8080", "http://127.0.0.1:8080"},
		{":8080", "http://127.0.0.1:8080"},
		{"[::]:8080", "http://127.0.0.1:8080"},
		{"[::1]:8080", "http://[::1]:8080"},
		{"localhost:8080", "http://localhost:8080"},
	}
	for _, tt := range tests {
		t.Run(tt.publicAddr, func(t *testing.T) {
			c := mustLoad(t, config.Sources{Dev: true, Env: []string{"IDENTITYD_PUBLIC_ADDR=" + tt.publicAddr}})
			if c.Issuer != tt.want {
				t.Errorf("Issuer = %q, want %q", c.Issuer, tt.want)
			}
		})
	}
}

func TestDevIssuerDerivedFromANonLoopbackAddrIsRefused(t *testing.T) {
	wantError(t, config.Sources{Dev: true, Env: []string{"IDENTITYD_PUBLIC_ADDR=10.0.0.5:8080"}},
		`issuer = "http://10.0.0.5:8080" (from default): http is allowed only for a loopback host (localhost, 127.0.0.0/8, ::1). `+
			`Fix: set IDENTITYD_ISSUER to the https URL clients reach identityd at, or give public_addr a loopback host.`)
}

func TestDevModeNeedsNoIssuerOrKeyButTakesThem(t *testing.T) {
	c := mustLoad(t, config.Sources{Dev: true, Env: prodEnv()})
	if c.Issuer != "https://id.example.com" || len(c.EncryptionKeys) != 1 {
		t.Errorf("Issuer = %q, %d keys; want the ones set", c.Issuer, len(c.EncryptionKeys))
	}
}

func TestIssuerRules(t *testing.T) {
	good := []string{
		"https://id.example.com",
		"https://id.example.com:8443/tenant",
		"http://localhost:8080",
		"http://127.0.0.2",
		"http://[::1]:8080",
	}
	for _, issuer := range good {
		t.Run(issuer, func(t *testing.T) {
			for _, dev := range []bool{false, true} {
				c := mustLoad(t, config.Sources{Dev: dev, Env: prodEnv("IDENTITYD_ISSUER=" + issuer)})
				if c.Issuer != issuer {
					t.Errorf("dev=%v: Issuer = %q, want %q", dev, c.Issuer, issuer)
				}
			}
		})
	}
	bad := []struct{ issuer, want string }{
		{"id.example.com", `not an absolute URL. Fix: use the URL clients reach identityd at, e.g. https://id.example.com.`},
		{"https:id.example.com", `not an absolute URL. Fix: use the URL clients reach identityd at, e.g. https://id.example.com.`},
		{"http://id.example.com", `http is allowed only for a loopback host (localhost, 127.0.0.0/8, ::1). Fix: use https://id.example.com.`},
		{"http://10.0.0.1:8080", `http is allowed only for a loopback host (localhost, 127.0.0.0/8, ::1). Fix: use https://10.0.0.1:8080.`},
		{"ftp://id.example.com", `scheme must be https. Fix: use https://id.example.com.`},
		{"https://admin:pw@id.example.com", `must not contain user info. Fix: use https://id.example.com.`},
		{"https://id.example.com?tenant=a", `must not have a query. Fix: use https://id.example.com.`},
		{"https://id.example.com#top", `must not have a fragment. Fix: use https://id.example.com.`},
		{"https://id.example.com/", `must not end with a slash. Fix: use https://id.example.com.`},
		{"https://id.example.com/tenant/", `must not end with a slash. Fix: use https://id.example.com/tenant.`},
	}
	for _, tt := range bad {
		t.Run(tt.issuer, func(t *testing.T) {
			for _, dev := range []bool{false, true} {
				want := "issuer = " + quote(tt.issuer) + " (from IDENTITYD_ISSUER): " + tt.want
				wantError(t, config.Sources{Dev: dev, Env: prodEnv("IDENTITYD_ISSUER=" + tt.issuer)}, want)
			}
		})
	}
}

func TestAnIssuerWithSeveralFaultsGetsOneProblemEachWithTheSameFix(t *testing.T) {
	wantError(t, config.Sources{Env: prodEnv("IDENTITYD_ISSUER=http://id.example.com/?a#b")}, ""+
		`issuer = "http://id.example.com/?a#b" (from IDENTITYD_ISSUER): http is allowed only for a loopback host (localhost, 127.0.0.0/8, ::1). Fix: use https://id.example.com.`+"\n"+
		`issuer = "http://id.example.com/?a#b" (from IDENTITYD_ISSUER): must not have a query. Fix: use https://id.example.com.`+"\n"+
		`issuer = "http://id.example.com/?a#b" (from IDENTITYD_ISSUER): must not have a fragment. Fix: use https://id.example.com.`+"\n"+
		`issuer = "http://id.example.com/?a#b" (from IDENTITYD_ISSUER): must not end with a slash. Fix: use https://id.example.com.`)
}

func TestEncryptionKeysAreDecodedInOrderAndMustBeDistinct(t *testing.T) {
	c := mustLoad(t, config.Sources{Env: prodEnv("IDENTITYD_ENCRYPTION_KEYS=" + key(2) + ", " + key(3))})
	want := [][]byte{bytes.Repeat([]byte{2}, 32), bytes.Repeat([]byte{3}, 32)}
	if !reflect.DeepEqual(c.EncryptionKeys, want) {
		t.Errorf("EncryptionKeys = %x, want %x", c.EncryptionKeys, want)
	}

	wantError(t, config.Sources{Env: prodEnv("IDENTITYD_ENCRYPTION_KEYS=" + key(2) + "," + key(3) + "," + key(2))},
		"encryption_keys = [redacted] (from IDENTITYD_ENCRYPTION_KEYS): keys 1 and 3 are the same. "+
			"Fix: remove the repeat; generate a key with `openssl rand -base64 32` for each key.")
}

func TestListenersMayShareOneAddressButNotOverlap(t *testing.T) {
	c := mustLoad(t, config.Sources{Dev: true, Env: []string{"IDENTITYD_PUBLIC_ADDR=:8080", "IDENTITYD_ADMIN_ADDR=:8080"}})
	if c.PublicAddr != c.AdminAddr {
		t.Errorf("PublicAddr %q, AdminAddr %q: want one shared address", c.PublicAddr, c.AdminAddr)
	}
	for _, pair := range [][2]string{
		{"127.0.0.1:8080", "127.0.0.2:8080"}, // two loopback addresses
		{"0.0.0.0:8080", "[::1]:8080"},       // an IPv4 wildcard leaves IPv6 alone
		{"localhost:8080", "127.0.0.1:8080"}, // unresolved names are not guessed at
		{"127.0.0.1:8080", "127.0.0.1:8081"},
	} {
		mustLoad(t, config.Sources{Dev: true, Env: []string{"IDENTITYD_PUBLIC_ADDR=" + pair[0], "IDENTITYD_ADMIN_ADDR=" + pair[1]}})
	}

	for _, pair := range [][2]string{
		{":8080", "127.0.0.1:8080"},
		{"0.0.0.0:8080", "127.0.0.1:8080"},
		{"[::]:8080", "localhost:8080"},
		{"127.0.0.1:8080", "127.0.0.1:08080"},
	} {
		wantError(t, config.Sources{Dev: true, Env: []string{"IDENTITYD_PUBLIC_ADDR=" + pair[0], "IDENTITYD_ADMIN_ADDR=" + pair[1]}},
			"admin_addr = "+quote(pair[1])+" (from IDENTITYD_ADMIN_ADDR): overlaps public_addr "+quote(pair[0])+
				" on port 8080, so the second listener could not start. Fix: use exactly the value of public_addr to share one listener, or another port.")
	}
}

func TestSecretsCanBeReadFromFiles(t *testing.T) {
	inTempDir(t)
	writeFile(t, "db-url", "postgres://app:s3cret@db:5432/identityd\n")
	writeFile(t, "keys", key(4)+","+key(5)+"\r\n")
	wantKeys := [][]byte{bytes.Repeat([]byte{4}, 32), bytes.Repeat([]byte{5}, 32)}
	tests := []struct {
		name string
		src  config.Sources
	}{
		{"from IDENTITYD_<KEY>_FILE", config.Sources{Env: []string{
			"IDENTITYD_ISSUER=https://id.example.com",
			"IDENTITYD_DATABASE_URL_FILE=db-url",
			"IDENTITYD_ENCRYPTION_KEYS_FILE=keys",
		}}},
		{"from <key>_file in the YAML file", config.Sources{
			File: writeFile(t, "config.yaml", "issuer: https://id.example.com\ndatabase_url_file: db-url\nencryption_keys_file: keys\n"),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustLoad(t, tt.src)
			if c.DatabaseURL != "postgres://app:s3cret@db:5432/identityd" {
				t.Errorf("DatabaseURL = %q", c.DatabaseURL)
			}
			if !reflect.DeepEqual(c.EncryptionKeys, wantKeys) {
				t.Errorf("EncryptionKeys = %x, want %x", c.EncryptionKeys, wantKeys)
			}
		})
	}
}

func TestSecretFileProblemsNameThePathButNeverTheContents(t *testing.T) {
	const secret = "postgres://app:s3cret@db/identityd"
	tests := []struct {
		name string
		file string
		env  []string
		want string
	}{
		{
			name: "both the variable and its _FILE are set",
			env:  []string{"IDENTITYD_DATABASE_URL=" + secret, "IDENTITYD_DATABASE_URL_FILE=db-url"},
			want: "database_url (from IDENTITYD_DATABASE_URL and IDENTITYD_DATABASE_URL_FILE): both are set, so it is unclear which to use. Fix: unset one of them.",
		},
		{
			name: "the _FILE does not exist",
			env:  []string{"IDENTITYD_DATABASE_URL_FILE=nowhere"},
			want: `database_url (from IDENTITYD_DATABASE_URL_FILE): cannot read "nowhere": no such file or directory. Fix: point IDENTITYD_DATABASE_URL_FILE at a readable file that holds the value.`,
		},
		{
			name: "the _FILE is a directory",
			env:  []string{"IDENTITYD_DATABASE_URL_FILE=."},
			want: `database_url (from IDENTITYD_DATABASE_URL_FILE): cannot read ".": is a directory. Fix: point IDENTITYD_DATABASE_URL_FILE at a readable file that holds the value.`,
		},
		{
			name: "the _FILE is empty",
			env:  []string{"IDENTITYD_DATABASE_URL_FILE=empty"},
			want: `database_url (from IDENTITYD_DATABASE_URL_FILE): file "empty" is empty. Fix: write the value into it, or unset IDENTITYD_DATABASE_URL_FILE.`,
		},
		{
			name: "the file holds a bad value",
			env:  []string{"IDENTITYD_DATABASE_URL_FILE=bad-url"},
			want: `database_url = [redacted] (from IDENTITYD_DATABASE_URL_FILE): must start with sqlite:, postgres:// or postgresql://. Fix: use sqlite:PATH or postgres://user:password@host:5432/dbname.`,
		},
		{
			name: "both key and key_file are in the YAML file",
			file: "database_url: " + secret + "\ndatabase_url_file: db-url\n",
			want: "database_url (from config.yaml line 2): set together with database_url on line 1, so it is unclear which to use. Fix: keep one of them.",
		},
		{
			name: "the key_file in the YAML file does not exist",
			file: "database_url_file: nowhere\n",
			want: `database_url (from config.yaml line 1): cannot read "nowhere": no such file or directory. Fix: point database_url_file at a readable file that holds the value.`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inTempDir(t)
			writeFile(t, "db-url", secret+"\n")
			writeFile(t, "bad-url", "mysql://app:s3cret@db/identityd\n")
			writeFile(t, "empty", "\n")
			wantError(t, config.Sources{File: writeFile(t, "config.yaml", tt.file), Env: tt.env, Dev: true}, tt.want)
		})
	}
}

func TestSecretsNeverAppearInErrors(t *testing.T) {
	const secret = "hunter2"
	tests := []struct {
		name string
		env  []string
	}{
		{"a database URL with the wrong scheme", []string{"IDENTITYD_DATABASE_URL=mysql://root:" + secret + "@db/identityd"}},
		{"a database URL that does not parse", []string{"IDENTITYD_DATABASE_URL=postgres://root:" + secret + "@db/%zz"}},
		{"a key that is not base64", []string{"IDENTITYD_ENCRYPTION_KEYS=" + secret + "!"}},
		{"a key of the wrong length", []string{"IDENTITYD_ENCRYPTION_KEYS=" + secret + "A="}},
		{"a good key beside a bad one", []string{"IDENTITYD_ENCRYPTION_KEYS=" + key(6) + "," + secret}},
		{"a repeated key", []string{"IDENTITYD_ENCRYPTION_KEYS=" + key(6) + "," + key(6)}},
		{"a secret beside its _FILE", []string{"IDENTITYD_DATABASE_URL=" + secret, "IDENTITYD_DATABASE_URL_FILE=/nonexistent"}},
		{"a misspelt secret variable", []string{"IDENTITYD_DATABSE_URL=" + secret}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps := loadProblems(t, config.Sources{Env: tt.env, Dev: true})
			for _, leak := range []string{secret, key(6)} {
				if msg := ps.Error(); strings.Contains(msg, leak) {
					t.Errorf("error text holds the secret %q:\n%s", leak, msg)
				}
				for _, p := range ps {
					if strings.Contains(p.Value, leak) || strings.Contains(p.Why, leak) || strings.Contains(p.Fix, leak) {
						t.Errorf("problem holds the secret %q: %+v", leak, p)
					}
				}
			}
		})
	}
}

func TestEveryProblemFromEverySourceIsReportedAtOnceInSettingsOrder(t *testing.T) {
	inTempDir(t)
	file := writeFile(t, "config.yaml", ""+
		"public_addr: 0.0.0.0:8080\n"+
		"issuer: http://id.example.com/\n"+
		"log_levle: debug\n"+
		"cors_allowed_origins: ['*', 'https://app.example.com']\n"+
		"trusted_proxies: 10.0.0.1/8\n")
	env := []string{
		"IDENTITYD_DATABASE_URL=mysql://root:hunter2@db/identityd",
		"IDENTITYD_ENCRYPTION_KEYS_FILE=missing.key",
		"IDENTITYD_LOG_LEVEL=loud",
		"IDENTITYD_HTTP_READ_TIMEOUT=30",
		"IDENTITYD_RATE_LIMIT_REQUESTS=lots",
		"IDENTITYD_ADMN_ADDR=127.0.0.1:9090",
		"IDENTITYD_PORT=tcp://10.96.0.12:8080",
		"PATH=/usr/bin",
	}
	wantError(t, config.Sources{File: file, Env: env}, ""+
		`database_url = [redacted] (from IDENTITYD_DATABASE_URL): must start with sqlite:, postgres:// or postgresql://. Fix: use sqlite:PATH or postgres://user:password@host:5432/dbname.`+"\n"+
		`issuer = "http://id.example.com/" (from config.yaml line 2): http is allowed only for a loopback host (localhost, 127.0.0.0/8, ::1). Fix: use https://id.example.com.`+"\n"+
		`issuer = "http://id.example.com/" (from config.yaml line 2): must not end with a slash. Fix: use https://id.example.com.`+"\n"+
		`encryption_keys (from IDENTITYD_ENCRYPTION_KEYS_FILE): cannot read "missing.key": no such file or directory. Fix: point IDENTITYD_ENCRYPTION_KEYS_FILE at a readable file that holds the value.`+"\n"+
		`log_level = "loud" (from IDENTITYD_LOG_LEVEL): not a log level. Fix: use debug, info, warn or error.`+"\n"+
		`http_read_timeout = "30" (from IDENTITYD_HTTP_READ_TIMEOUT): has no unit. Fix: add one, e.g. 30s, 5m or 1h.`+"\n"+
		`cors_allowed_origins = "*" (from config.yaml line 4): a wildcard would let every website call identityd from its visitors' browsers. Fix: list the origins, e.g. https://app.example.com.`+"\n"+
		`rate_limit_requests = "lots" (from IDENTITYD_RATE_LIMIT_REQUESTS): not a whole number. Fix: use a whole number from 0 to 1000000.`+"\n"+
		`trusted_proxies = "10.0.0.1/8" (from config.yaml line 5): has bits set beyond the /8 prefix. Fix: use 10.0.0.0/8 for the range, or 10.0.0.1 for the one address.`+"\n"+
		`log_levle (from config.yaml line 3): not a known setting; did you mean log_level? Fix: rename it to log_level.`+"\n"+
		`IDENTITYD_ADMN_ADDR (from environment): not a known setting; did you mean IDENTITYD_ADMIN_ADDR? Fix: rename it to IDENTITYD_ADMIN_ADDR.`)
}

func TestLoadDoesNotShareStateBetweenCalls(t *testing.T) {
	// The settings table is the package's only global; parsing must not write to it.
	first := mustLoad(t, config.Sources{Dev: true, Env: []string{"IDENTITYD_TRUSTED_PROXIES=10.0.0.0/8", "IDENTITYD_LOG_LEVEL=debug"}})
	second := mustLoad(t, config.Sources{Dev: true})
	if want := devDefaults(); !reflect.DeepEqual(*second, want) {
		t.Errorf("second Load = %+v, want the defaults %+v", *second, want)
	}
	if want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}; !reflect.DeepEqual(first.TrustedProxies, want) {
		t.Errorf("first Load changed: TrustedProxies = %v", first.TrustedProxies)
	}
}
