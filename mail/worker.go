package mail

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/identityd/identityd/keyring"
)

// Worker sends the messages an Outbox enqueued. Register it with the jobs queue that
// works QueueName.
type Worker struct {
	river.WorkerDefaults[SendArgs]
	kr     *keyring.Keyring
	sender Sender
	log    *slog.Logger
}

var _ river.Worker[SendArgs] = (*Worker)(nil)

// NewWorker returns a worker that opens messages with kr and sends them with s.
func NewWorker(kr *keyring.Keyring, s Sender, log *slog.Logger) *Worker {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Worker{kr: kr, sender: s, log: log}
}

// Timeout bounds an attempt: the longest a Sender is configured to take, and a margin
// for opening the message. Senders bound themselves; this is the backstop.
func (w *Worker) Timeout(*river.Job[SendArgs]) time.Duration { return MaxTimeout + 30*time.Second }

// Work opens the message and sends it. A permanent rejection (see ErrRejected) cancels
// the job instead of retrying it for hours; any other failure returns an error, and
// River retries with backoff until MaxAttempts. Logs name the job, the attempt and the
// recipient's domain, never the address, the subject or the body.
func (w *Worker) Work(ctx context.Context, job *river.Job[SendArgs]) error {
	attrs := []slog.Attr{slog.Int64("job_id", job.ID), slog.Int("attempt", job.Attempt),
		slog.Int("max_attempts", job.MaxAttempts)}
	m, err := open(w.kr, job.Args.Sealed)
	if err != nil {
		if errors.Is(err, keyring.ErrUnknownKey) {
			// A key was removed before its messages were sent, or this replica lacks a
			// new one: restoring the key makes a retry succeed.
			w.log.LogAttrs(ctx, slog.LevelError, "mail: message sealed under an unknown key",
				append(attrs, slog.String("error", err.Error()))...)
			return err
		}
		// Altered, or not a message at all: no attempt can open it.
		w.log.LogAttrs(ctx, slog.LevelError, "mail: message cannot be opened; dropping it",
			append(attrs, slog.String("error", err.Error()))...)
		return river.JobCancel(err)
	}
	attrs = append(attrs, slog.String("recipient_domain", recipientDomain(m)))
	if err := w.sender.Send(ctx, m); err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
		switch {
		case errors.Is(err, ErrRejected):
			w.log.LogAttrs(ctx, slog.LevelError, "mail: message rejected; not retrying", attrs...)
			return river.JobCancel(err)
		case job.Attempt >= job.MaxAttempts:
			w.log.LogAttrs(ctx, slog.LevelError, "mail: last attempt failed; giving up", attrs...)
		default:
			w.log.LogAttrs(ctx, slog.LevelWarn, "mail: attempt failed; will retry", attrs...)
		}
		return err
	}
	w.log.LogAttrs(ctx, slog.LevelInfo, "mail: sent", attrs...)
	return nil
}
