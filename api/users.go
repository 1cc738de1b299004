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
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"

	"github.com/identityd/identityd/users"
)

// User is how the API shows an account; it never carries the password or its hash.
type User struct {
	ID                string         `json:"id" example:"h4k2m9x7c3v5b8n1"`
	Email             string         `json:"email" format:"email" example:"ada@example.com"`
	EmailVerified     bool           `json:"email_verified"`
	Username          string         `json:"username,omitempty" example:"ada"`
	Name              string         `json:"name" example:"Ada Lovelace"`
	Status            string         `json:"status" enum:"active,disabled,locked" doc:"locked: too many failed sign-ins; opened by an unlock or a password reset."`
	HasPassword       bool           `json:"has_password"`
	Metadata          map[string]any `json:"metadata" doc:"The operator's own data about the user: a JSON object of at most 16 KiB."`
	CreatedAt         time.Time      `json:"created_at"`
	UpdatedAt         time.Time      `json:"updated_at"`
	LastLoginAt       *time.Time     `json:"last_login_at,omitempty"`
	PasswordChangedAt *time.Time     `json:"password_changed_at,omitempty"`
	FailedLogins      int            `json:"failed_logins" doc:"Consecutive failed sign-ins since the last success."`
	LockedAt          *time.Time     `json:"locked_at,omitempty"`
}

func toUser(u users.User) User {
	meta := map[string]any{}
	_ = json.Unmarshal(u.Metadata, &meta) // stored compact and checked: always an object
	return User{ID: u.ID, Email: u.Email, EmailVerified: u.EmailVerified, Username: u.Username, Name: u.Name,
		Status: string(u.Status), HasPassword: u.HasPassword, Metadata: meta, CreatedAt: u.CreatedAt,
		UpdatedAt: u.UpdatedAt, LastLoginAt: u.LastLoginAt, PasswordChangedAt: u.PasswordChangedAt,
		FailedLogins: u.FailedLogins, LockedAt: u.LockedAt}
}

type userOutput struct {
	Body User
}

type userIDInput struct {
	ID string `path:"id" maxLength:"64" doc:"The user's id."`
}

type createUserInput struct {
	Body struct {
		Email         string         `json:"email" minLength:"1" maxLength:"254" example:"ada@example.com" doc:"Unique, case-insensitively."`
		EmailVerified bool           `json:"email_verified,omitempty" doc:"Create the user with the address already verified."`
		Username      string         `json:"username,omitempty" maxLength:"64" example:"ada" doc:"Optional, unique case-insensitively: letters, digits, and . _ - (not first)."`
		Name          string         `json:"name,omitempty" maxLength:"200" example:"Ada Lovelace"`
		Password      string         `json:"password,omitempty" maxLength:"4096" example:"correct horse battery staple" doc:"Checked against the password policy, then hashed with argon2id."`
		PasswordHash  string         `json:"password_hash,omitempty" maxLength:"1024" example:"pbkdf2_sha256$870000$salt$hash" doc:"A hash from another system instead of a password: bcrypt, Django, PHC pbkdf2, scrypt or argon2. Replaced by argon2id at the first sign-in."`
		Metadata      map[string]any `json:"metadata,omitempty" doc:"A JSON object of at most 16 KiB."`
	}
}

type listUsersInput struct {
	Query         string `query:"q" maxLength:"100" example:"ada" doc:"Matches email, username and name, case-insensitively, anywhere in them. Ranked: exact email or username first, then fields that start with it, then the rest."`
	Status        string `query:"status" enum:"active,disabled,locked" doc:"Only users with this status."`
	EmailVerified string `query:"email_verified" enum:"true,false" doc:"Only users whose address is (or is not) verified."`
	CreatedFrom   string `query:"created_from" maxLength:"64" example:"2026-01-01T00:00:00Z" doc:"Only users created at or after this RFC 3339 time."`
	CreatedBefore string `query:"created_before" maxLength:"64" doc:"Only users created before this RFC 3339 time."`
	Limit         int    `query:"limit" minimum:"1" maximum:"500" default:"50" doc:"Most users to return."`
	Cursor        string `query:"cursor" maxLength:"128" doc:"Where to continue: the cursor from the previous page's Link header."`
}

type listUsersOutput struct {
	Link string `header:"Link" doc:"The next page, as <url>; rel=\"next\", when there is one."`
	Body struct {
		Items []User `json:"items" nullable:"false"`
	}
}

