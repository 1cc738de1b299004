package config_test

import (
	"reflect"
	"testing"

	"github.com/identityd/identityd/config"
)

func TestUnknownFileKeysAreProblemsWithASuggestionWhenOneIsClose(t *testing.T) {
	tests := []struct{ yaml, want string }{
		{"log_levle: debug\n", "log_levle (from config.yaml line 1): not a known setting; did you mean log_level? Fix: rename it to log_level."},
		{"LOG_LEVEL: debug\n", "LOG_LEVEL (from config.yaml line 1): not a known setting; did you mean log_level? Fix: rename it to log_level."},
		{"log-level: debug\n", "log-level (from config.yaml line 1): not a known setting; did you mean log_level? Fix: rename it to log_level."},
		{"IDENTITYD_ISSUER: https://id.example.com\n", "IDENTITYD_ISSUER (from config.yaml line 1): not a known setting; did you mean issuer? Fix: rename it to issuer."},
		{"database_url_fil: db-url\n", "database_url_fil (from config.yaml line 1): not a known setting; did you mean database_url_file? Fix: rename it to database_url_file."},
		{"log_level_file: level\n", "log_level_file (from config.yaml line 1): only secret settings can be read from a file. Fix: set log_level to the value itself."},
		{"colour: red\n", "colour (from config.yaml line 1): not a known setting. Fix: remove it, or correct it to one of the settings listed in the README."},
		{"\"bad\\ekey\": 1\n", `"bad\x1bkey" (from config.yaml line 1): not a known setting. Fix: remove it, or correct it to one of the settings listed in the README.`},
		{"log_level: info\n? [a, b]\n: 1\n", "config file (from config.yaml line 2): a setting name must be plain text, got a list. Fix: write one setting per line, e.g. log_level: info."},
	}
	for _, tt := range tests {
		t.Run(tt.yaml, func(t *testing.T) {
			inTempDir(t)
			wantError(t, config.Sources{Dev: true, File: writeFile(t, "config.yaml", tt.yaml)}, tt.want)
		})
	}
}

func TestMisspeltEnvironmentVariablesAreProblemsAndOthersAreIgnored(t *testing.T) {
	ignored := []string{
		// What Kubernetes injects for a service named identityd.
		"IDENTITYD_PORT=tcp://10.96.0.12:8080",
		"IDENTITYD_PORT_8080_TCP=tcp://10.96.0.12:8080",
		"IDENTITYD_PORT_8080_TCP_ADDR=10.96.0.12",
		"IDENTITYD_SERVICE_HOST=10.96.0.12",
		"IDENTITYD_SERVICE_PORT=8080",
		// Test-only variables, however close to a setting.
		"IDENTITYD_TEST_LOG_LEVEL=debug",
		"IDENTITYD_TEST_DATABASE_URL=postgres://localhost/test",
		// Other programs' variables, and unrelated names of ours.
		"PATH=/usr/bin",
		"HOME=/root",
		"IDENTITYD_CONFIG=/etc/identityd.yaml",
		"NOEQUALSSIGN",
	}
	mustLoad(t, config.Sources{Dev: true, Env: ignored})

	wantError(t, config.Sources{Dev: true, Env: append(ignored,
		"IDENTITYD_LOG_LEVLE=debug",
		"IDENTITYD_ISUER=https://id.example.com",
		"IDENTITY_DATA_DIR=/data",
		"identityd_log_format=text",
		"IDENTITYD_DATABASE_URL_FIL=/run/secrets/db",
		"IDENTITYD_LOG_LEVEL_FILE=/run/level",
	)}, ""+
		"IDENTITYD_DATABASE_URL_FIL (from environment): not a known setting; did you mean IDENTITYD_DATABASE_URL_FILE? Fix: rename it to IDENTITYD_DATABASE_URL_FILE.\n"+
		"IDENTITYD_ISUER (from environment): not a known setting; did you mean IDENTITYD_ISSUER? Fix: rename it to IDENTITYD_ISSUER.\n"+
		"IDENTITYD_LOG_LEVEL_FILE (from environment): only secret settings can be read from a file. Fix: set IDENTITYD_LOG_LEVEL to the value itself.\n"+
		"IDENTITYD_LOG_LEVLE (from environment): not a known setting; did you mean IDENTITYD_LOG_LEVEL? Fix: rename it to IDENTITYD_LOG_LEVEL.\n"+
		"IDENTITY_DATA_DIR (from environment): not a known setting; did you mean IDENTITYD_DATA_DIR? Fix: rename it to IDENTITYD_DATA_DIR.\n"+
		"identityd_log_format (from environment): not a known setting; did you mean IDENTITYD_LOG_FORMAT? Fix: rename it to IDENTITYD_LOG_FORMAT.")
}

