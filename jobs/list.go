package jobs

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// Job is what an operator sees of a job.
type Job struct {
	ID          int64      `json:"id"`
	Kind        string     `json:"kind"`
	State       string     `json:"state"`
	Attempt     int        `json:"attempt"`
	MaxAttempts int        `json:"max_attempts"`
	CreatedAt   time.Time  `json:"created_at"`
	ScheduledAt time.Time  `json:"scheduled_at"`
	FinalizedAt *time.Time `json:"finalized_at,omitempty"`
	// Errors are the errors of failed attempts, oldest first.
	Errors []string `json:"errors,omitempty"`
}

// States are the job states an operator can filter on.
var States = []string{"available", "scheduled", "pending", "running", "retryable", "completed", "cancelled", "discarded"}

// ListParams filter List.
type ListParams struct {
	// State is one of States; empty lists every state.
	State string
	// Kind keeps only jobs of this kind when set.
	Kind string
	// Limit caps the result (1–1000; 100 when zero).
	Limit int
}

// List returns jobs matching p, newest first.
func (q *Queue) List(ctx context.Context, p ListParams) ([]Job, error) {
	limit := p.Limit
	if limit == 0 {
		limit = 100
	}
	if limit < 1 || limit > 1000 {
		return nil, fmt.Errorf("jobs: list: limit must be between 1 and 1000")
	}
	params := river.NewJobListParams().First(limit).OrderBy(river.JobListOrderByID, river.SortOrderDesc)
	if p.State != "" {
		if !slices.Contains(States, p.State) {
			return nil, fmt.Errorf("jobs: list: unknown state %q (one of %s)", p.State, strings.Join(States, ", "))
		}
		params = params.States(rivertype.JobState(p.State))
	}
	if p.Kind != "" {
		params = params.Kinds(p.Kind)
	}
	res, err := q.b.list(ctx, params)
	if err != nil {
		return nil, fmt.Errorf("jobs: list: %w", err)
	}
	out := make([]Job, 0, len(res.Jobs))
	for _, r := range res.Jobs {
		out = append(out, fromRow(r))
	}
	return out, nil
}

func fromRow(r *rivertype.JobRow) Job {
	j := Job{
		ID: r.ID, Kind: r.Kind, State: string(r.State), Attempt: r.Attempt, MaxAttempts: r.MaxAttempts,
		CreatedAt: r.CreatedAt.UTC(), ScheduledAt: r.ScheduledAt.UTC(),
	}
	if r.FinalizedAt != nil {
		t := r.FinalizedAt.UTC()
		j.FinalizedAt = &t
	}
	for _, e := range r.Errors {
		j.Errors = append(j.Errors, e.Error)
	}
	return j
}