type updateUserInput struct {
	ID   string `path:"id" maxLength:"64" doc:"The user's id."`
	Body struct {
		Email         *string         `json:"email,omitempty" minLength:"1" maxLength:"254" doc:"A new address is unverified unless email_verified says otherwise; links sent to the old one stop working."`
		EmailVerified *bool           `json:"email_verified,omitempty"`
		Username      *string         `json:"username,omitempty" maxLength:"64" doc:"An empty string removes the username."`
		Name          *string         `json:"name,omitempty" maxLength:"200"`
		Status        *string         `json:"status,omitempty" enum:"active,disabled" doc:"disabled revokes the user's sessions and tokens; active also unlocks a locked user."`
		Metadata      *map[string]any `json:"metadata,omitempty" doc:"Replaces the metadata object."`
	}
}

type setPasswordInput struct {
	ID   string `path:"id" maxLength:"64" doc:"The user's id."`
	Body struct {
		Password string `json:"password" minLength:"1" maxLength:"4096" doc:"Checked against the password policy. The user's sessions and tokens are revoked."`
	}
}

// userFail maps the users package's errors to problems; field errors come back one per
// field, each located in the body or query.
func (h *handlers) userFail(ctx context.Context, op, in string, err error) error {
	var (
		ve *users.ValidationError
		ce *users.ConflictError
	)
	switch {
	case errors.As(err, &ve):
		return fieldProblems(ve, func(field string) string { return in + "." + field })
	case errors.As(err, &ce):
		return huma.Error409Conflict("Another user already has this " + ce.Field + ".")
	case errors.Is(err, users.ErrNotFound):
		return huma.Error404NotFound("No user has this id.")
	case errors.Is(err, users.ErrBadCursor):
		return huma.Error400BadRequest("The cursor is not valid; start again without one.")
	case errors.Is(err, users.ErrAlreadyVerified):
		return huma.Error409Conflict("The user's email address is verified already.")
	case errors.Is(err, users.ErrDisabled):
		return huma.Error409Conflict("The user is disabled; enable them first.")
	case errors.Is(err, users.ErrMailUnavailable):
		return huma.Error409Conflict("No mail server is configured (smtp_url), so no link can be sent.")
	}
	return h.fail(ctx, op, err)
}

// replaced reports the fields in which JSON decoding replaced invalid UTF-8 (or a lone
// surrogate) with U+FFFD: stored, the mangled value would pass for what was sent.
func replaced(fields map[string]string) error {
	var details []error
	for loc, v := range fields {
		if strings.ContainsRune(v, utf8.RuneError) {
			details = append(details, &huma.ErrorDetail{Location: loc, Message: "must be valid UTF-8"})
		}
	}
	if details == nil {
		return nil
	}
	return huma.Error422UnprocessableEntity("validation failed", details...)
}

