package jobs_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/identityd/identityd/jobs"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
)

func TestTasksRunAtStartAndARunOfAnUnknownTaskIsCancelled(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		ran := make(chan string, 10)
		task := func(name string) jobs.Task {
			return jobs.Task{Name: name, Every: time.Hour, Run: func(context.Context) error { ran <- name; return nil }}
		}
		q, err := jobs.New(db, jobs.Config{Workers: river.NewWorkers(), MaxWorkers: 2, PollInterval: 50 * time.Millisecond,
			Tasks: []jobs.Task{task("one"), task("two")}})
		if err != nil {
			t.Fatal(err)
		}
		// A run left by a version that had a task this one has not.
		var id int64
		if err := db.Tx(ctx, func(tx *store.Tx) error {
			id, err = q.Enqueue(ctx, tx, jobs.TaskArgs{Task: "gone"}, nil)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if err := q.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = q.Stop(ctx) }()
		got := map[string]bool{}
		for len(got) < 2 {
			select {
			case name := <-ran:
				got[name] = true
			case <-time.After(20 * time.Second):
				t.Fatalf("tasks that ran at start: %v, want one and two", got)
			}
		}
		waitFor(t, "the unknown task's run to be cancelled", 20*time.Second, func() bool {
			list, err := q.List(ctx, jobs.ListParams{Kind: jobs.TaskArgs{}.Kind(), Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			for _, j := range list {
				if j.ID == id {
					return j.State == "cancelled"
				}
			}
			return false
		})
	})
}

func TestTasksThatCannotBeScheduledAreRefused(t *testing.T) {
	db := storetest.SQLite(t)
	run := func(context.Context) error { return errors.New("never runs") }
	for name, c := range map[string]struct {
		cfg  jobs.Config
		want string
	}{
		"no workers":   {jobs.Config{Tasks: []jobs.Task{{Name: "a", Every: time.Hour, Run: run}}}, "need workers"},
		"no name":      {jobs.Config{Workers: river.NewWorkers(), Tasks: []jobs.Task{{Every: time.Hour, Run: run}}}, "needs a name"},
		"no schedule":  {jobs.Config{Workers: river.NewWorkers(), Tasks: []jobs.Task{{Name: "a", Run: run}}}, "needs a name"},
		"no work":      {jobs.Config{Workers: river.NewWorkers(), Tasks: []jobs.Task{{Name: "a", Every: time.Hour}}}, "needs a name"},
		"listed twice": {jobs.Config{Workers: river.NewWorkers(), Tasks: []jobs.Task{{Name: "a", Every: time.Hour, Run: run}, {Name: "a", Every: time.Minute, Run: run}}}, `"a" is listed twice`},
	} {
		if _, err := jobs.New(db, c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error saying %q", name, err, c.want)
		}
	}
}
