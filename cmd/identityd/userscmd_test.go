package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/identityd/identityd/config"
	"github.com/identityd/identityd/store/storetest"
)

// userIDLine is the whole of what users create prints on stdout.
var userIDLine = regexp.MustCompile(`^[a-z2-7]{16}\n$`)

// usersEnv is an operator's environment with the quickest password hashing identityd
// accepts.
func usersEnv(url string) []string {
	return append(dbEnv(url), "IDENTITYD_PASSWORD_HASH_MEMORY=7MiB", "IDENTITYD_PASSWORD_HASH_ITERATIONS=1")
}

func TestUsersCreatePrintsTheIDAndTakesThePasswordOnlyFromStdin(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, url string) {
		env := usersEnv(url)
		mustRun(t, env, "migrate", "up")
		o := runWithStdin(t, env, "violet kettle drum 42\n", "users", "create", "--email", "ada@example.com",
			"--name", "Ada Lovelace", "--username", "ada", "--verified", "--password-stdin", "--metadata", `{"team":"engines"}`)
		if o.code != exitOK || !userIDLine.MatchString(o.stdout) {
			t.Fatalf("users create: %v", o)
		}
		id := strings.TrimSpace(o.stdout)

		out := mustRun(t, env, "users", "list", "--output", "json", "--query", "ADA")
		var u struct {
			ID, Email, Username, Name string
			EmailVerified             bool `json:"email_verified"`
			HasPassword               bool `json:"has_password"`
			Metadata                  map[string]any
		}
		if err := json.Unmarshal([]byte(out.stdout), &u); err != nil {
			t.Fatalf("list output %q: %v", out.stdout, err)
		}
		if u.ID != id || !u.EmailVerified || !u.HasPassword || u.Metadata["team"] != "engines" || u.Username != "ada" {
			t.Errorf("listed %+v", u)
		}
		table := mustRun(t, env, "users", "list").stdout
		if !strings.HasPrefix(table, "ID") || !strings.Contains(table, "ada@example.com") {
			t.Errorf("table:\n%s", table)
		}

		o = runWithStdin(t, env, "violet kettle drum 42\n", "users", "create", "--email", "ADA@example.com", "--password-stdin")
		if o.code != exitFailure || !strings.Contains(o.stderr, "another user already has this email") {
			t.Errorf("a duplicate: %v", o)
		}
		o = wantUsage(t, env, "users", "create", "--email", "not an address", "--username", "a b")
		if !strings.Contains(o.stderr, "--email: ") || !strings.Contains(o.stderr, "--username: ") {
			t.Errorf("field errors: %s", o.stderr)
		}
		o = runWithStdin(t, env, "password\n", "users", "create", "--email", "b@example.com", "--password-stdin")
		if o.code != exitUsage || strings.Contains(o.stderr, "password\n") || !strings.Contains(o.stderr, "--password-stdin: ") {
			t.Errorf("a common password: %v", o)
		}
		wantUsage(t, env, "users", "create", "--email", "c@example.com", "--password-stdin")
		wantUsage(t, env, "users", "list", "--limit", "0")
		wantUsage(t, env, "users", "list", "--status", "sleeping")
		wantUsage(t, env, "users", "list", "--output", "xml")

		db := openTestStore(t, url)
		var n int
		if err := db.QueryRow(context.Background(), `SELECT count(*) FROM users`).Scan(&n); err != nil || n != 1 {
			t.Errorf("%d users (%v), want 1", n, err)
		}
	})
}

func TestUsersImportReportsEveryRejectedLineAndCanBeRunAgain(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, url string) {
		env := usersEnv(url)
		mustRun(t, env, "migrate", "up")
		file := filepath.Join(t.TempDir(), "users.jsonl")
		content := `{"email":"ada@example.com","password_hash":"pbkdf2_sha256$260000$Yb2Ds1cK9wQz$V1mP3oUd3lxEzgCs5FB22mF9lXpcIWJoZyHxIDpUmcE="}
{"email":"oops"}
{"email":"grace@example.com","name":"Grace","role":"admin"}
{"email":"alan@example.com"}
`
		if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		o := runCLI(t, env, "users", "import", file)
		if o.code != exitFailure {
			t.Fatalf("an import with rejected lines: %v", o)
		}
		if o.stdout != "created 2, skipped 0 (already present), rejected 2\n" {
			t.Errorf("summary %q", o.stdout)
		}
		if !strings.Contains(o.stderr, "line 2: email: ") || !strings.Contains(o.stderr, `line 3: line: must be one JSON object with known fields: unknown field "role"`) {
			t.Errorf("rejections:\n%s", o.stderr)
		}
		o = runWithStdin(t, env, content, "users", "import", "-")
		if o.stdout != "created 0, skipped 2 (already present), rejected 2\n" {
			t.Errorf("second import from stdin: %v", o)
		}
		wantUsage(t, env, "users", "import", filepath.Join(t.TempDir(), "missing.jsonl"))
		wantUsage(t, env, "users", "import")
	})
}

func TestPasswordsCalibrateSuggestsSettingsForThisMachine(t *testing.T) {
	o := mustRun(t, nil, "passwords", "calibrate", "--target", "30ms", "--memory-mib", "8")
	for _, want := range []string{"IDENTITYD_PASSWORD_HASH_MEMORY=", "IDENTITYD_PASSWORD_HASH_ITERATIONS=", "IDENTITYD_PASSWORD_HASH_PARALLELISM=1"} {
		if !strings.Contains(o.stdout, want) {
			t.Errorf("output lacks %s:\n%s", want, o.stdout)
		}
	}
	var suggested []string
	for _, l := range lines(o.stdout) {
		if strings.HasPrefix(l, "IDENTITYD_") {
			suggested = append(suggested, l)
		}
	}
	if _, err := config.Load(config.Sources{Env: suggested}); err != nil {
		t.Errorf("the suggested settings %q do not load: %v", suggested, err)
	}
	wantUsage(t, nil, "passwords", "calibrate", "--target", "1ns")
	wantUsage(t, nil, "passwords", "calibrate", "--memory-mib", "1")
	wantUsage(t, nil, "passwords", "calibrate", "--parallelism", "0")
}