// metadataJSON re-encodes metadata for the users package; nil stays nil.
func metadataJSON(m map[string]any) (json.RawMessage, error) {
	if m == nil {
		return nil, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, huma.Error422UnprocessableEntity("validation failed",
			&huma.ErrorDetail{Location: "body.metadata", Message: "must be a JSON object"})
	}
	if strings.ContainsRune(string(b), utf8.RuneError) {
		return nil, huma.Error422UnprocessableEntity("validation failed",
			&huma.ErrorDetail{Location: "body.metadata", Message: "must be valid UTF-8"})
	}
	return b, nil
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func (h *handlers) registerUsers(mux *http.ServeMux) {
	tags := []string{"Users"}
	huma.Register(h.api, h.operation(huma.Operation{
		OperationID:   "create-user",
		Method:        http.MethodPost,
		Path:          "/v1/users",
		Summary:       "Create a user",
		Description:   "With a password (checked against the policy), an imported password_hash, or neither. Field errors list every refused field.",
		Tags:          tags,
		DefaultStatus: http.StatusCreated,
		Errors:        []int{http.StatusBadRequest, http.StatusConflict, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType},
	}), func(ctx context.Context, in *createUserInput) (*userOutput, error) {
		b := in.Body
		if err := replaced(map[string]string{"body.email": b.Email, "body.username": b.Username, "body.name": b.Name,
			"body.password": b.Password, "body.password_hash": b.PasswordHash}); err != nil {
			return nil, err
		}
		meta, err := metadataJSON(b.Metadata)
		if err != nil {
			return nil, err
		}
		u, err := h.d.Users.Create(ctx, users.NewUser{Email: b.Email, EmailVerified: b.EmailVerified, Username: b.Username,
			Name: b.Name, Password: b.Password, PasswordHash: b.PasswordHash, Metadata: meta, Source: users.SourceAPI})
		if err != nil {
			return nil, h.userFail(ctx, "create-user", "body", err)
		}
		return &userOutput{Body: toUser(u)}, nil
	})

	huma.Register(h.api, h.operation(huma.Operation{
		OperationID: "list-users",
		Method:      http.MethodGet,
		Path:        "/v1/users",
		Summary:     "List and search users",
		Description: "Newest first, or ranked by relevance with q. Filters combine.",
		Tags:        tags,
		Errors:      []int{http.StatusBadRequest},
	}), func(ctx context.Context, in *listUsersInput) (*listUsersOutput, error) {
		f := users.Filter{Query: in.Query, Status: users.Status(in.Status), Limit: in.Limit, Cursor: in.Cursor}
		if in.EmailVerified != "" {
			v := in.EmailVerified == "true"
			f.EmailVerified = &v
		}
		var details []error
		for _, t := range []struct {
			loc, raw string
			dst      *time.Time
		}{{"query.created_from", in.CreatedFrom, &f.CreatedFrom}, {"query.created_before", in.CreatedBefore, &f.CreatedBefore}} {
			if t.raw == "" {
				continue
			}
			v, err := time.Parse(time.RFC3339Nano, t.raw)
			if err != nil {
				details = append(details, &huma.ErrorDetail{Location: t.loc, Message: "must be an RFC 3339 time such as 2026-01-01T00:00:00Z"})
			}
			*t.dst = v
		}
		if details != nil {
			return nil, huma.Error422UnprocessableEntity("validation failed", details...)
		}
		if err := replaced(map[string]string{"query.q": in.Query}); err != nil {
			return nil, err
		}
		page, err := h.d.Users.List(ctx, f)
		if err != nil {
			return nil, h.userFail(ctx, "list-users", "query", err)
		}
		out := &listUsersOutput{}
		if page.Next != "" {
			q := url.Values{"limit": {strconv.Itoa(in.Limit)}, "cursor": {page.Next}}
			for k, v := range map[string]string{"q": in.Query, "status": in.Status, "email_verified": in.EmailVerified,
				"created_from": in.CreatedFrom, "created_before": in.CreatedBefore} {
				if v != "" {
					q.Set(k, v)
				}
			}
			out.Link = "</v1/users?" + q.Encode() + `>; rel="next"`
		}
		out.Body.Items = make([]User, 0, len(page.Users))
		for _, u := range page.Users {
			out.Body.Items = append(out.Body.Items, toUser(u))
		}
		return out, nil
	})

	huma.Register(h.api, h.operation(huma.Operation{
		OperationID: "get-user",
		Method:      http.MethodGet,
		Path:        "/v1/users/{id}",
		Summary:     "Show a user",
		Tags:        tags,
		Errors:      []int{http.StatusNotFound},
	}), func(ctx context.Context, in *userIDInput) (*userOutput, error) {
		u, err := h.d.Users.Get(ctx, in.ID)
		if err != nil {
			return nil, h.userFail(ctx, "get-user", "body", err)
		}
		return &userOutput{Body: toUser(u)}, nil
	})

	huma.Register(h.api, h.operation(huma.Operation{
		OperationID: "update-user",
		Method:      http.MethodPatch,
		Path:        "/v1/users/{id}",
		Summary:     "Change a user",
		Description: "Send only what changes. Disabling a user revokes their sessions and tokens.",
		Tags:        tags,
		Errors: []int{http.StatusBadRequest, http.StatusNotFound, http.StatusConflict, http.StatusRequestEntityTooLarge,
			http.StatusUnsupportedMediaType},
	}), func(ctx context.Context, in *updateUserInput) (*userOutput, error) {
		b := in.Body
		if err := replaced(map[string]string{"body.email": deref(b.Email), "body.username": deref(b.Username),
			"body.name": deref(b.Name)}); err != nil {
			return nil, err
		}
		var meta json.RawMessage
		if b.Metadata != nil {
			var err error
			if meta, err = metadataJSON(*b.Metadata); err != nil {
				return nil, err
			}
		}
		p := users.Patch{Email: b.Email, EmailVerified: b.EmailVerified, Username: b.Username, Name: b.Name, Metadata: meta}
		if b.Status != nil {
			st := users.Status(*b.Status)
			p.Status = &st
		}
		u, err := h.d.Users.Update(ctx, in.ID, p)
		if err != nil {
			return nil, h.userFail(ctx, "update-user", "body", err)
		}
		return &userOutput{Body: toUser(u)}, nil
	})

	huma.Register(h.api, h.operation(huma.Operation{
		OperationID:   "delete-user",
		Method:        http.MethodDelete,
		Path:          "/v1/users/{id}",
		Summary:       "Delete a user",
		Description:   "Their sessions, tokens and pending links go with them. The audit log keeps their id, and nothing else of them.",
		Tags:          tags,
		DefaultStatus: http.StatusNoContent,
		Errors:        []int{http.StatusNotFound},
	}), func(ctx context.Context, in *userIDInput) (*struct{}, error) {
		if err := h.d.Users.Delete(ctx, in.ID); err != nil {
			return nil, h.userFail(ctx, "delete-user", "body", err)
		}
		return nil, nil
	})

	huma.Register(h.api, h.operation(huma.Operation{
		OperationID:   "set-user-password",
		Method:        http.MethodPost,
		Path:          "/v1/users/{id}/password",
		Summary:       "Set a user's password",
		Description:   "The password must satisfy the policy; the problem says why one does not. The user's sessions and tokens are revoked.",
		Tags:          tags,
		DefaultStatus: http.StatusNoContent,
		Errors:        []int{http.StatusBadRequest, http.StatusNotFound, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType},
	}), func(ctx context.Context, in *setPasswordInput) (*struct{}, error) {
		if err := replaced(map[string]string{"body.password": in.Body.Password}); err != nil {
			return nil, err
		}
		if err := h.d.Users.SetPassword(ctx, in.ID, in.Body.Password); err != nil {
			return nil, h.userFail(ctx, "set-user-password", "body", err)
		}
		return nil, nil
	})

	huma.Register(h.api, h.operation(huma.Operation{
		OperationID: "unlock-user",
		Method:      http.MethodPost,
		Path:        "/v1/users/{id}/unlock",
		Summary:     "Unlock a user",
		Description: "Opens an account that failed sign-ins locked, and forgets its failures.",
		Tags:        tags,
		Errors:      []int{http.StatusNotFound},
	}), func(ctx context.Context, in *userIDInput) (*userOutput, error) {
		u, err := h.d.Users.Unlock(ctx, in.ID)
		if err != nil {
			return nil, h.userFail(ctx, "unlock-user", "body", err)
		}
		return &userOutput{Body: toUser(u)}, nil
	})

	huma.Register(h.api, h.operation(huma.Operation{
		OperationID:   "send-verification-email",
		Method:        http.MethodPost,
		Path:          "/v1/users/{id}/verification-email",
		Summary:       "Email a user a verification link",
		Description:   "The link is valid for email_verification_ttl and replaces earlier ones. Needs smtp_url.",
		Tags:          tags,
		DefaultStatus: http.StatusAccepted,
		Errors:        []int{http.StatusNotFound, http.StatusConflict},
	}), func(ctx context.Context, in *userIDInput) (*struct{}, error) {
		if err := h.d.Users.RequestVerification(ctx, in.ID); err != nil {
			return nil, h.userFail(ctx, "send-verification-email", "body", err)
		}
		return nil, nil
	})

	huma.Register(h.api, h.operation(huma.Operation{
		OperationID:   "send-password-reset-email",
		Method:        http.MethodPost,
		Path:          "/v1/users/{id}/password-reset-email",
		Summary:       "Email a user a password reset link",
		Description:   "The link is valid for password_reset_ttl and replaces earlier ones; it also unlocks a locked user. Needs smtp_url.",
		Tags:          tags,
		DefaultStatus: http.StatusAccepted,
		Errors:        []int{http.StatusNotFound, http.StatusConflict},
	}), func(ctx context.Context, in *userIDInput) (*struct{}, error) {
		if err := h.d.Users.SendPasswordReset(ctx, in.ID); err != nil {
			return nil, h.userFail(ctx, "send-password-reset-email", "body", err)
		}
		return nil, nil
	})

	h.registerImport(mux)
	h.registerSessions()
}
