package webhooks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/riverqueue/river"

	"github.com/identityd/identityd/outbound"
	"github.com/identityd/identityd/store"
)

// DeliverArgs is the job that sends one delivery.
type DeliverArgs struct {
	DeliveryID string `json:"delivery_id"`
}

// Kind names the job.
func (DeliverArgs) Kind() string { return "webhooks.deliver" }

// InsertOpts puts deliveries on their own queue, however they are enqueued.
func (DeliverArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: QueueName} }

// DeliveryWorker sends deliveries. Register it with the jobs queue that works QueueName.
type DeliveryWorker struct {
	river.WorkerDefaults[DeliverArgs]
	s *Service
}

var _ river.Worker[DeliverArgs] = (*DeliveryWorker)(nil)

// NewWorker returns the worker that sends s's deliveries.
func NewWorker(s *Service) *DeliveryWorker { return &DeliveryWorker{s: s} }

// Timeout gives an attempt its HTTP timeout and time to read and record around it.
func (w *DeliveryWorker) Timeout(*river.Job[DeliverArgs]) time.Duration { return w.s.attemptTimeout() }

func (s *Service) attemptTimeout() time.Duration { return s.cfg.Timeout + 30*time.Second }

// NextRetry schedules the retry after a failed attempt: RetryBase·2^(attempt−1), at most
// an hour, ±10%.
func (w *DeliveryWorker) NextRetry(job *river.Job[DeliverArgs]) time.Time {
	// River compares this with its own clock, so it is the real time, not s.now.
	return time.Now().Add(retryDelay(w.s.cfg.RetryBase, job.Attempt))
}

func retryDelay(base time.Duration, attempt int) time.Duration {
	d := backoff(base, attempt)
	// Jitter, so that deliveries that failed together (a receiver was down) do not all
	// come back at once.
	return d + time.Duration((rand.Float64()*0.2-0.1)*float64(d))
}

// backoff is the delay after failed attempt number attempt, before jitter.
func backoff(base time.Duration, attempt int) time.Duration {
	d := base
	for i := 1; i < attempt && d < maxRetryDelay; i++ {
		d *= 2
	}
	return min(d, maxRetryDelay)
}

// Work makes one attempt at a delivery. It returns an error, for River to retry, when the
// attempt failed and attempts remain; the delivery log records every attempt.
func (w *DeliveryWorker) Work(ctx context.Context, job *river.Job[DeliverArgs]) error {
	s := w.s
	id := job.Args.DeliveryID
	var (
		subID, status, body, target string
		secretEnc                   []byte
		enabled                     bool
	)
	err := s.db.QueryRow(ctx, `SELECT d.subscription_id, d.status, d.payload, s.url, s.secret_enc, s.enabled
		FROM webhook_deliveries d JOIN webhook_subscriptions s ON s.id = d.subscription_id WHERE d.id = $1`, id).
		Scan(&subID, &status, &body, &target, &secretEnc, &enabled)
	if errors.Is(err, store.ErrNotFound) {
		// The subscription was deleted, and its deliveries with it.
		return nil
	}
	if err != nil {
		return fmt.Errorf("webhooks: read delivery %s: %w", id, err)
	}
	if status != StatusPending {
		return nil // finished already: a job run twice must not send twice
	}
	// Results are written even when ctx ended mid-attempt (a shutdown), so that the log
	// shows the attempt; the write is short and bounded of its own.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if !enabled {
		_, err := s.db.Exec(rctx, `UPDATE webhook_deliveries SET status = $1, last_error = $2 WHERE id = $3 AND status = $4`,
			StatusFailed, "subscription disabled", id, StatusPending)
		if err != nil {
			return fmt.Errorf("webhooks: record delivery %s: %w", id, err)
		}
		return nil
	}

	code, failure := s.attempt(ctx, id, subID, target, secretEnc, []byte(body))

	at := s.stamp()
	newStatus := StatusPending
	var deliveredAt *time.Time
	switch {
	case failure == "":
		newStatus, deliveredAt = StatusSucceeded, &at
	case job.Attempt >= job.MaxAttempts:
		newStatus = StatusFailed
	}
	if _, err := s.db.Exec(rctx, `UPDATE webhook_deliveries SET status = $1, attempts = attempts + 1,
		last_status_code = $2, last_error = $3, last_attempt_at = $4, delivered_at = $5
		WHERE id = $6 AND status = $7`,
		newStatus, code, failure, at, deliveredAt, id, StatusPending); err != nil {
		// A successful send is then retried, and the receiver deduplicates on webhook-id.
		return fmt.Errorf("webhooks: record delivery %s: %w", id, err)
	}
	if failure != "" {
		s.cfg.Logger.WarnContext(ctx, "webhooks: delivery attempt failed", slog.String("delivery_id", id),
			slog.String("subscription_id", subID), slog.Int("attempt", job.Attempt),
			slog.Int("max_attempts", job.MaxAttempts), slog.String("error", failure))
		return errors.New(failure)
	}
	return nil
}

// maxErrorLength bounds last_error.
const maxErrorLength = 200

// attempt POSTs body to target once, signed, and returns the status code (nil without an
// answer) and why it failed ("" for a 2xx).
func (s *Service) attempt(ctx context.Context, id, subID, target string, secretEnc, body []byte) (*int, string) {
	secret, err := s.kr.Decrypt(secretEnc, secretAAD(subID))
	if err != nil {
		// Keyring errors name the key id at most, never key material.
		return nil, truncate("signing secret cannot be decrypted: "+err.Error(), maxErrorLength)
	}
	ts := s.now().Unix()
	sig, err := sign(string(secret), id, ts, body)
	if err != nil {
		return nil, err.Error()
	}
	actx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return nil, "the subscription's URL is invalid"
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "identityd-webhooks")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", sig)
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, s.describe(err)
	}
	// Read (a bounded part of) the answer so the connection can be reused; it is not kept.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseBytes))
	_ = resp.Body.Close()
	code := resp.StatusCode
	switch {
	case code >= 200 && code <= 299:
		return &code, ""
	case code >= 300 && code <= 399:
		return &code, fmt.Sprintf("receiver answered %d; redirects are not followed", code)
	default:
		return &code, fmt.Sprintf("receiver answered %d", code)
	}
}

// describe turns a failed request into a short reason for the log. url.Error's own text
// is left out: it repeats the URL, whose path or query may hold a receiver's token.
func (s *Service) describe(err error) string {
	var nonPublic *outbound.NonPublicError
	var netErr net.Error
	switch {
	case errors.As(err, &nonPublic):
		return nonPublic.Error()
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "timed out after " + s.cfg.Timeout.String()
	case errors.Is(err, context.Canceled):
		return "attempt cancelled (identityd stopping)"
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return truncate(err.Error(), maxErrorLength)
}
