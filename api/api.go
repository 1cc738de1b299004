// Package api is identityd's management REST API: the /v1 operations on the admin
// listener, their OpenAPI 3.1 document (generated from these Go types by huma, served at
// /v1/openapi.json) and interactive docs at /docs, served from the binary.
//
// Handlers translate HTTP to calls on domain packages and back; they hold no business
// rules. Every error leaves as an RFC 9457 problem: validation failures list each field,
// internal failures say nothing about internals, and an unreachable database is a 503.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/identityd/identityd/admintokens"
	"github.com/identityd/identityd/audit"
	"github.com/identityd/identityd/clients"
	"github.com/identityd/identityd/redact"
	"github.com/identityd/identityd/requestinfo"
	"github.com/identityd/identityd/sessions"
	"github.com/identityd/identityd/signingkeys"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/users"
	"github.com/identityd/identityd/validation"
	"github.com/identityd/identityd/webhooks"
)

// Deps are what the API's handlers call.
type Deps struct {
	DB          *store.DB
	Migrator    *store.Migrator
	AdminTokens *admintokens.Service
	Audit       *audit.Log
	Webhooks    *webhooks.Service
	Users       *users.Service
	Sessions    *sessions.Service
	Clients     *clients.Service
	Keys        *signingkeys.Service
	// ImportMaxBytes caps a bulk import's body (user_import_max_bytes).
	ImportMaxBytes int64
	// AuditHub wakes live audit streams when the chain grows.
	AuditHub *audit.Hub
	// Shutdown is closed when the server begins to shut down; live streams end then.
	Shutdown <-chan struct{}
	// MaxStreams caps live audit streams (64 when zero); StreamWriteTimeout is how long
	// one write to a stream may block before the client is cut off (10s when zero).
	MaxStreams         int
	StreamWriteTimeout time.Duration
	// Version is identityd's version, reported by /v1/status and in the OpenAPI document.
	Version string
	// BodyLimit caps request bodies, as the server's middleware does.
	BodyLimit int64
	Logger    *slog.Logger
}

// bearerScheme names the admin-token security scheme in the OpenAPI document.
const bearerScheme = "adminToken"

// Register adds the management API and its docs to mux.
func Register(mux *http.ServeMux, d Deps) huma.API {
	cfg := huma.DefaultConfig("identityd management API", d.Version)
	cfg.Info.Description = "Manage identityd. Every operation needs an admin token: " +
		"create one with `identityd admin token create` and send it as `Authorization: Bearer <token>`."
	cfg.OpenAPIPath = "/v1/openapi"
	cfg.DocsPath = ""    // served by Docs from embedded assets instead of a CDN
	cfg.SchemasPath = "" // schemas are inline in the OpenAPI document
	cfg.CreateHooks = nil
	cfg.RejectUnknownQueryParameters = true
	cfg.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		bearerScheme: {Type: "http", Scheme: "bearer", Description: "An admin token from `identityd admin token create`."},
	}
	cfg.Transformers = append(cfg.Transformers, scrubErrorValues)
	a := humago.New(mux, cfg)
	if d.MaxStreams <= 0 {
		d.MaxStreams = 64
	}
	if d.StreamWriteTimeout <= 0 {
		d.StreamWriteTimeout = 10 * time.Second
	}
	h := &handlers{d: d, api: a, streams: make(chan struct{}, d.MaxStreams)}
	a.UseMiddleware(h.authenticate)
	h.registerStatus()
	h.registerAdminTokens()
	h.registerAudit()
	h.registerWebhooks()
	h.registerStream(mux)
	h.registerUsers(mux)
	h.registerClients()
	h.registerSigningKeys()
	registerDocs(mux)
	return a
}

type handlers struct {
	d       Deps
	api     huma.API
	streams chan struct{} // a slot per live stream
}

