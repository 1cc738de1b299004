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

// bothSources runs check once with key=value in the environment and once in a YAML file,
// so every case shows that the two sources parse the same way.
func bothSources(t *testing.T, key, value string, check func(t *testing.T, src config.Sources, source string)) {
	t.Helper()
	t.Run("env", func(t *testing.T) {
		inTempDir(t)
		env := "IDENTITYD_" + strings.ToUpper(key)
		check(t, config.Sources{Dev: true, Env: []string{env + "=" + value}}, env)
	})
	t.Run("file", func(t *testing.T) {
		inTempDir(t)
		// Double-quoted so YAML takes the text as is; Go's escapes are valid YAML ones.
		file := writeFile(t, "config.yaml", key+": "+quote(value)+"\n")
		check(t, config.Sources{Dev: true, File: file}, "config.yaml line 1")
	})
}

func TestGoodValuesParseToTheirTypedFields(t *testing.T) {
	prefixes := func(ss ...string) []netip.Prefix {
		var ps []netip.Prefix
		for _, s := range ss {
			ps = append(ps, netip.MustParsePrefix(s))
		}
		return ps
	}
	tests := []struct {
		key, value string
		get        func(*config.Config) any
		want       any
	}{
		{"data_dir", "/var/lib/identityd", func(c *config.Config) any { return c.DataDir }, "/var/lib/identityd"},
		{"database_url", "sqlite:/tmp/id.db", func(c *config.Config) any { return c.DatabaseURL }, "sqlite:/tmp/id.db"},
		{"database_url", "postgres://app:pw@db:5432/identityd?sslmode=require", func(c *config.Config) any { return c.DatabaseURL }, "postgres://app:pw@db:5432/identityd?sslmode=require"},
		{"database_url", "postgresql://db/identityd", func(c *config.Config) any { return c.DatabaseURL }, "postgresql://db/identityd"},
		{"database_connect_timeout", "0", func(c *config.Config) any { return c.DatabaseConnectTimeout }, time.Duration(0)},
		{"database_connect_timeout", "10m", func(c *config.Config) any { return c.DatabaseConnectTimeout }, 10 * time.Minute},
		{"database_max_conns", "4", func(c *config.Config) any { return c.DatabaseMaxConns }, 4},
		{"database_max_conns", "1000", func(c *config.Config) any { return c.DatabaseMaxConns }, 1000},
		{"migrate_on_start", "FALSE", func(c *config.Config) any { return c.MigrateOnStart }, false},
		{"migrate_on_start", "true", func(c *config.Config) any { return c.MigrateOnStart }, true},
		{"public_addr", ":9000", func(c *config.Config) any { return c.PublicAddr }, ":9000"},
		{"public_addr", "[::1]:9000", func(c *config.Config) any { return c.PublicAddr }, "[::1]:9000"},
		{"admin_addr", "identity_admin.internal:80", func(c *config.Config) any { return c.AdminAddr }, "identity_admin.internal:80"},
		{"admin_addr", "0.0.0.0:65535", func(c *config.Config) any { return c.AdminAddr }, "0.0.0.0:65535"},
		{"issuer", "https://id.example.com/tenant", func(c *config.Config) any { return c.Issuer }, "https://id.example.com/tenant"},
		{"encryption_keys", key(7) + ", " + key(8), func(c *config.Config) any { return c.EncryptionKeys },
			[][]byte{bytes.Repeat([]byte{7}, 32), bytes.Repeat([]byte{8}, 32)}},
		{"log_level", "DEBUG", func(c *config.Config) any { return c.LogLevel }, slog.LevelDebug},
		{"log_level", "Warn", func(c *config.Config) any { return c.LogLevel }, slog.LevelWarn},
		{"log_level", "error", func(c *config.Config) any { return c.LogLevel }, slog.LevelError},
		{"log_format", "JSON", func(c *config.Config) any { return c.LogFormat }, "json"},
		{"log_file", "/var/log/identityd.log", func(c *config.Config) any { return c.LogFile }, "/var/log/identityd.log"},
		{"log_file_max_size_mb", "100000", func(c *config.Config) any { return c.LogFileMaxSizeMB }, 100000},
		{"log_file_max_backups", "0", func(c *config.Config) any { return c.LogFileMaxBackups }, 0},
		{"log_file_max_age_days", "36500", func(c *config.Config) any { return c.LogFileMaxAgeDays }, 36500},
		{"http_body_limit", "1048576", func(c *config.Config) any { return c.HTTPBodyLimit }, int64(1 << 20)},
		{"http_body_limit", "1KiB", func(c *config.Config) any { return c.HTTPBodyLimit }, int64(1 << 10)},
		{"http_body_limit", "64 kib", func(c *config.Config) any { return c.HTTPBodyLimit }, int64(64 << 10)},
		{"http_body_limit", "10KB", func(c *config.Config) any { return c.HTTPBodyLimit }, int64(10_000)},
		{"http_body_limit", "5MB", func(c *config.Config) any { return c.HTTPBodyLimit }, int64(5_000_000)},
		{"http_body_limit", "1GiB", func(c *config.Config) any { return c.HTTPBodyLimit }, int64(1 << 30)},
		{"http_read_timeout", "1h", func(c *config.Config) any { return c.HTTPReadTimeout }, time.Hour},
		{"http_write_timeout", "1ms", func(c *config.Config) any { return c.HTTPWriteTimeout }, time.Millisecond},
		{"http_idle_timeout", "1m30s", func(c *config.Config) any { return c.HTTPIdleTimeout }, 90 * time.Second},
		{"shutdown_timeout", "10m", func(c *config.Config) any { return c.ShutdownTimeout }, 10 * time.Minute},
		{"cors_allowed_origins", "https://app.example.com, http://localhost:3000", func(c *config.Config) any { return c.CORSAllowedOrigins },
			[]string{"https://app.example.com", "http://localhost:3000"}},
		{"cors_allowed_origins", "HTTPS://App.Example.com:443,http://[::1]:80,http://[::1]:3000", func(c *config.Config) any { return c.CORSAllowedOrigins },
			[]string{"https://app.example.com", "http://[::1]", "http://[::1]:3000"}},
		{"rate_limit_requests", "0", func(c *config.Config) any { return c.RateLimitRequests }, 0},
		{"rate_limit_requests", "1000000", func(c *config.Config) any { return c.RateLimitRequests }, 1_000_000},
		{"rate_limit_window", "1s", func(c *config.Config) any { return c.RateLimitWindow }, time.Second},
		{"trusted_proxies", "10.0.0.1, 192.168.0.0/16, 2001:db8::/32, ::1", func(c *config.Config) any { return c.TrustedProxies },
			prefixes("10.0.0.1/32", "192.168.0.0/16", "2001:db8::/32", "::1/128")},
		{"jobs_max_workers", "1000", func(c *config.Config) any { return c.JobsMaxWorkers }, 1000},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			bothSources(t, tt.key, tt.value, func(t *testing.T, src config.Sources, _ string) {
				c := mustLoad(t, src)
				if got := tt.get(c); !reflect.DeepEqual(got, tt.want) {
					t.Errorf("got %v, want %v", got, tt.want)
				}
			})
		})
	}
}

