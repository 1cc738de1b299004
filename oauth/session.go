package oauth

import (
	"maps"
	"slices"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/token/jwt"
)

// Session is what identityd keeps of an authorization between the steps of a flow and
// for the life of a grant: who signed in, how and when, and in which SSO session. It is
// fosite's OpenID Connect session with those facts beside it; the ID token's claims are
// built from them.
type Session struct {
	*openid.DefaultSession
	// UserID is the signed-in user; empty for a client acting for itself
	// (client_credentials).
	UserID string `json:"user_id,omitempty"`
	// SessionID is the handle of the browser session the user signed in with: the
	// ID token's sid, and what back-channel logout names.
	SessionID string `json:"sid,omitempty"`
	// Methods, ACR and AuthTime describe the sign-in (amr, acr, auth_time).
	Methods  []string  `json:"amr,omitempty"`
	ACR      string    `json:"acr,omitempty"`
	AuthTime time.Time `json:"auth_time"`
	// AuthAfter is set on an authorization request identityd continues after sending
	// the person to sign in (prompt=login, max_age): the Unix time the sign-in must not
	// be older than. It lives here, where only identityd writes, rather than among the
	// request's parameters, which the client chooses.
	AuthAfter int64 `json:"auth_after,omitempty"`
}

// newSession returns an empty session, for fosite to fill or to read a stored one into.
func newSession() *Session {
	return &Session{DefaultSession: &openid.DefaultSession{Claims: &jwt.IDTokenClaims{}, Headers: &jwt.Headers{}}}
}

// Clone copies the session deeply enough that fosite may change the copy freely.
func (s *Session) Clone() fosite.Session {
	if s == nil {
		return nil
	}
	c := *s
	d := *s.DefaultSession
	c.DefaultSession = &d
	d.ExpiresAt = maps.Clone(s.ExpiresAt)
	if s.Claims != nil {
		claims := *s.Claims
		claims.Audience = slices.Clone(s.Claims.Audience)
		claims.AuthenticationMethodsReferences = slices.Clone(s.Claims.AuthenticationMethodsReferences)
		claims.Extra = maps.Clone(s.Claims.Extra)
		d.Claims = &claims
	}
	if s.Headers != nil {
		h := jwt.Headers{Extra: maps.Clone(s.Headers.Extra)}
		d.Headers = &h
	}
	c.Methods = slices.Clone(s.Methods)
	return &c
}