// operation fills in what every operation shares: the admin-token requirement, the
// body limit, and the errors any of them may answer with (422 included, since every
// operation rejects unknown query parameters).
func (h *handlers) operation(op huma.Operation) huma.Operation {
	op.Security = []map[string][]string{{bearerScheme: {}}}
	op.MaxBodyBytes = h.d.BodyLimit
	op.Errors = append(op.Errors, http.StatusUnauthorized, http.StatusUnprocessableEntity, http.StatusServiceUnavailable)
	return op
}

// failure is what a client is told about an error.
type failure struct {
	status     int
	detail     string
	retryAfter string
}

// classify decides what a client may learn of an error from a domain package. Errors
// nobody anticipated are logged with the request id and answered with a bare 500; an
// unreachable database is a 503 the client may retry.
func (h *handlers) classify(ctx context.Context, op string, err error) failure {
	id := requestinfo.From(ctx).ID
	if errors.Is(err, store.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) {
		h.d.Logger.WarnContext(ctx, "database unavailable", slog.String("operation", op),
			slog.String("request_id", id), slog.String("error", err.Error()))
		return failure{status: http.StatusServiceUnavailable, detail: "The database is unavailable; retry shortly.", retryAfter: "5"}
	}
	h.d.Logger.ErrorContext(ctx, "request failed", slog.String("operation", op),
		slog.String("request_id", id), slog.String("error", err.Error()))
	return failure{status: http.StatusInternalServerError,
		detail: "The server failed to answer this request; quote request id " + id + " when reporting it."}
}

// fieldProblems is the 422 problem of a refusal that names each field, one detail per
// field at the location locate gives it (body.name, query.limit).
func fieldProblems(ve *validation.Error, locate func(field string) string) error {
	details := make([]error, 0, len(ve.Errors))
	for _, f := range ve.Errors {
		details = append(details, &huma.ErrorDetail{Location: locate(f.Field), Message: f.Reason})
	}
	return huma.Error422UnprocessableEntity("validation failed", details...)
}

// bodyOrLimit locates a refused field of a request whose only query parameter a domain
// package checks is the page size.
func bodyOrLimit(field string) string {
	if field == "limit" {
		return "query.limit"
	}
	return "body." + field
}

// fail is classify for handlers, which return errors to huma.
func (h *handlers) fail(ctx context.Context, op string, err error) error {
	p := h.classify(ctx, op, err)
	se := huma.NewError(p.status, p.detail)
	if p.retryAfter != "" {
		return huma.ErrorWithHeaders(se, http.Header{"Retry-After": {p.retryAfter}})
	}
	return se
}

// maxErrorDetails bounds the field errors one problem lists. It is above the most a
// valid-looking registration can earn from the domain packages (every item of every list
// of an OAuth client refused), so only hostile or broken input is cut short.
const maxErrorDetails = 1000

// scrubErrorValues removes client-supplied values from validation error details when
// they sit under a sensitive name, so a rejected password is never echoed back (or into
// a proxy's logs). It drops composite values outright: huma attaches the whole body to
// an unparseable one and the whole enclosing object to an unexpected property, and
// either may hold a secret next to the mistake, and be as large as the body limit.
//
// It also keeps only the first maxErrorDetails details: huma reports each wrong item of
// an array, so a body of a million wrong items would otherwise be answered with tens of
// megabytes.
func scrubErrorValues(_ huma.Context, _ string, v any) (any, error) {
	em, ok := v.(*huma.ErrorModel)
	if !ok {
		return v, nil
	}
	if n := len(em.Errors); n > maxErrorDetails {
		em.Errors = em.Errors[:maxErrorDetails]
		em.Detail += fmt.Sprintf(" (the first %d of %d errors)", maxErrorDetails, n)
	}
	for _, e := range em.Errors {
		if e == nil || e.Value == nil {
			continue
		}
		switch e.Value.(type) {
		case string, bool, float64, int, int64, json.Number:
			if e.Location == "body" {
				e.Value = nil
			} else if redact.IsSensitive(e.Location) {
				e.Value = redact.Redacted
			}
		default:
			e.Value = nil
		}
	}
	return v, nil
}
