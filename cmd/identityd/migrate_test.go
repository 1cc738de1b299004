package main

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
)

// knownMigrations lists the migrations this binary has, as the store reports them.
func knownMigrations(t *testing.T, url string) []store.MigrationStatus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := store.Open(ctx, url, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	m, err := store.NewMigrator(db)
	if err != nil {
		t.Fatal(err)
	}
	list, err := m.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) < 2 {
		t.Fatalf("only %d migrations known; the test needs at least 2", len(list))
	}
	return list
}

// schemaVersion runs migrate version and returns what it printed.
func schemaVersion(t *testing.T, env []string) int64 {
	t.Helper()
	o := mustRun(t, env, "migrate", "version")
	v, err := strconv.ParseInt(strings.TrimSuffix(o.stdout, "\n"), 10, 64)
	if err != nil || !strings.HasSuffix(o.stdout, "\n") || strings.Count(o.stdout, "\n") != 1 {
		t.Fatalf("migrate version printed %q, want one number on one line", o.stdout)
	}
	return v
}

// wantStatus checks migrate status: a header, then each known migration in order,
// applied up to and including version applied and pending after it.
func wantStatus(t *testing.T, env []string, known []store.MigrationStatus, applied int64) {
	t.Helper()
	o := mustRun(t, env, "migrate", "status")
	got := lines(o.stdout)
	if len(got) != len(known)+1 || !regexp.MustCompile(`^VERSION\s+STATE\s+APPLIED AT\s+MIGRATION$`).MatchString(got[0]) {
		t.Fatalf("migrate status: want a header and %d migrations, got:\n%s", len(known), o.stdout)
	}
	appliedRow := regexp.MustCompile(`^(\d+)\s+applied\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\s+(.+)$`)
	pendingRow := regexp.MustCompile(`^(\d+)\s+pending\s+-\s+(.+)$`)
	for i, k := range known {
		row, re := got[i+1], pendingRow
		if k.Version <= applied {
			re = appliedRow
		}
		m := re.FindStringSubmatch(row)
		if m == nil || m[1] != strconv.FormatInt(k.Version, 10) || m[2] != k.Name {
			t.Errorf("migrate status row %q: want %d %s, %s", row, k.Version, k.Name,
				map[bool]string{true: "applied", false: "pending"}[k.Version <= applied])
		}
	}
}

// wantReport checks the lines migrate up or down printed: verb, version and name of
// each migration in order, and how long it took.
func wantReport(t *testing.T, o outcome, verb string, want []store.MigrationStatus) {
	t.Helper()
	got := lines(o.stdout)
	if len(got) != len(want) {
		t.Fatalf("want %d %q lines, got:\n%s", len(want), verb, o.stdout)
	}
	for i, k := range want {
		re := regexp.MustCompile(`^` + verb + ` ` + strconv.FormatInt(k.Version, 10) + ` ` + regexp.QuoteMeta(k.Name) + ` \(\S+\)$`)
		if !re.MatchString(got[i]) {
			t.Errorf("line %q: want %s %d %s (duration)", got[i], verb, k.Version, k.Name)
		}
	}
}

// createEmpty makes the database at url exist, with no schema. A PostgreSQL database
// from the harness already does; an SQLite file is created by opening it.
func createEmpty(t *testing.T, url string) {
	t.Helper()
	db, err := store.Open(context.Background(), url, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
}

func TestMigrateAppliesRevertsAndReportsEveryMigration(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, url string) {
		createEmpty(t, url)
		env := dbEnv(url)

		o := mustRun(t, env, "migrate", "version")
		if o.stdout != "0\n" {
			t.Fatalf("migrate version on an empty database printed %q, want 0", o.stdout)
		}
		known := knownMigrations(t, url)
		latest := known[len(known)-1].Version
		if want := fmt.Sprintf("%d migration(s) pending: run identityd migrate up\n", len(known)); o.stderr != want {
			t.Errorf("migrate version on an empty database: stderr %q, want %q", o.stderr, want)
		}
		wantStatus(t, env, known, 0)

		wantReport(t, mustRun(t, env, "migrate", "up"), "applied", known)
		if v := schemaVersion(t, env); v != latest {
			t.Errorf("after migrate up: version %d, want the latest, %d", v, latest)
		}
		wantStatus(t, env, known, latest)

		if o := mustRun(t, env, "migrate", "up"); o.stdout != "nothing to do\n" {
			t.Errorf("second migrate up printed %q, want \"nothing to do\"", o.stdout)
		}

		wantReport(t, mustRun(t, env, "migrate", "down"), "reverted", known[len(known)-1:])
		if v := schemaVersion(t, env); v != known[len(known)-2].Version {
			t.Errorf("after migrate down: version %d, want %d", v, known[len(known)-2].Version)
		}

		var rest []store.MigrationStatus
		for i := len(known) - 2; i >= 0; i-- {
			rest = append(rest, known[i])
		}
		wantReport(t, mustRun(t, env, "migrate", "down", "--to", "0"), "reverted", rest)
		if v := schemaVersion(t, env); v != 0 {
			t.Errorf("after migrate down --to 0: version %d, want 0", v)
		}
		wantStatus(t, env, known, 0)

		wantReport(t, mustRun(t, env, "migrate", "up", "--to", "1"), "applied", known[:1])
		if v := schemaVersion(t, env); v != 1 {
			t.Errorf("after migrate up --to 1: version %d, want 1", v)
		}
		wantStatus(t, env, known, 1)

		o = wantUsage(t, env, "migrate", "down", "--to", "-1")
		if !strings.Contains(o.stderr, "--to must be 0 or more") || o.stdout != "" {
			t.Errorf("migrate down --to -1: %v", o)
		}
		if v := schemaVersion(t, env); v != 1 {
			t.Errorf("after a refused migrate down: version %d, want it unchanged at 1", v)
		}
	})
}

