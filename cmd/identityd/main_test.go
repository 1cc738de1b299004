package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/identityd/identityd/audit/audittest"
	"github.com/identityd/identityd/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// outcome is what one command line did.
type outcome struct {
	code           int
	stdout, stderr string
}

func (o outcome) String() string {
	return fmt.Sprintf("exit %d\n--- stdout:\n%s--- stderr:\n%s", o.code, o.stdout, o.stderr)
}

// runCLI runs one command line in-process with exactly the environment vars.
func runCLI(t *testing.T, vars []string, args ...string) outcome {
	t.Helper()
	return runWithStdin(t, vars, "", args...)
}

// runWithStdin is runCLI with stdin holding stdin.
func runWithStdin(t *testing.T, vars []string, stdin string, args ...string) outcome {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := run(ctx, args, vars, strings.NewReader(stdin), &stdout, &stderr)
	return outcome{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// mustRun runs a command line that must succeed.
func mustRun(t *testing.T, vars []string, args ...string) outcome {
	t.Helper()
	o := runCLI(t, vars, args...)
	if o.code != exitOK {
		t.Fatalf("identityd %s: %v", strings.Join(args, " "), o)
	}
	return o
}

// wantUsage runs a command line that must exit 2.
func wantUsage(t *testing.T, vars []string, args ...string) outcome {
	t.Helper()
	o := runCLI(t, vars, args...)
	if o.code != exitUsage {
		t.Fatalf("identityd %s: want exit %d (usage), got %v", strings.Join(args, " "), exitUsage, o)
	}
	return o
}

// dbEnv is an operator's environment for the database at url: its URL and the
// encryption keys that changes need for the audit log (audittest.Key, so that tests can
// verify what the commands recorded).
func dbEnv(url string) []string {
	return []string{"IDENTITYD_DATABASE_URL=" + url,
		"IDENTITYD_ENCRYPTION_KEYS=" + base64.StdEncoding.EncodeToString(audittest.Key)}
}

// newKey is a fresh encryption key as IDENTITYD_ENCRYPTION_KEYS takes it.
func newKey(t *testing.T) string {
	t.Helper()
	return base64.StdEncoding.EncodeToString(randomBytes(t, 32))
}

// prodEnv is a complete production configuration, with secrets a test can look for.
func prodEnv(t *testing.T, key string) []string {
	return []string{
		"IDENTITYD_DATA_DIR=" + filepath.Join(t.TempDir(), "data"),
		"IDENTITYD_DATABASE_URL=postgres://identityd:s3cret-db-pw@db.example.com:5432/identityd",
		"IDENTITYD_ISSUER=https://id.example.com",
		"IDENTITYD_ENCRYPTION_KEYS=" + key,
	}
}

// freeAddr is a loopback address with a port nobody listened on a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// lines splits output into its lines, without the final newline.
func lines(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func TestVersionPrintsTheVersionGoVersionAndPlatform(t *testing.T) {
	o := mustRun(t, nil, "version")
	want := regexp.MustCompile(`^identityd \S+ \(go\S+, ` + runtime.GOOS + `/` + runtime.GOARCH + `\)\n$`)
	if !want.MatchString(o.stdout) {
		t.Errorf("stdout %q does not match %s", o.stdout, want)
	}
	if !strings.Contains(o.stdout, "("+runtime.Version()+", ") {
		t.Errorf("stdout %q does not name %s", o.stdout, runtime.Version())
	}
	if o.stderr != "" {
		t.Errorf("stderr = %q, want nothing", o.stderr)
	}
}

func TestMistakesInTheCommandLineExitWithTheUsageCode(t *testing.T) {
	tests := []struct {
		args []string
		want string // in stderr
	}{
		{[]string{"frobnicate"}, `unknown command "frobnicate" for "identityd"`},
		{[]string{"migrat"}, `did you mean migrate?`},
		// A typo in a subcommand must not pass for success in a deploy script.
		{[]string{"migrate", "upp"}, `unknown command "upp" for "identityd migrate"; did you mean up?`},
		{[]string{"admin", "token", "revok", "abc"}, `unknown command "revok" for "identityd admin token"`},
		{[]string{"admin", "tokens"}, `unknown command "tokens" for "identityd admin"`},
		{[]string{"config", "check"}, `unknown command "check" for "identityd config"`},
		{[]string{"jobs", "ls"}, `unknown command "ls" for "identityd jobs"`},
		{[]string{"clients", "creat"}, `unknown command "creat" for "identityd clients"; did you mean create?`},
		{[]string{"keys", "rotat"}, `unknown command "rotat" for "identityd keys"; did you mean rotate?`},
		{[]string{"keys", "rotate", "--immediately"}, "unknown flag: --immediately"},
		{[]string{"keys", "rotate", "now"}, "accepts 0 arg(s), received 1"},
		{[]string{"clients", "rotate-secret"}, "accepts 1 arg(s), received 0"},
		{[]string{"version", "--verbose"}, "unknown flag: --verbose"},
		{[]string{"migrate", "up", "--dry-run"}, "unknown flag: --dry-run"},
		{[]string{"migrate", "--dry-run"}, "unknown flag: --dry-run"},
		{[]string{"migrate", "up", "--to", "two"}, `invalid argument "two"`},
		{[]string{"admin", "token", "create", "--ttl", "soon"}, `invalid argument "soon"`},
		{[]string{"version", "extra"}, "accepts 0 arg(s), received 1"},
		{[]string{"migrate", "status", "extra"}, "accepts 0 arg(s), received 1"},
		{[]string{"admin", "token", "revoke"}, "accepts 1 arg(s), received 0"},
		{[]string{"admin", "token", "revoke", "a", "b"}, "accepts 1 arg(s), received 2"},
		{[]string{"serve", "now"}, "accepts 0 arg(s), received 1"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			o := wantUsage(t, nil, tt.args...)
			if !strings.HasPrefix(o.stderr, "identityd: ") || !strings.Contains(o.stderr, tt.want) {
				t.Errorf("stderr = %q, want identityd: …%s…", o.stderr, tt.want)
			}
			if o.stdout != "" {
				t.Errorf("stdout = %q, want nothing", o.stdout)
			}
		})
	}
}

func TestACommandGroupAloneShowsItsHelp(t *testing.T) {
	for _, args := range [][]string{{}, {"migrate"}, {"admin", "token"}, {"jobs"}, {"migrate", "--help"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			o := mustRun(t, nil, args...)
			if !strings.Contains(o.stdout, "Available Commands:") {
				t.Errorf("stdout is not the help:\n%s", o.stdout)
			}
		})
	}
}
