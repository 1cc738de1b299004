package main

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/riverqueue/river"

	"github.com/identityd/identityd/jobs"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
)

// failArgs is a job whose every attempt fails.
type failArgs struct{}

func (failArgs) Kind() string { return "test.always_fails" }

type failWorker struct{ river.WorkerDefaults[failArgs] }

// failure is the error of every attempt; a remote server's reply can span lines.
const failure = "delivery failed: 554 relay access denied\nby policy"

func (failWorker) Work(context.Context, *river.Job[failArgs]) error { return errors.New(failure) }

// discardedJob makes the database at url hold one job that used up its only attempt,
// and returns its id.
func discardedJob(t *testing.T, url string) int64 {
	t.Helper()
	ctx := context.Background()
	db := openTestStore(t, url)
	workers := river.NewWorkers()
	river.AddWorker(workers, failWorker{})
	q, err := jobs.New(db, jobs.Config{Workers: workers, MaxWorkers: 1, PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var id int64
	err = db.Tx(ctx, func(tx *store.Tx) error {
		id, err = q.Enqueue(ctx, tx, failArgs{}, &river.InsertOpts{MaxAttempts: 1})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := q.Stop(sctx); err != nil {
			t.Errorf("stop the queue: %v", err)
		}
	}
	t.Cleanup(stop)
	deadline := time.Now().Add(30 * time.Second)
	for {
		list, err := q.List(ctx, jobs.ListParams{State: "discarded"})
		if err != nil {
			t.Fatal(err)
		}
		if len(list) == 1 && list[0].ID == id {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %d not discarded after 30s; discarded: %+v", id, list)
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	return id
}

func TestJobsListShowsADiscardedJobWithItsKindAndError(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, url string) {
		env := dbEnv(url)
		mustRun(t, env, "migrate", "up")
		id := discardedJob(t, url)

		o := mustRun(t, env, "jobs", "list", "--state", "discarded")
		rows := lines(o.stdout)
		if len(rows) != 2 || !regexp.MustCompile(`^ID\s+KIND\s+STATE\s+ATTEMPT\s+CREATED\s+LAST ERROR$`).MatchString(rows[0]) {
			t.Fatalf("want a header and one job, got:\n%s", o.stdout)
		}
		want := regexp.MustCompile(`^` + strconv.FormatInt(id, 10) + `\s+test\.always_fails\s+discarded\s+1/1\s+\S+\s+` +
			regexp.QuoteMeta("delivery failed: 554 relay access denied by policy") + `$`)
		if !want.MatchString(rows[1]) {
			t.Errorf("row %q: want id %d, kind, discarded, 1/1 and the error on one line", rows[1], id)
		}

		o = mustRun(t, env, "jobs", "list", "--state", "discarded", "--kind", "test.always_fails", "--output", "json")
		rows = lines(o.stdout)
		if len(rows) != 1 {
			t.Fatalf("json: want one line, got:\n%s", o.stdout)
		}
		var j jobs.Job
		if err := json.Unmarshal([]byte(rows[0]), &j); err != nil {
			t.Fatal(err)
		}
		if j.ID != id || j.Kind != "test.always_fails" || j.State != "discarded" || len(j.Errors) != 1 || j.Errors[0] != failure {
			t.Errorf("json: %+v, want the discarded job with its error as it was", j)
		}

		for _, args := range [][]string{
			{"--state", "completed"},
			{"--kind", "test.other"},
		} {
			o := mustRun(t, env, append([]string{"jobs", "list"}, args...)...)
			if rows := lines(o.stdout); len(rows) != 1 {
				t.Errorf("jobs list %q: want only the header, got:\n%s", args, o.stdout)
			}
		}
	})
}

func TestJobsListRefusesUnknownStatesAbsurdLimitsAndFormats(t *testing.T) {
	// Checked before the database is opened: this one does not exist.
	env := dbEnv("postgres://u:pw@127.0.0.1:1/db")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--state", "exploded"}, "--state must be one of available, scheduled, pending, running, retryable, completed, cancelled, discarded"},
		{[]string{"--limit", "0"}, "--limit must be between 1 and 1000"},
		{[]string{"--limit", "1001"}, "--limit must be between 1 and 1000"},
		{[]string{"--limit", "-5"}, "--limit must be between 1 and 1000"},
		{[]string{"--output", "yaml"}, "--output must be table or json"},
	}
	for _, tt := range tests {
		o := wantUsage(t, env, append([]string{"jobs", "list"}, tt.args...)...)
		if o.stderr != "identityd: "+tt.want+"\n" {
			t.Errorf("jobs list %q: stderr %q, want %q", tt.args, o.stderr, tt.want)
		}
	}
}

func TestOneLineKeepsATableCellOnOneLineAndHarmlessToATerminal(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"short", 80, "short"},
		{"  two\nlines\r\n\tand a tab  ", 80, "two lines and a tab"},
		{"abcdef", 5, "abcd…"},
		{"abcde", 5, "abcde"},
		// Cut at characters, not bytes: half a character is not text.
		{"ééééééé", 5, "éééé…"},
		// Escape sequences would recolour or clear the operator's terminal.
		{"bad \x1b[2Jnews\x07", 80, "bad \uFFFD[2Jnews\uFFFD"},
		{"invalid \xff byte", 80, "invalid \uFFFD byte"},
	}
	for _, tt := range tests {
		got := oneLine(tt.in, tt.max)
		if got != tt.want {
			t.Errorf("oneLine(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
		if !utf8.ValidString(got) || utf8.RuneCountInString(got) > tt.max || strings.ContainsAny(got, "\n\r\t\x1b") {
			t.Errorf("oneLine(%q, %d) = %q: not one valid line of at most %d characters", tt.in, tt.max, got, tt.max)
		}
	}
}