func TestTheLastOfRepeatedEnvironmentPairsWins(t *testing.T) {
	c := mustLoad(t, config.Sources{Dev: true, Env: []string{"IDENTITYD_JOBS_MAX_WORKERS=2", "IDENTITYD_JOBS_MAX_WORKERS=3"}})
	if c.JobsMaxWorkers != 3 {
		t.Errorf("JobsMaxWorkers = %d, want 3", c.JobsMaxWorkers)
	}
}

func TestWrongYAMLKindsAreProblems(t *testing.T) {
	tests := []struct{ name, yaml, want string }{
		{
			"a list where a single value is expected",
			"log_level:\n  - debug\n",
			"log_level (from config.yaml line 1): expected a single value, got a list. Fix: write a single value, as in log_level: value.",
		},
		{
			"a mapping where a single value is expected",
			"public_addr: {host: 0.0.0.0, port: 8080}\n",
			"public_addr (from config.yaml line 1): expected a single value, got a mapping. Fix: write a single value, as in public_addr: value.",
		},
		{
			"a mapping where a list is expected",
			"cors_allowed_origins: {app: https://app.example.com}\n",
			"cors_allowed_origins (from config.yaml line 1): expected a list or a single value, got a mapping. Fix: write a list of values, or the values comma-separated on one line.",
		},
		{
			"a list inside a list",
			"trusted_proxies:\n  - 10.0.0.1\n  - [10.0.0.2]\n",
			"trusted_proxies (from config.yaml line 1): expected a list of single values, item 2 is a list. Fix: write each item as a single value, or all of them comma-separated on one line.",
		},
		{
			"a list of files for a secret",
			"database_url_file: [a, b]\n",
			"database_url (from config.yaml line 1): expected a single value, got a list. Fix: write a single value, as in database_url_file: value.",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inTempDir(t)
			wantError(t, config.Sources{Dev: true, File: writeFile(t, "config.yaml", tt.yaml)}, tt.want)
		})
	}
}

