package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/identityd/identityd/jobs"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// noteArgs is a test job that records that it ran; it fails its first FailFirst attempts.
type noteArgs struct {
	Note      string `json:"note"`
	FailFirst int    `json:"fail_first"`
}

func (noteArgs) Kind() string { return "test.note" }

type noteWorker struct {
	river.WorkerDefaults[noteArgs]
	ran     chan string
	release chan struct{} // when set, each attempt waits for it
	started chan struct{}
}

func (w *noteWorker) Work(ctx context.Context, job *river.Job[noteArgs]) error {
	if w.started != nil {
		w.started <- struct{}{}
	}
	if w.release != nil {
		select {
		case <-w.release:
		case <-ctx.Done():
			return ctx.Err() // a hard stop cancelled the job
		}
	}
	if job.Attempt <= job.Args.FailFirst {
		return fmt.Errorf("attempt %d fails on purpose", job.Attempt)
	}
	w.ran <- job.Args.Note
	return nil
}

func newQueue(t *testing.T, db *store.DB, w *noteWorker) *jobs.Queue {
	t.Helper()
	workers := river.NewWorkers()
	river.AddWorker(workers, w)
	q, err := jobs.New(db, jobs.Config{Workers: workers, MaxWorkers: 4, PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func enqueue(t *testing.T, db *store.DB, q *jobs.Queue, args noteArgs, opts *river.InsertOpts) int64 {
	t.Helper()
	var id int64
	err := db.Tx(context.Background(), func(tx *store.Tx) error {
		var err error
		id, err = q.Enqueue(context.Background(), tx, args, opts)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func waitFor(t *testing.T, what string, timeout time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func jobByID(t *testing.T, q *jobs.Queue, id int64) jobs.Job {
	t.Helper()
	list, err := q.List(context.Background(), jobs.ListParams{Kind: noteArgs{}.Kind(), Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range list {
		if j.ID == id {
			return j
		}
	}
	t.Fatalf("job %d not listed", id)
	return jobs.Job{}
}

func TestEnqueuedJobCommitsAndRollsBackWithItsTransaction(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := &noteWorker{ran: make(chan string, 10)}
		q := newQueue(t, db, w)
		rollback := errors.New("change refused")
		err := db.Tx(ctx, func(tx *store.Tx) error {
			if _, err := q.Enqueue(ctx, tx, noteArgs{Note: "rolled back"}, nil); err != nil {
				return err
			}
			return rollback
		})
		if !errors.Is(err, rollback) {
			t.Fatal(err)
		}
		enqueue(t, db, q, noteArgs{Note: "committed"}, nil)
		if err := q.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = q.Stop(ctx) }()
		select {
		case note := <-w.ran:
			if note != "committed" {
				t.Fatalf("worked %q, want only the committed job", note)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("committed job was not worked")
		}
		select {
		case note := <-w.ran:
			t.Fatalf("also worked %q, which was rolled back", note)
		case <-time.After(500 * time.Millisecond):
		}
		list, err := q.List(ctx, jobs.ListParams{Kind: noteArgs{}.Kind()})
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 {
			t.Fatalf("jobs in the table: %+v, want the committed one only", list)
		}
	})
}

func TestFailedJobIsRetriedWithBackoffUntilItSucceeds(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := &noteWorker{ran: make(chan string, 10)}
		q := newQueue(t, db, w)
		id := enqueue(t, db, q, noteArgs{Note: "second time lucky", FailFirst: 1}, nil)
		if err := q.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = q.Stop(ctx) }()
		waitFor(t, "the first attempt to fail", 20*time.Second, func() bool { return len(jobByID(t, q, id).Errors) > 0 })
		failed := jobByID(t, q, id)
		if !strings.Contains(failed.Errors[0], "fails on purpose") {
			t.Fatalf("after the first attempt: %+v, want its error recorded", failed)
		}
		// River waits attempt⁴ seconds (±10%) before a retry: about a second after attempt 1.
		if failed.State == "retryable" && failed.ScheduledAt.Sub(failed.CreatedAt) < 800*time.Millisecond {
			t.Errorf("retry scheduled %v after creation: no backoff", failed.ScheduledAt.Sub(failed.CreatedAt))
		}
		select {
		case note := <-w.ran:
			if note != "second time lucky" {
				t.Fatal(note)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("job was not retried")
		}
		waitFor(t, "completion", 10*time.Second, func() bool { return jobByID(t, q, id).State == "completed" })
		if got := jobByID(t, q, id); got.Attempt != 2 {
			t.Errorf("completed on attempt %d, want 2", got.Attempt)
		}
	})
}

func TestJobThatExhaustsItsAttemptsStaysVisibleAsDiscarded(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := &noteWorker{ran: make(chan string, 10)}
		q := newQueue(t, db, w)
		id := enqueue(t, db, q, noteArgs{Note: "never", FailFirst: 99}, &river.InsertOpts{MaxAttempts: 1})
		if err := q.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = q.Stop(ctx) }()
		waitFor(t, "the job to be discarded", 20*time.Second, func() bool { return jobByID(t, q, id).State == "discarded" })
		discarded, err := q.List(ctx, jobs.ListParams{State: "discarded"})
		if err != nil {
			t.Fatal(err)
		}
		if len(discarded) != 1 || discarded[0].ID != id || discarded[0].FinalizedAt == nil ||
			!strings.Contains(discarded[0].Errors[0], "fails on purpose") {
			t.Fatalf("discarded jobs: %+v", discarded)
		}
	})
}

func TestStopWaitsForRunningJobsToFinishEvenAfterTheStartContextEnds(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := &noteWorker{ran: make(chan string, 10), release: make(chan struct{}), started: make(chan struct{}, 1)}
		q := newQueue(t, db, w)
		id := enqueue(t, db, q, noteArgs{Note: "slow"}, nil)
		// A server starts the queue with its serving context, which ends at SIGTERM,
		// just before it stops the queue gracefully.
		serving, endServing := context.WithCancel(ctx)
		if err := q.Start(serving); err != nil {
			t.Fatal(err)
		}
		select {
		case <-w.started:
		case <-time.After(20 * time.Second):
			t.Fatal("job did not start")
		}
		endServing()
		var stopped atomic.Bool
		done := make(chan error, 1)
		go func() {
			err := q.Stop(ctx)
			stopped.Store(true)
			done <- err
		}()
		time.Sleep(300 * time.Millisecond)
		if stopped.Load() {
			t.Fatal("Stop returned while a job was still running")
		}
		close(w.release)
		if err := <-done; err != nil {
			t.Fatalf("stop: %v", err)
		}
		if note := <-w.ran; note != "slow" {
			t.Fatal(note)
		}
		if got := jobByID(t, q, id).State; got != "completed" {
			t.Fatalf("job state after graceful stop = %s, want completed", got)
		}
	})
}