func TestBadValuesAreRefusedWithTheSameMessageFromEnvAndFile(t *testing.T) {
	tests := []struct {
		key, value string
		shown      string // the value as the problem shows it, when not the whole value quoted
		want       string // ": <why>. Fix: <fix>."
	}{
		{"data_dir", "data\x00dir", "", "contains a NUL character. Fix: remove it."},
		{"database_url", "mysql://db/identityd", "[redacted]", "must start with sqlite:, postgres:// or postgresql://. Fix: use sqlite:PATH or postgres://user:password@host:5432/dbname."},
		{"database_url", "sqlite:", "[redacted]", "names no SQLite file. Fix: use sqlite:PATH or postgres://user:password@host:5432/dbname."},
		{"database_url", "postgres://db/%zz", "[redacted]", "is not a valid URL. Fix: use sqlite:PATH or postgres://user:password@host:5432/dbname."},
		{"database_connect_timeout", "soon", "", "not a duration. Fix: use a number with a unit (ms, s, m, h), e.g. 30s."},
		{"database_connect_timeout", "1d", "", "not a duration. Fix: use a number with a unit (ms, s, m, h), e.g. 30s."},
		{"database_connect_timeout", "30", "", "has no unit. Fix: add one, e.g. 30s, 5m or 1h."},
		{"database_connect_timeout", "-1s", "", "below the minimum of 0. Fix: use a duration from 0 to 10m."},
		{"database_connect_timeout", "11m", "", "above the maximum of 10m. Fix: use a duration from 0 to 10m."},
		{"database_max_conns", "3", "", "below the minimum of 4. Fix: use a whole number from 4 to 1000."},
		{"database_max_conns", "1001", "", "above the maximum of 1000. Fix: use a whole number from 4 to 1000."},
		{"database_max_conns", "-99999999999999999999", "", "below the minimum of 4. Fix: use a whole number from 4 to 1000."},
		{"database_max_conns", "99999999999999999999", "", "above the maximum of 1000. Fix: use a whole number from 4 to 1000."},
		{"database_max_conns", "ten", "", "not a whole number. Fix: use a whole number from 4 to 1000."},
		{"database_max_conns", "1.5", "", "not a whole number. Fix: use a whole number from 4 to 1000."},
		{"migrate_on_start", "yes", "", "not true or false. Fix: use true or false."},
		{"public_addr", "8080", "", "not host:port. Fix: use host:port, e.g. 127.0.0.1:8080, or :8080 for every interface."},
		{"public_addr", "::1:8080", "", "not host:port. Fix: use host:port, e.g. 127.0.0.1:8080, or :8080 for every interface."},
		{"public_addr", "localhost:0", "", "port must be a number from 1 to 65535. Fix: use host:port, e.g. 127.0.0.1:8080, or :8080 for every interface."},
		{"public_addr", "localhost:http", "", "port must be a number from 1 to 65535. Fix: use host:port, e.g. 127.0.0.1:8080, or :8080 for every interface."},
		{"public_addr", "localhost:65536", "", "port must be a number from 1 to 65535. Fix: use host:port, e.g. 127.0.0.1:8080, or :8080 for every interface."},
		{"admin_addr", "bad host!:8081", "", "host is not an IP address or host name. Fix: use host:port, e.g. 127.0.0.1:8080, or :8080 for every interface."},
		{"encryption_keys", "not base64!", "[redacted]", "key 1 of 1 is not standard base64. Fix: generate a key with `openssl rand -base64 32`."},
		{"encryption_keys", key(9) + ",c2hvcnQ=", "[redacted]", "key 2 of 2 is 5 bytes, not 32. Fix: generate a key with `openssl rand -base64 32`."},
		{"log_level", "verbose", "", "not a log level. Fix: use debug, info, warn or error."},
		{"log_level", "INFO+2", "", "not a log level. Fix: use debug, info, warn or error."},
		{"log_format", "yaml", "", "not a log format. Fix: use json or text."},
		{"log_file", "id\x00.log", "", "contains a NUL character. Fix: remove it."},
		{"log_file_max_size_mb", "0", "", "below the minimum of 1. Fix: use a whole number from 1 to 100000."},
		{"log_file_max_backups", "-1", "", "below the minimum of 0. Fix: use a whole number from 0 to 10000."},
		{"log_file_max_age_days", "36501", "", "above the maximum of 36500. Fix: use a whole number from 0 to 36500."},
		{"http_body_limit", "1.5MiB", "", "not a size. Fix: use bytes or a whole number with a unit (KiB, MiB, GiB, KB, MB, GB), e.g. 1MiB."},
		{"http_body_limit", "1TB", "", "not a size. Fix: use bytes or a whole number with a unit (KiB, MiB, GiB, KB, MB, GB), e.g. 1MiB."},
		{"http_body_limit", "MiB", "", "not a size. Fix: use bytes or a whole number with a unit (KiB, MiB, GiB, KB, MB, GB), e.g. 1MiB."},
		{"http_body_limit", "-1", "", "not a size. Fix: use bytes or a whole number with a unit (KiB, MiB, GiB, KB, MB, GB), e.g. 1MiB."},
		{"http_body_limit", "1023", "", "below the minimum of 1KiB. Fix: use a size from 1KiB to 1GiB."},
		{"http_body_limit", "2GB", "", "above the maximum of 1GiB. Fix: use a size from 1KiB to 1GiB."},
		{"http_body_limit", "99999999999999999999GiB", "", "above the maximum of 1GiB. Fix: use a size from 1KiB to 1GiB."},
		{"http_read_timeout", "0s", "", "must be more than 0. Fix: use a duration above 0 and at most 1h."},
		{"http_write_timeout", "-5s", "", "must be more than 0. Fix: use a duration above 0 and at most 1h."},
		{"http_idle_timeout", "61m", "", "above the maximum of 1h. Fix: use a duration above 0 and at most 1h."},
		{"shutdown_timeout", "0", "", "must be more than 0. Fix: use a duration above 0 and at most 10m."},
		{"shutdown_timeout", "10m1s", "", "above the maximum of 10m. Fix: use a duration above 0 and at most 10m."},
		{"cors_allowed_origins", "*", "", "a wildcard would let every website call identityd from its visitors' browsers. Fix: list the origins, e.g. https://app.example.com."},
		{"cors_allowed_origins", "https://app.example.com/", "", "must be only scheme://host[:port], without path, query or fragment. Fix: use https://app.example.com."},
		{"cors_allowed_origins", "https://app.example.com:8443/login?x=1", "", "must be only scheme://host[:port], without path, query or fragment. Fix: use https://app.example.com:8443."},
		{"cors_allowed_origins", "https://app.example.com#x", "", "must be only scheme://host[:port], without path, query or fragment. Fix: use https://app.example.com."},
		{"cors_allowed_origins", "https://me:pw@app.example.com", "", "must not contain user info. Fix: use https://app.example.com."},
		{"cors_allowed_origins", "app.example.com", "", "scheme must be http or https. Fix: list each origin as scheme://host[:port], e.g. https://app.example.com."},
		{"cors_allowed_origins", "localhost:3000", "", "scheme must be http or https. Fix: list each origin as scheme://host[:port], e.g. https://app.example.com."},
		{"cors_allowed_origins", "ftp://files.example.com", "", "scheme must be http or https. Fix: list each origin as scheme://host[:port], e.g. https://app.example.com."},
		{"cors_allowed_origins", "https://", "", "has no host. Fix: list each origin as scheme://host[:port], e.g. https://app.example.com."},
		{"cors_allowed_origins", "https://*.example.com", "", "host is not an IP address or host name. Fix: list each origin as scheme://host[:port], e.g. https://app.example.com."},
		{"cors_allowed_origins", "https://app.example.com:0", "", "port must be a number from 1 to 65535. Fix: list each origin as scheme://host[:port], e.g. https://app.example.com."},
		{"cors_allowed_origins", "https://app.example.com, https://%zz", `"https://%zz"`, "not an origin. Fix: list each origin as scheme://host[:port], e.g. https://app.example.com."},
		{"rate_limit_requests", "-1", "", "below the minimum of 0. Fix: use a whole number from 0 to 1000000."},
		{"rate_limit_requests", "1000001", "", "above the maximum of 1000000. Fix: use a whole number from 0 to 1000000."},
		{"rate_limit_window", "500ms", "", "below the minimum of 1s. Fix: use a duration from 1s to 1h."},
		{"rate_limit_window", "1h0m1s", "", "above the maximum of 1h. Fix: use a duration from 1s to 1h."},
		{"trusted_proxies", "10.0.0.1/8", "", "has bits set beyond the /8 prefix. Fix: use 10.0.0.0/8 for the range, or 10.0.0.1 for the one address."},
		{"trusted_proxies", "0.0.0.0/0", "", "trusts every address, so any client could forge X-Forwarded-For. Fix: list only the addresses of your proxies."},
		{"trusted_proxies", "::/0", "", "trusts every address, so any client could forge X-Forwarded-For. Fix: list only the addresses of your proxies."},
		{"trusted_proxies", "10.0.0.0/33", "", "not an IP address or CIDR. Fix: use an address such as 10.0.0.1 or a range such as 10.0.0.0/8."},
		{"trusted_proxies", "proxy.internal", "", "not an IP address or CIDR. Fix: use an address such as 10.0.0.1 or a range such as 10.0.0.0/8."},
		{"trusted_proxies", "fe80::1%eth0", "", "has an IPv6 zone. Fix: use the address without %eth0."},
		{"jobs_max_workers", "0", "", "below the minimum of 1. Fix: use a whole number from 1 to 1000."},
		{"jobs_max_workers", "1001", "", "above the maximum of 1000. Fix: use a whole number from 1 to 1000."},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			bothSources(t, tt.key, tt.value, func(t *testing.T, src config.Sources, source string) {
				shown := tt.shown
				if shown == "" {
					shown = quote(tt.value)
				}
				wantError(t, src, tt.key+" = "+shown+" (from "+source+"): "+tt.want)
			})
		})
	}
}

