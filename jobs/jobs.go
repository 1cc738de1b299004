// Package jobs runs durable background work on River, on SQLite and on PostgreSQL.
//
// A job is enqueued in the same transaction as the change that causes it, so the two
// commit or roll back together: a committed change always gets its job, a rolled-back one
// never does. Failed jobs are retried with River's exponential backoff; jobs that used
// up their attempts stay in the table as "discarded" (see List) for a week. Stop lets
// running jobs finish.
//
// Domain packages define their job arguments and workers with River's types; the
// composition root registers them here. Housekeeping on a schedule (deleting what has
// expired) is a Task: a name, an interval and a function, with no River types of its own.
package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"

	"github.com/identityd/identityd/store"
)

// Config says what a Queue works on.
type Config struct {
	// Workers holds the workers to run. Nil makes an insert-only queue, for commands
	// that enqueue or list jobs but never work them.
	Workers *river.Workers
	// Periodic jobs are enqueued on their schedules by whichever replica leads.
	Periodic []*river.PeriodicJob
	// Tasks run on their schedules too, and at start; they need Workers, to which their
	// worker is added.
	Tasks []Task
	// MaxWorkers bounds how many jobs of the default queue run at once in this process.
	MaxWorkers int
	// Queues are further queues, by name, with how many of their jobs may run at once:
	// work that can be slow (calling other servers) gets a queue of its own, so it never
	// holds up the rest.
	Queues map[string]int
	// PollInterval is how often to look for new jobs when not told about them; River's
	// default when zero. Tests shorten it.
	PollInterval time.Duration
	// Logger receives River's warnings and errors.
	Logger *slog.Logger
}

// Queue enqueues and works jobs.
type Queue struct {
	b       backend
	working bool
	// stopping is set when Stop begins, for River's log handler (quietStop).
	stopping *atomic.Bool
}

// backend is what Queue needs of a River client, whatever its driver's transaction type.
type backend interface {
	insertTx(ctx context.Context, tx *store.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	start(ctx context.Context) error
	stop(ctx context.Context) error
	stopAndCancel(ctx context.Context) error
	list(ctx context.Context, params *river.JobListParams) (*river.JobListResult, error)
}

type riverBackend[TTx any] struct {
	c      *river.Client[TTx]
	unwrap func(*store.Tx) (TTx, error)
}

func (r *riverBackend[TTx]) insertTx(ctx context.Context, tx *store.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	t, err := r.unwrap(tx)
	if err != nil {
		return nil, err
	}
	return r.c.InsertTx(ctx, t, args, opts)
}
func (r *riverBackend[TTx]) start(ctx context.Context) error         { return r.c.Start(ctx) }
func (r *riverBackend[TTx]) stop(ctx context.Context) error          { return r.c.Stop(ctx) }
func (r *riverBackend[TTx]) stopAndCancel(ctx context.Context) error { return r.c.StopAndCancel(ctx) }
func (r *riverBackend[TTx]) list(ctx context.Context, p *river.JobListParams) (*river.JobListResult, error) {
	return r.c.JobList(ctx, p)
}

var errWrongDialect = errors.New("jobs: transaction is from another database backend")

// New returns a Queue on db. Call Start to begin working jobs.
func New(db *store.DB, cfg Config) (*Queue, error) {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	stopping := &atomic.Bool{}
	logger = slog.New(quietStop{Handler: logger.Handler(), stopping: stopping})
	periodic := cfg.Periodic
	if len(cfg.Tasks) > 0 {
		if cfg.Workers == nil {
			return nil, errors.New("jobs: new: tasks need workers")
		}
		tasks, err := schedule(cfg.Workers, cfg.Tasks)
		if err != nil {
			return nil, err
		}
		periodic = append(append([]*river.PeriodicJob(nil), periodic...), tasks...)
	}
	rc := &river.Config{
		Logger:            logger,
		FetchPollInterval: cfg.PollInterval,
		PeriodicJobs:      periodic,
		// Our own job kinds are few and known; River's check that every kind in the
		// table has a worker would fail on jobs left by a newer version mid-rollout.
		SkipUnknownJobCheck: true,
	}
	if cfg.PollInterval > 0 && cfg.PollInterval < 100*time.Millisecond {
		rc.FetchCooldown = cfg.PollInterval
	}
	if cfg.Workers != nil {
		rc.Workers = cfg.Workers
		rc.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: max(cfg.MaxWorkers, 1)}}
		for name, n := range cfg.Queues {
			rc.Queues[name] = river.QueueConfig{MaxWorkers: max(n, 1)}
		}
	}
	var (
		b   backend
		err error
	)
	switch db.Dialect() {
	case store.Postgres:
		var c *river.Client[pgx.Tx]
		c, err = river.NewClient(riverpgxv5.New(db.PgxPool()), rc)
		b = &riverBackend[pgx.Tx]{c: c, unwrap: func(tx *store.Tx) (pgx.Tx, error) {
			if tx.Pgx() == nil {
				return nil, errWrongDialect
			}
			return tx.Pgx(), nil
		}}
	default:
		var c *river.Client[*sql.Tx]
		c, err = river.NewClient(riversqlite.New(db.SQLDB()), rc)
		b = &riverBackend[*sql.Tx]{c: c, unwrap: func(tx *store.Tx) (*sql.Tx, error) {
			if tx.SQL() == nil {
				return nil, errWrongDialect
			}
			return tx.SQL(), nil
		}}
	}
	if err != nil {
		return nil, fmt.Errorf("jobs: new: %w", err)
	}
	return &Queue{b: b, working: cfg.Workers != nil, stopping: stopping}, nil
}

// Enqueue adds a job in tx; it becomes visible to workers when tx commits, and vanishes
// with it if tx rolls back. opts may be nil.
func (q *Queue) Enqueue(ctx context.Context, tx *store.Tx, args river.JobArgs, opts *river.InsertOpts) (int64, error) {
	res, err := q.b.insertTx(ctx, tx, args, opts)
	if err != nil {
		return 0, fmt.Errorf("jobs: enqueue %s: %w", args.Kind(), err)
	}
	return res.Job.ID, nil
}

// Start begins working jobs in the background and returns at once. The queue runs until
// Stop: ctx's values reach the jobs, but its end does not stop them, because River treats
// a cancelled start context as a hard stop that cancels running jobs, and a server's
// context ends exactly when it should be draining them gracefully.
func (q *Queue) Start(ctx context.Context) error {
	if !q.working {
		return errors.New("jobs: an insert-only queue cannot start")
	}
	if err := q.b.start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("jobs: start: %w", err)
	}
	return nil
}

// Stop stops fetching new jobs and waits for running ones to finish. If ctx ends first,
// running jobs are cancelled (and retried later) and Stop returns ctx's error.
func (q *Queue) Stop(ctx context.Context) error {
	if !q.working {
		return nil
	}
	q.stopping.Store(true)
	err := q.b.stop(ctx)
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		// Out of patience: cancel what still runs, giving it a moment to notice.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = q.b.stopAndCancel(cctx)
	}
	return fmt.Errorf("jobs: stop: %w", err)
}
