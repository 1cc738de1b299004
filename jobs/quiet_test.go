package jobs_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/identityd/identityd/jobs"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
	"github.com/identityd/identityd/syncbuf"
)

// TestAQueueStoppedRightAfterStartingLogsNoError is an operator restarting a server at
// once: River's periodic enqueuer loses the transaction it had just begun to the stop,
// which is no error of anyone's and must not read as one in the log.
func TestAQueueStoppedRightAfterStartingLogsNoError(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var logs syncbuf.Buffer
		log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
		for range 5 {
			q, err := jobs.New(db, jobs.Config{Workers: river.NewWorkers(), PollInterval: 50 * time.Millisecond, Logger: log,
				Tasks: []jobs.Task{{Name: "noop", Every: time.Hour, Run: func(context.Context) error { return nil }}}})
			if err != nil {
				t.Fatal(err)
			}
			if err := q.Start(ctx); err != nil {
				t.Fatal(err)
			}
			if err := q.Stop(ctx); err != nil {
				t.Fatal(err)
			}
		}
		for _, line := range strings.Split(logs.String(), "\n") {
			if strings.Contains(line, "level=ERROR") {
				t.Errorf("a clean stop logged: %s", line)
			}
		}
	})
}