func TestListsAcceptAYAMLSequenceOrACommaSeparatedString(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		env  []string
		want []string
	}{
		{"a sequence", "cors_allowed_origins:\n  - https://a.example.com\n  - https://b.example.com\n", nil,
			[]string{"https://a.example.com", "https://b.example.com"}},
		{"a flow sequence", "cors_allowed_origins: [https://a.example.com, https://b.example.com]\n", nil,
			[]string{"https://a.example.com", "https://b.example.com"}},
		{"a comma-separated string", "cors_allowed_origins: https://a.example.com,https://b.example.com\n", nil,
			[]string{"https://a.example.com", "https://b.example.com"}},
		{"a sequence with null items skipped", "cors_allowed_origins: [https://a.example.com, ~, '']\n", nil,
			[]string{"https://a.example.com"}},
		{"an alias to an anchored sequence", "x-origins: &o [https://a.example.com]\ncors_allowed_origins: *o\n", nil, nil},
		{"an empty sequence overrides nothing below it", "cors_allowed_origins: []\n", nil, nil},
		{"the environment replaces the file's list", "cors_allowed_origins: [https://a.example.com]\n",
			[]string{"IDENTITYD_CORS_ALLOWED_ORIGINS=https://c.example.com"}, []string{"https://c.example.com"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inTempDir(t)
			c, err := config.Load(config.Sources{Dev: true, File: writeFile(t, "config.yaml", tt.yaml), Env: tt.env})
			if tt.name == "an alias to an anchored sequence" {
				// x-origins is not a setting, so the anchor's key is a problem, but the alias resolves.
				want := "x-origins (from config.yaml line 1): not a known setting. Fix: remove it, or correct it to one of the settings listed in the README."
				if err == nil || err.Error() != want {
					t.Fatalf("got %v, want %s", err, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c.CORSAllowedOrigins, tt.want) {
				t.Errorf("CORSAllowedOrigins = %q, want %q", c.CORSAllowedOrigins, tt.want)
			}
		})
	}
}

func TestAnAliasedScalarIsReadThroughItsAnchor(t *testing.T) {
	inTempDir(t)
	file := writeFile(t, "config.yaml", "public_addr: &addr 127.0.0.1:9000\nadmin_addr: *addr\n")
	c := mustLoad(t, config.Sources{Dev: true, File: file})
	if c.AdminAddr != "127.0.0.1:9000" {
		t.Errorf("AdminAddr = %q, want the anchored 127.0.0.1:9000", c.AdminAddr)
	}
}

func TestFileLevelProblems(t *testing.T) {
	tests := []struct{ name, yaml, want string }{
		{
			"malformed YAML names the file and quotes the parser",
			"log_level: info\ncors_allowed_origins: [https://a.example.com\n",
			"config file (from config.yaml): not valid YAML: line 1: did not find expected ',' or ']'. Fix: correct the YAML syntax.",
		},
		{
			"a tab for indentation",
			"\tlog_level: info\n",
			"config file (from config.yaml): not valid YAML: found character that cannot start any token. Fix: correct the YAML syntax.",
		},
		{
			"a list at the top level",
			"- log_level: info\n",
			"config file (from config.yaml line 1): the top level must map setting names to values, got a list. Fix: write one setting per line, e.g. log_level: info.",
		},
		{
			"a single value at the top level",
			"log_level\n",
			"config file (from config.yaml line 1): the top level must map setting names to values, got a single value. Fix: write one setting per line, e.g. log_level: info.",
		},
		{
			"a second document",
			"log_level: info\n---\nlog_level: debug\n",
			"config file (from config.yaml line 2): holds a second YAML document. Fix: keep a single document, without another ---.",
		},
		{
			"a duplicate key",
			"log_level: info\nlog_format: text\nlog_level: debug\n",
			"log_level (from config.yaml line 3): set twice, first on line 1. Fix: keep one of them.",
		},
		{
			"a duplicate key whose first value is null",
			"log_level:\nlog_level: debug\n",
			"log_level (from config.yaml line 2): set twice, first on line 1. Fix: keep one of them.",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inTempDir(t)
			wantError(t, config.Sources{Dev: true, File: writeFile(t, "config.yaml", tt.yaml)}, tt.want)
		})
	}
}

func TestAMissingFileIsAProblem(t *testing.T) {
	inTempDir(t)
	wantError(t, config.Sources{Dev: true, File: "missing.yaml"},
		"config file (from missing.yaml): the file does not exist. Fix: create it, or name the right file.")
}

func TestAnUnreadableFileHidesRequiredProblemsItMayHaveAnswered(t *testing.T) {
	inTempDir(t)
	// Outside dev, issuer and encryption_keys are required; they may well be in the
	// broken file, so only the file is reported.
	wantError(t, config.Sources{File: writeFile(t, "config.yaml", "issuer: [\n")},
		"config file (from config.yaml): not valid YAML: line 1: did not find expected node content. Fix: correct the YAML syntax.")
}

func TestFilesThatSetNothingAreFine(t *testing.T) {
	for name, yaml := range map[string]string{
		"empty":         "",
		"only comments": "# identityd\n# nothing yet\n",
		"only null":     "~\n",
		"empty mapping": "{}\n",
	} {
		t.Run(name, func(t *testing.T) {
			inTempDir(t)
			c := mustLoad(t, config.Sources{Dev: true, File: writeFile(t, "config.yaml", yaml)})
			if want := devDefaults(); !reflect.DeepEqual(*c, want) {
				t.Errorf("got %+v, want the defaults", *c)
			}
		})
	}
}

func TestYAMLScalarsReachTheParserAsWritten(t *testing.T) {
	// YAML would read yes as a string and 0x14 as an int; identityd reads neither
	// differently from the environment.
	inTempDir(t)
	file := writeFile(t, "config.yaml", "migrate_on_start: yes\ndatabase_max_conns: 0x14\nmigrate_on_start_: 1\n")
	wantError(t, config.Sources{Dev: true, File: file}, ""+
		`database_max_conns = "0x14" (from config.yaml line 2): not a whole number. Fix: use a whole number from 4 to 1000.`+"\n"+
		`migrate_on_start = "yes" (from config.yaml line 1): not true or false. Fix: use true or false.`+"\n"+
		`migrate_on_start_ (from config.yaml line 3): not a known setting; did you mean migrate_on_start? Fix: rename it to migrate_on_start.`)
}
