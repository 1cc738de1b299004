package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"
)

// Task is housekeeping a server does on a schedule — deleting what has expired, keeping
// signing keys on their rotation — and once at start, so that a server that restarts
// often still does it. Whichever replica leads enqueues each run; any replica works it.
type Task struct {
	// Name identifies the task among the jobs ("sessions.cleanup"); one per task.
	Name string
	// Every is how often it runs.
	Every time.Duration
	// Run does the work; an error retries the run with River's backoff.
	Run func(ctx context.Context) error
}

// TaskArgs is the job of one run of a Task.
type TaskArgs struct {
	Task string `json:"task"`
}

// Kind names the job in the queue.
func (TaskArgs) Kind() string { return "task" }

// taskWorker runs every Task of a Queue, by name.
type taskWorker struct {
	river.WorkerDefaults[TaskArgs]
	run map[string]func(ctx context.Context) error
}

func (w *taskWorker) Work(ctx context.Context, job *river.Job[TaskArgs]) error {
	run, ok := w.run[job.Args.Task]
	if !ok {
		// A run enqueued by a version that had this task; retrying cannot help.
		return river.JobCancel(fmt.Errorf("jobs: no task %q here", job.Args.Task))
	}
	if err := run(ctx); err != nil {
		return fmt.Errorf("jobs: task %s: %w", job.Args.Task, err)
	}
	return nil
}

// schedule adds the worker of tasks to workers and returns their periodic jobs.
func schedule(workers *river.Workers, tasks []Task) ([]*river.PeriodicJob, error) {
	w := &taskWorker{run: make(map[string]func(ctx context.Context) error, len(tasks))}
	periodic := make([]*river.PeriodicJob, 0, len(tasks))
	for _, t := range tasks {
		switch {
		case t.Name == "" || t.Run == nil || t.Every <= 0:
			return nil, errors.New("jobs: a task needs a name, a schedule and work")
		case w.run[t.Name] != nil:
			return nil, fmt.Errorf("jobs: task %q is listed twice", t.Name)
		}
		w.run[t.Name] = t.Run
		args := TaskArgs{Task: t.Name}
		periodic = append(periodic, river.NewPeriodicJob(river.PeriodicInterval(t.Every),
			func() (river.JobArgs, *river.InsertOpts) { return args, nil },
			&river.PeriodicJobOpts{RunOnStart: true, ID: t.Name}))
	}
	if err := river.AddWorkerSafely(workers, w); err != nil {
		return nil, fmt.Errorf("jobs: tasks: %w", err)
	}
	return periodic, nil
}
