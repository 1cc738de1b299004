package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/identityd/identityd/audit"
	"github.com/identityd/identityd/requestinfo"
)

// AuditEvent is how the API shows an audit event.
type AuditEvent struct {
	ID        string            `json:"id" doc:"A time-ordered UUID (version 7)." example:"019a1b2c-3d4e-7f60-8a1b-2c3d4e5f6071"`
	Seq       int64             `json:"seq,omitempty" doc:"The event's place in the sealed chain; absent until the event is sealed, within a second or so."`
	Time      time.Time         `json:"time"`
	Type      string            `json:"type" example:"admin.token.created" doc:"An event type from GET /v1/audit/event-types."`
	Actor     requestinfo.Actor `json:"actor"`
	Target    audit.Target      `json:"target"`
	Outcome   string            `json:"outcome" enum:"success,failure"`
	ClientIP  string            `json:"client_ip,omitempty"`
	UserAgent string            `json:"user_agent,omitempty"`
	RequestID string            `json:"request_id,omitempty"`
	Details   map[string]any    `json:"details,omitempty" doc:"Event-specific facts; secrets are never recorded."`
}

func toAuditEvent(e audit.Event) AuditEvent {
	out := AuditEvent{ID: e.ID, Seq: e.Seq, Time: e.Time, Type: e.Type, Actor: e.Actor, Target: e.Target,
		Outcome: string(e.Outcome), ClientIP: e.ClientIP, UserAgent: e.UserAgent, RequestID: e.RequestID}
	if len(e.Details) > 0 {
		_ = json.Unmarshal(e.Details, &out.Details) // recorded as a JSON object
	}
	return out
}

// AuditFilterParams are the query parameters that filter audit events, shared by the
// event list and the live stream. The type is exported because huma documents the
// parameters of an embedded struct only when its type is.
type AuditFilterParams struct {
	Type    string `query:"type" maxLength:"128" example:"admin.token" doc:"An event type, or a dotted prefix of types."`
	Actor   string `query:"actor" maxLength:"600" example:"admin_token:k3j5b2x7c9d1f4gh" doc:"kind or kind:id; kinds are user, client, admin_token, system."`
	Target  string `query:"target" maxLength:"600" example:"admin_token:k3j5b2x7c9d1f4gh" doc:"kind or kind:id."`
	Outcome string `query:"outcome" enum:"success,failure" doc:"Only events with this outcome."`
	Since   string `query:"since" maxLength:"64" example:"2026-01-01T00:00:00Z" doc:"Only events recorded at or after this time (RFC 3339)."`
	Until   string `query:"until" maxLength:"64" doc:"Only events recorded before this time (RFC 3339)."`
}

// filter turns the input into an audit filter, or a 422 naming the parameter at fault.
func (in AuditFilterParams) filter() (audit.Filter, error) {
	f := audit.Filter{Type: in.Type, Outcome: audit.Outcome(in.Outcome)}
	if in.Actor != "" {
		kind, id, _ := strings.Cut(in.Actor, ":")
		f.ActorKind, f.ActorID = requestinfo.ActorKind(kind), id
	}
	if in.Target != "" {
		f.TargetKind, f.TargetID, _ = strings.Cut(in.Target, ":")
	}
	for _, t := range []struct {
		name, value string
		into        *time.Time
	}{{"since", in.Since, &f.Since}, {"until", in.Until, &f.Until}} {
		if t.value == "" {
			continue
		}
		v, err := time.Parse(time.RFC3339Nano, t.value)
		if err != nil {
			return f, huma.Error422UnprocessableEntity("validation failed", &huma.ErrorDetail{Location: "query." + t.name,
				Message: "must be a time in RFC 3339, like 2026-01-01T00:00:00Z", Value: t.value})
		}
		*t.into = v
	}
	var ve *audit.ValidationError
	if err := f.Validate(); errors.As(err, &ve) {
		return f, fieldProblems(ve, func(field string) string { return "query." + field })
	}
	return f, nil
}

type listAuditEventsInput struct {
	AuditFilterParams
	Limit  int    `query:"limit" minimum:"1" maximum:"1000" default:"100" doc:"Most events to return."`
	Cursor string `query:"cursor" maxLength:"128" doc:"Where to continue: the cursor from the previous page's Link header."`
}

type listAuditEventsOutput struct {
	Link string `header:"Link" doc:"The next page, as <url>; rel=\"next\", when there is one."`
	Body struct {
		Items []AuditEvent `json:"items" nullable:"false"`
	}
}

