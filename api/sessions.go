package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/identityd/identityd/sessions"
)

// Session is one of a user's browser sessions as the API shows it; it never carries the
// token.
type Session struct {
	ID            string    `json:"id" example:"p4x9k2m7c3v5b8n1" doc:"The session's handle."`
	CreatedAt     time.Time `json:"created_at"`
	LastSeenAt    time.Time `json:"last_seen_at" doc:"When the session was last used, to within a minute."`
	ExpiresAt     time.Time `json:"expires_at" doc:"When the session ends whatever its use."`
	IdleExpiresAt time.Time `json:"idle_expires_at" doc:"When the session ends unless it is used before."`
	Remember      bool      `json:"remember" doc:"The user asked to be kept signed in."`
	IP            string    `json:"ip" example:"203.0.113.7"`
	UserAgent     string    `json:"user_agent"`
	Methods       []string  `json:"methods" example:"[\"pwd\"]" doc:"How the user signed in (RFC 8176 amr values)."`
	ACR           string    `json:"acr,omitempty"`
	AuthTime      time.Time `json:"auth_time"`
}

type listSessionsOutput struct {
	Body struct {
		Items []Session `json:"items" nullable:"false"`
	}
}

type sessionIDInput struct {
	ID      string `path:"id" maxLength:"64" doc:"The user's id."`
	Session string `path:"session" maxLength:"64" doc:"The session's handle."`
}

type revokedOutput struct {
	Body struct {
		Revoked int `json:"revoked" doc:"How many sessions ended."`
	}
}

// sessionFail maps the sessions package's errors to problems.
func (h *handlers) sessionFail(ctx context.Context, op string, err error) error {
	if errors.Is(err, sessions.ErrNotFound) {
		return huma.Error404NotFound("The user has no live session with this handle.")
	}
	return h.userFail(ctx, op, "body", err)
}

func (h *handlers) registerSessions() {
	tags := []string{"Users"}
	huma.Register(h.api, h.operation(huma.Operation{
		OperationID: "list-user-sessions",
		Method:      http.MethodGet,
		Path:        "/v1/users/{id}/sessions",
		Summary:     "List a user's sessions",
		Description: "The user's live browser sessions, newest first (at most 100: a new sign-in beyond that ends the least recently used).",
		Tags:        tags,
		Errors:      []int{http.StatusNotFound},
	}), func(ctx context.Context, in *userIDInput) (*listSessionsOutput, error) {
		if _, err := h.d.Users.Get(ctx, in.ID); err != nil {
			return nil, h.userFail(ctx, "list-user-sessions", "body", err)
		}
		list, err := h.d.Sessions.List(ctx, in.ID)
		if err != nil {
			return nil, h.sessionFail(ctx, "list-user-sessions", err)
		}
		out := &listSessionsOutput{}
		out.Body.Items = make([]Session, 0, len(list))
		for _, s := range list {
			out.Body.Items = append(out.Body.Items, Session{ID: s.ID, CreatedAt: s.CreatedAt, LastSeenAt: s.LastSeenAt,
				ExpiresAt: s.ExpiresAt, IdleExpiresAt: s.IdleExpiresAt, Remember: s.Remember, IP: s.IP,
				UserAgent: s.UserAgent, Methods: s.Methods, ACR: s.ACR, AuthTime: s.AuthTime})
		}
		return out, nil
	})

	huma.Register(h.api, h.operation(huma.Operation{
		OperationID: "revoke-user-sessions",
		Method:      http.MethodDelete,
		Path:        "/v1/users/{id}/sessions",
		Summary:     "Sign a user out everywhere",
		Description: "Ends every browser session of the user's.",
		Tags:        tags,
		Errors:      []int{http.StatusNotFound},
	}), func(ctx context.Context, in *userIDInput) (*revokedOutput, error) {
		if _, err := h.d.Users.Get(ctx, in.ID); err != nil {
			return nil, h.userFail(ctx, "revoke-user-sessions", "body", err)
		}
		n, err := h.d.Sessions.RevokeAll(ctx, in.ID, sessions.ReasonAdmin)
		if err != nil {
			return nil, h.sessionFail(ctx, "revoke-user-sessions", err)
		}
		out := &revokedOutput{}
		out.Body.Revoked = n
		return out, nil
	})

	huma.Register(h.api, h.operation(huma.Operation{
		OperationID:   "revoke-user-session",
		Method:        http.MethodDelete,
		Path:          "/v1/users/{id}/sessions/{session}",
		Summary:       "End one of a user's sessions",
		Tags:          tags,
		DefaultStatus: http.StatusNoContent,
		Errors:        []int{http.StatusNotFound},
	}), func(ctx context.Context, in *sessionIDInput) (*struct{}, error) {
		if err := h.d.Sessions.Revoke(ctx, in.ID, in.Session, sessions.ReasonAdmin); err != nil {
			return nil, h.sessionFail(ctx, "revoke-user-session", err)
		}
		return nil, nil
	})
}