func TestEveryBadItemOfAListIsReported(t *testing.T) {
	wantError(t, config.Sources{Dev: true, Env: []string{"IDENTITYD_TRUSTED_PROXIES=10.0.0.1,nope,10.0.0.0/8,0.0.0.0/0"}}, ""+
		`trusted_proxies = "nope" (from IDENTITYD_TRUSTED_PROXIES): not an IP address or CIDR. Fix: use an address such as 10.0.0.1 or a range such as 10.0.0.0/8.`+"\n"+
		`trusted_proxies = "0.0.0.0/0" (from IDENTITYD_TRUSTED_PROXIES): trusts every address, so any client could forge X-Forwarded-For. Fix: list only the addresses of your proxies.`)
}

func TestValuesAreTrimmedAndEmptyListItemsDropped(t *testing.T) {
	c := mustLoad(t, config.Sources{Dev: true, Env: []string{
		"IDENTITYD_LOG_LEVEL=  debug \n",
		"IDENTITYD_CORS_ALLOWED_ORIGINS= https://a.example.com ,, https://b.example.com, ",
	}})
	if c.LogLevel != slog.LevelDebug {
		t.Errorf("LogLevel = %v, want debug", c.LogLevel)
	}
	if want := []string{"https://a.example.com", "https://b.example.com"}; !reflect.DeepEqual(c.CORSAllowedOrigins, want) {
		t.Errorf("CORSAllowedOrigins = %q, want %q", c.CORSAllowedOrigins, want)
	}
}