// VerifyReport is the result of verifying the audit log.
type VerifyReport struct {
	OK             bool           `json:"ok" doc:"True when every sealed event, checkpoint, mark and pending event verified."`
	FirstSeq       int64          `json:"first_seq" doc:"The first sealed event checked (after what retention pruned)."`
	LastSeq        int64          `json:"last_seq" doc:"The last sealed event checked."`
	Events         int64          `json:"events" doc:"Sealed events checked."`
	Checkpoints    int64          `json:"checkpoints" doc:"Signed checkpoints checked."`
	LastCheckpoint *time.Time     `json:"last_checkpoint,omitempty"`
	Pending        int64          `json:"pending" doc:"Recorded events waiting to be sealed (checked against their MACs)."`
	Rejected       int64          `json:"rejected" doc:"Events the sealer refused as forged; each is also recorded as audit.tampering.detected."`
	Problem        *VerifyProblem `json:"problem,omitempty" doc:"The first broken link, when ok is false."`
}

// VerifyProblem is the first broken link of the audit log.
type VerifyProblem struct {
	Kind    string `json:"kind" enum:"modified,deleted,reordered,inserted,forged_checkpoint,checkpoint_mismatch,forged_mark,unverifiable"`
	Seq     int64  `json:"seq,omitempty" doc:"The sequence number where the chain breaks."`
	EventID string `json:"event_id,omitempty"`
	Message string `json:"message" doc:"What is wrong, in words."`
}

type verifyOutput struct {
	Body VerifyReport
}

type eventTypesOutput struct {
	Body struct {
		Items []struct {
			Name        string `json:"name"`
			Description string `json:"description"`
		} `json:"items" nullable:"false"`
	}
}

func (h *handlers) registerAudit() {
	huma.Register(h.api, h.operation(huma.Operation{
		OperationID: "list-audit-events",
		Method:      http.MethodGet,
		Path:        "/v1/audit/events",
		Summary:     "List audit events",
		Description: "Newest first. Events appear as soon as their transaction commits; `seq` is set once they are sealed into the chain.",
		Tags:        []string{"Audit"},
		Errors:      []int{http.StatusBadRequest},
	}), func(ctx context.Context, in *listAuditEventsInput) (*listAuditEventsOutput, error) {
		f, err := in.filter()
		if err != nil {
			return nil, err
		}
		page, err := h.d.Audit.Query(ctx, f, in.Limit, in.Cursor)
		if errors.Is(err, audit.ErrBadCursor) {
			return nil, huma.Error400BadRequest("The cursor is not valid; start again without one.")
		}
		if err != nil {
			return nil, h.fail(ctx, "list-audit-events", err)
		}
		out := &listAuditEventsOutput{}
		out.Body.Items = make([]AuditEvent, 0, len(page.Events))
		for _, e := range page.Events {
			out.Body.Items = append(out.Body.Items, toAuditEvent(e))
		}
		if page.Next != "" {
			q := queryOf(in.AuditFilterParams)
			q.Set("limit", strconv.Itoa(in.Limit))
			q.Set("cursor", page.Next)
			out.Link = `</v1/audit/events?` + q.Encode() + `>; rel="next"`
		}
		return out, nil
	})

	huma.Register(h.api, h.operation(huma.Operation{
		OperationID: "verify-audit-log",
		Method:      http.MethodGet,
		Path:        "/v1/audit/verify",
		Summary:     "Verify the audit log",
		Description: "Walks the whole chain and names the first broken link: a modified, deleted, reordered or inserted event, a forged checkpoint or mark. " +
			"A broken log is a finding, not an error: the answer is 200 with `ok: false`.",
		Tags: []string{"Audit"},
	}), func(ctx context.Context, _ *struct{}) (*verifyOutput, error) {
		rep, err := h.d.Audit.Verify(ctx)
		if err != nil {
			return nil, h.fail(ctx, "verify-audit-log", err)
		}
		out := &verifyOutput{Body: VerifyReport{OK: rep.OK, FirstSeq: rep.FirstSeq, LastSeq: rep.LastSeq, Events: rep.Events,
			Checkpoints: rep.Checkpoints, LastCheckpoint: rep.LastCheckpoint, Pending: rep.Pending, Rejected: rep.Rejected}}
		if p := rep.Problem; p != nil {
			out.Body.Problem = &VerifyProblem{Kind: string(p.Kind), Seq: p.Seq, EventID: p.EventID, Message: p.Message}
		}
		return out, nil
	})

	huma.Register(h.api, h.operation(huma.Operation{
		OperationID: "list-audit-event-types",
		Method:      http.MethodGet,
		Path:        "/v1/audit/event-types",
		Summary:     "List the audit event types",
		Tags:        []string{"Audit"},
	}), func(context.Context, *struct{}) (*eventTypesOutput, error) {
		out := &eventTypesOutput{}
		for _, t := range audit.Types() {
			out.Body.Items = append(out.Body.Items, struct {
				Name        string `json:"name"`
				Description string `json:"description"`
			}{t.Name, t.Description})
		}
		return out, nil
	})
}

// queryOf renders a filter back into query parameters, for next-page links.
func queryOf(in AuditFilterParams) url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"type": in.Type, "actor": in.Actor, "target": in.Target,
		"outcome": in.Outcome, "since": in.Since, "until": in.Until} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}
