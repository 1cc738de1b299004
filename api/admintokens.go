package api

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"

	"github.com/identityd/identityd/admintokens"
)

// AdminToken is how the API shows an admin token; it never carries the secret.
//
// It is exported because huma documents the fields of embedded structs only when their
// type is exported, and the create response embeds it: unexported, the document said
// that response had no fields but "token".
type AdminToken struct {
	ID         string     `json:"id" example:"k3j5b2x7c9d1f4gh"`
	Name       string     `json:"name" example:"deploy pipeline"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  time.Time  `json:"expires_at"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
}

func toAdminToken(t admintokens.Token) AdminToken {
	return AdminToken{ID: t.ID, Name: t.Name, CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt,
		RevokedAt: t.RevokedAt, LastUsedAt: t.LastUsedAt}
}

type listAdminTokensInput struct {
	Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"50" doc:"Most tokens to return."`
	Cursor string `query:"cursor" maxLength:"128" doc:"Where to continue: the cursor from the previous page's Link header."`
}

type listAdminTokensOutput struct {
	Link string `header:"Link" doc:"The next page, as <url>; rel=\"next\", when there is one."`
	Body struct {
		Items []AdminToken `json:"items" nullable:"false"`
	}
}

type createAdminTokenInput struct {
	Body struct {
		Name string `json:"name,omitempty" maxLength:"100" example:"deploy pipeline" doc:"What the token is for."`
		TTL  string `json:"ttl,omitempty" default:"1h" example:"24h" doc:"How long the token is valid, as a Go duration (1m to 8760h)."`
	}
}

type createAdminTokenOutput struct {
	Body struct {
		AdminToken
		Token string `json:"token" doc:"The token. It is shown only now; store it safely."`
	}
}

type adminTokenIDInput struct {
	ID string `path:"id" maxLength:"64" doc:"The token's id."`
}

func (h *handlers) registerAdminTokens() {
	huma.Register(h.api, h.operation(huma.Operation{
		OperationID: "list-admin-tokens",
		Method:      http.MethodGet,
		Path:        "/v1/admin-tokens",
		Summary:     "List admin tokens",
		Description: "Newest first. Expired tokens are deleted hourly; revoked ones are listed until they expire.",
		Tags:        []string{"Admin tokens"},
		Errors:      []int{http.StatusBadRequest},
	}), func(ctx context.Context, in *listAdminTokensInput) (*listAdminTokensOutput, error) {
		page, err := h.d.AdminTokens.List(ctx, in.Limit, in.Cursor)
		if errors.Is(err, admintokens.ErrBadCursor) {
			return nil, huma.Error400BadRequest("The cursor is not valid; start again without one.")
		}
		if err != nil {
			return nil, h.fail(ctx, "list-admin-tokens", err)
		}
		out := &listAdminTokensOutput{}
		out.Body.Items = make([]AdminToken, 0, len(page.Tokens))
		for _, t := range page.Tokens {
			out.Body.Items = append(out.Body.Items, toAdminToken(t))
		}
		if page.Next != "" {
			q := url.Values{"limit": {strconv.Itoa(in.Limit)}, "cursor": {page.Next}}
			out.Link = `</v1/admin-tokens?` + q.Encode() + `>; rel="next"`
		}
		return out, nil
	})

	huma.Register(h.api, h.operation(huma.Operation{
		OperationID:   "create-admin-token",
		Method:        http.MethodPost,
		Path:          "/v1/admin-tokens",
		Summary:       "Create an admin token",
		Description:   "The response carries the token itself, once. Only its SHA-256 is kept.",
		Tags:          []string{"Admin tokens"},
		DefaultStatus: http.StatusCreated,
		// huma answers a body it cannot parse with 400, one over the limit with 413 and
		// one in another media type with 415.
		Errors: []int{http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType},
	}), func(ctx context.Context, in *createAdminTokenInput) (*createAdminTokenOutput, error) {
		// The JSON decoder turns invalid UTF-8 and lone surrogates into U+FFFD, so the
		// name would be stored mangled and the domain's UTF-8 check never see it. A
		// replacement character in a name is refused, since no one can tell it apart.
		if strings.ContainsRune(in.Body.Name, utf8.RuneError) {
			return nil, huma.Error422UnprocessableEntity("validation failed", &huma.ErrorDetail{
				Location: "body.name", Message: "must be valid UTF-8"})
		}
		ttl, err := time.ParseDuration(in.Body.TTL)
		if err != nil {
			return nil, huma.Error422UnprocessableEntity("validation failed", &huma.ErrorDetail{
				Location: "body.ttl", Message: "must be a duration such as 30m, 24h", Value: in.Body.TTL})
		}
		secret, tok, err := h.d.AdminTokens.Create(ctx, in.Body.Name, ttl)
		var ve *admintokens.ValidationError
		if errors.As(err, &ve) {
			return nil, fieldProblems(ve, func(field string) string { return "body." + field })
		}
		if err != nil {
			return nil, h.fail(ctx, "create-admin-token", err)
		}
		out := &createAdminTokenOutput{}
		out.Body.AdminToken = toAdminToken(tok)
		out.Body.Token = secret
		return out, nil
	})

	huma.Register(h.api, h.operation(huma.Operation{
		OperationID:   "revoke-admin-token",
		Method:        http.MethodDelete,
		Path:          "/v1/admin-tokens/{id}",
		Summary:       "Revoke an admin token",
		Description:   "The token stops working at once. Revoking a revoked token succeeds.",
		Tags:          []string{"Admin tokens"},
		DefaultStatus: http.StatusNoContent,
		Errors:        []int{http.StatusNotFound},
	}), func(ctx context.Context, in *adminTokenIDInput) (*struct{}, error) {
		_, err := h.d.AdminTokens.Revoke(ctx, in.ID)
		if errors.Is(err, admintokens.ErrNotFound) {
			return nil, huma.Error404NotFound("No admin token has this id.")
		}
		if err != nil {
			return nil, h.fail(ctx, "revoke-admin-token", err)
		}
		return nil, nil
	})
}