func TestListRefusesUnknownStatesAndAbsurdLimits(t *testing.T) {
	db := storetest.SQLite(t)
	q, err := jobs.New(db, jobs.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []jobs.ListParams{{State: "exploded"}, {Limit: -1}, {Limit: 1_000_000}} {
		if _, err := q.List(context.Background(), p); err == nil {
			t.Errorf("List(%+v) succeeded, want an error", p)
		}
	}
	if err := q.Start(context.Background()); err == nil {
		t.Error("an insert-only queue started")
	}
}

func TestQueueKeepsWorkingAfterPostgresComesBack(t *testing.T) {
	base := storetest.FreshPostgresURL(t)
	proxy := storetest.NewProxy(t, storetest.PostgresAddr(t, base))
	db := storetest.Open(t, storetest.PostgresURLVia(t, base, proxy))
	storetest.Migrate(t, db)
	ctx := context.Background()
	w := &noteWorker{ran: make(chan string, 10)}
	q := newQueue(t, db, w)
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = q.Stop(ctx) }()
	enqueue(t, db, q, noteArgs{Note: "before"}, nil)
	if note := <-w.ran; note != "before" {
		t.Fatal(note)
	}

	proxy.Cut()
	err := db.Tx(ctx, func(tx *store.Tx) error {
		_, err := q.Enqueue(ctx, tx, noteArgs{Note: "while down"}, nil)
		return err
	})
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("enqueue with the database gone = %v, want ErrUnavailable", err)
	}
	time.Sleep(2 * time.Second) // let River's loops notice

	proxy.Restore()
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := db.Tx(ctx, func(tx *store.Tx) error {
			_, err := q.Enqueue(ctx, tx, noteArgs{Note: "after"}, nil)
			return err
		})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("could not enqueue after the database came back: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	select {
	case note := <-w.ran:
		if note != "after" {
			t.Fatalf("worked %q, want the job enqueued after recovery", note)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the queue did not work jobs after the database came back")
	}
}
