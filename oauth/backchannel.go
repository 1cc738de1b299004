package oauth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/identityd/identityd/audit"
	"github.com/identityd/identityd/clients"
	"github.com/identityd/identityd/sessions"
	"github.com/identityd/identityd/store"
)

// LogoutQueue is the job queue back-channel logout tokens are delivered on: apps'
// servers can be slow, and a queue of its own keeps them from holding up other jobs.
const LogoutQueue = "backchannel_logout"

// logoutAttempts bounds the deliveries of one logout token; River's backoff spreads
// them over about a day. The job gets one run more (InsertOpts), which sends nothing:
// River runs it only when the last delivery attempt never finished (identityd stopped
// during it), and it records the failure that attempt could not.
const logoutAttempts = 12

// logoutTokenLifetime is how long a logout token is good for: it is made fresh for
// each delivery attempt, so this only needs to cover the request (OpenID Connect
// Back-Channel Logout 1.0 §2.4 recommends at most two minutes).
const logoutTokenLifetime = 2 * time.Minute

// backchannelLogoutEvent is the event a logout token carries.
const backchannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout"

// LogoutArgs is the job that tells an app a user's session with identityd ended.
type LogoutArgs struct {
	ClientID  string `json:"client_id"`
	Subject   string `json:"sub"`
	SessionID string `json:"sid"`
}

// Kind names the job in the queue.
func (LogoutArgs) Kind() string { return "oauth.backchannel_logout" }

// InsertOpts puts deliveries on LogoutQueue with bounded attempts, and the spare run.
func (LogoutArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: LogoutQueue, MaxAttempts: logoutAttempts + 1}
}

// sessionsEnded is told of every ending of sign-in sessions, in its transaction: the
// apps signed in with those sessions that asked to hear of it are sent a logout token by
// a durable job; an admin's ending revokes the tokens the sessions gave; an app's
// sign-out request is audited with the ending.
func (p *Provider) sessionsEnded(ctx context.Context, tx *store.Tx, e sessions.Ending) error {
	for _, sid := range e.IDs {
		rows, err := tx.Query(ctx, `DELETE FROM oauth_session_clients WHERE session_id = $1 RETURNING client_id`, sid)
		if err != nil {
			return fmt.Errorf("oauth: session ended: %w", err)
		}
		clientIDs, err := store.CollectRows(rows, func(r *store.Rows) (string, error) {
			var id string
			return id, r.Scan(&id)
		})
		if err != nil {
			return fmt.Errorf("oauth: session ended: %w", err)
		}
		for _, id := range clientIDs {
			c, err := p.d.Clients.Lookup(ctx, id)
			if errors.Is(err, clients.ErrNotFound) || (err == nil && c.BackchannelLogoutURI == "") {
				continue
			}
			if err != nil {
				return fmt.Errorf("oauth: session ended: %w", err)
			}
			if _, err := p.d.Jobs.Enqueue(ctx, tx, LogoutArgs{ClientID: id, Subject: e.UserID, SessionID: sid}, nil); err != nil {
				return fmt.Errorf("oauth: session ended: %w", err)
			}
		}
	}
	if clientID, ok := ctx.Value(logoutKey{}).(string); ok && e.Reason == sessions.ReasonLogout && len(e.IDs) == 1 {
		if err := p.d.Audit.Record(ctx, tx, audit.OAuthLogout(clientID, e.UserID, e.IDs[0])); err != nil {
			return err
		}
	}
	if e.Reason != sessions.ReasonAdmin {
		return nil
	}
	if e.All {
		return p.revokeUserTokens(ctx, tx, e.UserID, sessions.ReasonAdmin)
	}
	return p.revokeSessionTokens(ctx, tx, e.UserID, e.IDs)
}

// LogoutWorker delivers logout tokens.
type LogoutWorker struct {
	river.WorkerDefaults[LogoutArgs]
	p *Provider
}

// NewLogoutWorker returns the worker that delivers p's logout tokens.
func NewLogoutWorker(p *Provider) *LogoutWorker { return &LogoutWorker{p: p} }

// Work POSTs a fresh logout token to the app's back-channel logout URI (§2.5); a 200 or
// 204 is delivery. An app deleted meanwhile, or that no longer asks, is skipped. After
// the last failed attempt the failure is audited — the app may still think the user is
// signed in — and the job ends; if that attempt never finished, the spare run audits it.
func (w *LogoutWorker) Work(ctx context.Context, job *river.Job[LogoutArgs]) error {
	if job.Attempt > logoutAttempts {
		return w.gaveUp(ctx, job.Args, errLastAttemptCut)
	}
	err := w.p.deliverLogout(ctx, job.Args)
	if err != nil && job.Attempt >= logoutAttempts {
		return w.gaveUp(ctx, job.Args, err)
	}
	return err
}

// errLastAttemptCut is why the spare run gives a delivery up: the last attempt never
// finished (identityd stopped during it), or its failure could not be recorded.
var errLastAttemptCut = errors.New("the last attempt never finished, or its failure could not be recorded")

// gaveUp audits that a logout token could not be delivered and ends the job. Should the
// record fail, River runs the job again, which only records.
func (w *LogoutWorker) gaveUp(ctx context.Context, a LogoutArgs, why error) error {
	ev := audit.OAuthLogoutFailed(a.ClientID, a.SessionID, why.Error())
	if err := w.p.d.DB.Tx(ctx, func(tx *store.Tx) error { return w.p.d.Audit.Record(ctx, tx, ev) }); err != nil {
		w.p.d.Logger.ErrorContext(ctx, "oauth: record a failed logout delivery", "error", err.Error())
		return fmt.Errorf("oauth: record a failed logout delivery: %w", err)
	}
	return river.JobCancel(why)
}

func (p *Provider) deliverLogout(ctx context.Context, a LogoutArgs) error {
	c, err := p.d.Clients.Lookup(ctx, a.ClientID)
	if errors.Is(err, clients.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if c.BackchannelLogoutURI == "" {
		return nil
	}
	now := p.d.Now()
	// Signed as the client's ID tokens are, which is what it verifies (Back-Channel
	// Logout 1.0 §2.4).
	token, err := p.strategy.sign(idTokenAlg(c), "logout+jwt", map[string]any{
		"iss": p.cfg.Issuer, "aud": c.ID, "iat": now.Unix(), "exp": now.Add(logoutTokenLifetime).Unix(),
		"jti": randomString(16), "sub": a.Subject, "sid": a.SessionID,
		"events": map[string]any{backchannelLogoutEvent: map[string]any{}},
	})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.BackchannelLogoutURI,
		strings.NewReader(url.Values{"logout_token": {token}}.Encode()))
	if err != nil {
		return fmt.Errorf("back-channel logout to %s: %w", c.ID, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := p.d.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("back-channel logout to %s: %w", c.ID, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("back-channel logout to %s: status %d", c.ID, resp.StatusCode)
	}
	return nil
}
