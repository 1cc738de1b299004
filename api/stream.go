package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"
)

// Live stream pacing. Each stream holds a goroutine and, at most, one batch of events; a
// client that stops reading is cut off when a write cannot finish (Deps.StreamWriteTimeout),
// and streams are capped in number (Deps.MaxStreams).
const (
	streamBatch     = 100
	streamHeartbeat = 15 * time.Second
)

// registerStream serves GET /v1/audit/stream: Server-Sent Events of sealed audit events
// as they are sealed, filtered like the event list, each with its sequence number as
// the SSE id. A client that reconnects with Last-Event-ID resumes right after that event:
// sealed sequence numbers have no gaps and never change, so nothing is missed or repeated.
//
// It is a plain handler rather than a huma operation because it must set a write
// deadline on every write; it is added to the OpenAPI document by hand.
func (h *handlers) registerStream(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/audit/stream", h.stream)
	ok := &huma.Response{Description: "A stream of `event: <type>`, `id: <seq>`, `data: <AuditEvent JSON>` messages, with comment heartbeats.",
		Content: map[string]*huma.MediaType{"text/event-stream": {
			Schema: &huma.Schema{Type: "string"}}}}
	op := &huma.Operation{
		OperationID: "stream-audit-events",
		Method:      http.MethodGet,
		Path:        "/v1/audit/stream",
		Summary:     "Stream audit events as they are sealed",
		Description: "Server-Sent Events. Takes the filters of GET /v1/audit/events (type, actor, target, outcome, since, until). " +
			"Starts after the newest sealed event, or right after the event whose sequence number is sent as `Last-Event-ID` " +
			"(header, or the `last_event_id` query parameter).",
		Tags:     []string{"Audit"},
		Security: []map[string][]string{{bearerScheme: {}}},
		Parameters: []*huma.Param{
			{Name: "Last-Event-ID", In: "header", Description: "Resume after this sequence number.", Schema: &huma.Schema{Type: "integer", Minimum: ptr(0.0)}},
		},
		Responses: map[string]*huma.Response{"200": ok},
	}
	for _, code := range []int{http.StatusUnauthorized, http.StatusUnprocessableEntity, http.StatusInternalServerError,
		http.StatusServiceUnavailable} {
		op.Responses[strconv.Itoa(code)] = &huma.Response{Description: http.StatusText(code),
			Content: map[string]*huma.MediaType{"application/problem+json": {Schema: &huma.Schema{Ref: "#/components/schemas/ErrorModel"}}}}
	}
	h.api.OpenAPI().AddOperation(op)
}

func ptr[T any](v T) *T { return &v }

func (h *handlers) stream(w http.ResponseWriter, r *http.Request) {
	ctx, refused := h.checkToken(r.Context(), r.Header.Get("Authorization"), "stream-audit-events")
	if refused != nil {
		for k, v := range refused.headers {
			w.Header().Set(k, v)
		}
		writeAPIProblem(w, refused.status, refused.detail)
		return
	}
	q := r.URL.Query()
	for name := range q {
		switch name {
		case "type", "actor", "target", "outcome", "since", "until", "last_event_id":
		default:
			writeAPIProblem(w, http.StatusUnprocessableEntity, "Unknown query parameter "+strconv.Quote(name)+".")
			return
		}
	}
	in := AuditFilterParams{Type: q.Get("type"), Actor: q.Get("actor"), Target: q.Get("target"),
		Outcome: q.Get("outcome"), Since: q.Get("since"), Until: q.Get("until")}
	if in.Outcome != "" && in.Outcome != "success" && in.Outcome != "failure" {
		writeAPIProblem(w, http.StatusUnprocessableEntity, "outcome must be success or failure.")
		return
	}
	f, err := in.filter()
	var se huma.StatusError
	if errors.As(err, &se) {
		writeAPIProblem(w, se.GetStatus(), describe(se))
		return
	}
	after := h.d.AuditHub.Head()
	last := r.Header.Get("Last-Event-ID")
	if last == "" {
		last = q.Get("last_event_id")
	}
	if last != "" {
		n, err := strconv.ParseInt(last, 10, 64)
		if err != nil || n < 0 {
			writeAPIProblem(w, http.StatusUnprocessableEntity, "Last-Event-ID must be the sequence number of an event.")
			return
		}
		after = n
	}

	select {
	case h.streams <- struct{}{}:
		defer func() { <-h.streams }()
	default:
		w.Header().Set("Retry-After", "10")
		writeAPIProblem(w, http.StatusServiceUnavailable, "Too many live streams are open; retry shortly.")
		return
	}

	// The stream ends with the client, or when the server begins to shut down.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-h.d.Shutdown:
			cancel()
		case <-ctx.Done():
		}
	}()

	rc := http.NewResponseController(w)
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Accel-Buffering", "no") // tell nginx not to hold messages back
	w.WriteHeader(http.StatusOK)
	write := func(s string) bool {
		// A client that does not read makes writes block; the deadline ends them, and
		// the stream with them.
		_ = rc.SetWriteDeadline(time.Now().Add(h.d.StreamWriteTimeout))
		if _, err := w.Write([]byte(s)); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !write("retry: 2000\n\n") {
		return
	}
	for {
		head, err := h.d.AuditHub.Wait(ctx, after, streamHeartbeat)
		if err != nil {
			return
		}
		if head <= after {
			if !write(": keep-alive\n\n") {
				return
			}
			continue
		}
		for after < head {
			events, reached, err := h.d.Audit.Sealed(ctx, f, after, head, streamBatch)
			if err != nil {
				// A database outage: end the stream; the client reconnects from its
				// last id and misses nothing.
				return
			}
			var msg []byte
			for _, e := range events {
				data, _ := json.Marshal(toAuditEvent(e))
				msg = fmt.Appendf(msg, "id: %d\nevent: %s\ndata: %s\n\n", e.Seq, e.Type, data)
			}
			if len(msg) > 0 && !write(string(msg)) {
				return
			}
			after = reached
		}
	}
}

// writeAPIProblem answers with the management API's problem format.
func writeAPIProblem(w http.ResponseWriter, status int, detail string) {
	body, _ := json.Marshal(huma.ErrorModel{Title: http.StatusText(status), Status: status, Detail: detail})
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// describe puts a huma validation error into one sentence.
func describe(se huma.StatusError) string {
	em, ok := se.(*huma.ErrorModel)
	if !ok || len(em.Errors) == 0 {
		return se.Error()
	}
	d := em.Errors[0]
	return d.Location + ": " + d.Message + "."
}
