package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/identityd/identityd/admintokens"
	"github.com/identityd/identityd/audit"
	"github.com/identityd/identityd/requestinfo"
)

// authenticate admits requests to operations that need an admin token only with a valid
// one, and makes the token the request's actor, so the audit log says which token acted.
func (h *handlers) authenticate(ctx huma.Context, next func(huma.Context)) {
	if len(ctx.Operation().Security) == 0 {
		next(ctx)
		return
	}
	c, refused := h.checkToken(ctx.Context(), ctx.Header("Authorization"), ctx.Operation().OperationID)
	if refused != nil {
		for k, v := range refused.headers {
			ctx.SetHeader(k, v)
		}
		_ = huma.WriteErr(h.api, ctx, refused.status, refused.detail)
		return
	}
	next(huma.WithContext(ctx, c))
}

// refusal is why a request was not let in, as the client is told.
type refusal struct {
	status  int
	detail  string
	headers map[string]string
}

// checkToken verifies the bearer token in an Authorization header. On success it returns
// ctx with the token as actor. Per RFC 6750 a request without credentials gets a bare
// challenge and one with bad credentials gets error="invalid_token"; neither learns why
// a token was refused. A refused token is audited; a missing one is not (browsers and
// probes send none).
func (h *handlers) checkToken(ctx context.Context, header, operation string) (context.Context, *refusal) {
	scheme, secret, found := strings.Cut(header, " ")
	if !found || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(secret) == "" {
		return ctx, &refusal{status: http.StatusUnauthorized,
			detail:  "An admin token is required: send Authorization: Bearer <token>.",
			headers: map[string]string{"WWW-Authenticate": `Bearer realm="identityd"`}}
	}
	tok, err := h.d.AdminTokens.Verify(ctx, strings.TrimSpace(secret))
	if errors.Is(err, admintokens.ErrInvalid) {
		if err := h.d.Audit.RecordNow(ctx, audit.AdminAuthFailed(operation)); err != nil {
			h.d.Logger.WarnContext(ctx, "could not record a refused admin token", slog.String("error", err.Error()))
		}
		return ctx, &refusal{status: http.StatusUnauthorized,
			detail:  "The admin token is invalid, expired or revoked.",
			headers: map[string]string{"WWW-Authenticate": `Bearer realm="identityd", error="invalid_token"`}}
	}
	if err != nil {
		p := h.classify(ctx, "authenticate", err)
		r := &refusal{status: p.status, detail: p.detail}
		if p.retryAfter != "" {
			r.headers = map[string]string{"Retry-After": p.retryAfter}
		}
		return ctx, r
	}
	ctx, info := requestinfo.Ensure(ctx)
	info.Actor = requestinfo.Actor{Kind: requestinfo.ActorAdminToken, ID: tok.ID}
	return ctx, nil
}
