package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/identityd/identityd/admintokens"
)

// authenticate admits requests to operations that need an admin token only with a valid
// one. Per RFC 6750 a request without credentials gets a bare challenge and one with bad
// credentials gets error="invalid_token"; neither learns why a token was refused.
func (h *handlers) authenticate(ctx huma.Context, next func(huma.Context)) {
	if len(ctx.Operation().Security) == 0 {
		next(ctx)
		return
	}
	header := ctx.Header("Authorization")
	scheme, secret, found := strings.Cut(header, " ")
	if !found || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(secret) == "" {
		ctx.SetHeader("WWW-Authenticate", `Bearer realm="identityd"`)
		_ = huma.WriteErr(h.api, ctx, http.StatusUnauthorized, "An admin token is required: send Authorization: Bearer <token>.")
		return
	}
	_, err := h.d.AdminTokens.Verify(ctx.Context(), strings.TrimSpace(secret))
	if errors.Is(err, admintokens.ErrInvalid) {
		ctx.SetHeader("WWW-Authenticate", `Bearer realm="identityd", error="invalid_token"`)
		_ = huma.WriteErr(h.api, ctx, http.StatusUnauthorized, "The admin token is invalid, expired or revoked.")
		return
	}
	if err != nil {
		p := h.classify(ctx.Context(), "authenticate", err)
		if p.retryAfter != "" {
			ctx.SetHeader("Retry-After", p.retryAfter)
		}
		_ = huma.WriteErr(h.api, ctx, p.status, p.detail)
		return
	}
	next(ctx)
}