func TestMigrateDownWithNothingAppliedHasNothingToDo(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, url string) {
		createEmpty(t, url)
		env := dbEnv(url)
		for _, args := range [][]string{{"migrate", "down"}, {"migrate", "down", "--to", "0"}} {
			if o := mustRun(t, env, args...); o.stdout != "nothing to do\n" {
				t.Errorf("%q on an empty database: %v, want \"nothing to do\"", args, o)
			}
		}
		mustRun(t, env, "migrate", "up", "--to", "1")
		mustRun(t, env, "migrate", "down")
		if o := mustRun(t, env, "migrate", "down"); o.stdout != "nothing to do\n" {
			t.Errorf("migrate down after reverting everything: %v, want \"nothing to do\"", o)
		}
		if v := schemaVersion(t, env); v != 0 {
			t.Errorf("version %d, want 0", v)
		}
	})
}

func TestMigrateRefusesAnImpossibleTargetBeforeOpeningTheDatabase(t *testing.T) {
	// Nothing listens there: a usage mistake must not wait for the connect timeout.
	env := []string{"IDENTITYD_DATABASE_URL=postgres://u:pw@127.0.0.1:1/db", "IDENTITYD_DATABASE_CONNECT_TIMEOUT=20s"}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"migrate", "down", "--to", "-1"}, "identityd: --to must be 0 or more\n"},
		{[]string{"migrate", "up", "--to", "0"}, "identityd: --to must be 1 or more\n"},
		{[]string{"migrate", "up", "--to", "-3"}, "identityd: --to must be 1 or more\n"},
	} {
		start := time.Now()
		o := wantUsage(t, env, tt.args...)
		if o.stderr != tt.want || o.stdout != "" {
			t.Errorf("%q: %v, want only %q", tt.args, o, tt.want)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("%q took %s: the database was tried before the flags were checked", tt.args, d)
		}
	}
}

func TestMigrateNeedsOnlyADatabase(t *testing.T) {
	// No issuer and no encryption key: operator commands must not ask for them.
	url := storetest.SQLiteURL(t)
	mustRun(t, dbEnv(url), "migrate", "up")
	mustRun(t, dbEnv(url), "admin", "token", "list")
	mustRun(t, dbEnv(url), "jobs", "list")
}

func TestCommandsRefuseAMissingSQLiteFileAndCreateNothing(t *testing.T) {
	url := storetest.SQLiteURL(t)
	path := strings.TrimPrefix(url, "sqlite:")
	env := dbEnv(url)
	for _, args := range [][]string{
		{"migrate", "status"}, {"migrate", "version"}, {"migrate", "down"},
		{"admin", "token", "list"}, {"admin", "token", "create"}, {"jobs", "list"},
	} {
		o := runCLI(t, env, args...)
		if o.code != 1 || !strings.Contains(o.stderr, "no database at "+path) || !strings.Contains(o.stderr, "migrate up") {
			t.Errorf("%q on a missing file: %v", args, o)
		}
		if _, err := os.Stat(path); err == nil {
			t.Fatalf("%q created %s", args, path)
		}
	}
	mustRun(t, env, "migrate", "up")
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("migrate up did not create the database: %v", err)
	}
}

func TestCommandsOnAnUnmigratedDatabaseSayToMigrate(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, url string) {
		createEmpty(t, url)
		env := dbEnv(url)
		for _, args := range [][]string{{"admin", "token", "create"}, {"admin", "token", "list"}, {"jobs", "list"}} {
			o := runCLI(t, env, args...)
			if o.code != 1 || !strings.Contains(o.stderr, "run identityd migrate up") || o.stdout != "" {
				t.Errorf("%q on an unmigrated database: %v", args, o)
			}
		}
	})
}

func TestMigrateUpRefusesAVersionThatDoesNotExist(t *testing.T) {
	url := storetest.SQLiteURL(t)
	env := dbEnv(url)
	o := wantUsage(t, env, "migrate", "up", "--to", "99")
	if !strings.Contains(o.stderr, "no such migration") {
		t.Fatalf("migrate up --to 99: %v", o)
	}
	if v := schemaVersion(t, env); v != 0 {
		t.Fatalf("a refused migrate up changed the version to %d", v)
	}
}
