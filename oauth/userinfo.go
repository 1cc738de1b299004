package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ory/fosite"

	"github.com/identityd/identityd/clients"
	"github.com/identityd/identityd/users"
)

// userClaims are the claims about u that scopes allow (OpenID Connect Core §5.4): profile
// gives the name, the username and when the profile changed; email the address and
// whether it is verified. sub is always there.
func userClaims(u users.User, scopes []string) map[string]any {
	c := map[string]any{}
	if slices.Contains(scopes, "profile") {
		c["name"] = u.Name
		if u.Username != "" {
			c["preferred_username"] = u.Username
		}
		c["updated_at"] = u.UpdatedAt.Unix()
	}
	if slices.Contains(scopes, "email") {
		c["email"] = u.Email
		c["email_verified"] = u.EmailVerified
	}
	return c
}

// userinfo is the UserInfo endpoint (OpenID Connect Core §5.3): the claims about the
// user an access token acts for, as far as its scopes allow, as they are now. The token
// comes as a bearer token (RFC 6750), in the Authorization header or a form body.
func (p *Provider) userinfo(w http.ResponseWriter, r *http.Request) {
	limitForm(w, r)
	ctx := r.Context()
	token, ok := bearerToken(r)
	if !ok {
		bearerError(w, http.StatusUnauthorized, "invalid_request", "Send the access token as a bearer token.")
		return
	}
	at, err := p.checkAccessToken(ctx, token)
	if err != nil {
		if !errors.Is(err, errInactive) {
			p.d.Logger.ErrorContext(ctx, "oauth: userinfo: check token", "error", err.Error())
			bearerError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "Try again in a moment.")
			return
		}
		bearerError(w, http.StatusUnauthorized, "invalid_token", "The access token is not valid.")
		return
	}
	if at.UserID == "" || !slices.Contains(at.Scopes, "openid") {
		bearerError(w, http.StatusForbidden, "insufficient_scope", "The access token was not issued for a user with scope openid.")
		return
	}
	u, err := p.d.Users.Get(ctx, at.UserID)
	if errors.Is(err, users.ErrNotFound) || (err == nil && u.Status != users.StatusActive) {
		bearerError(w, http.StatusUnauthorized, "invalid_token", "The access token's user can no longer sign in.")
		return
	}
	if err != nil {
		p.d.Logger.ErrorContext(ctx, "oauth: userinfo: get user", "error", err.Error())
		bearerError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "Try again in a moment.")
		return
	}
	claims := userClaims(u, at.Scopes)
	claims["sub"] = u.ID
	writeJSON(w, http.StatusOK, claims)
}

// bearerToken is the access token of r (RFC 6750 §2.1, §2.2). A request that sends it
// both ways, or in a malformed header, has none.
func bearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if h != "" {
		scheme, token, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" || r.Method == http.MethodPost && r.PostFormValue("access_token") != "" {
			return "", false
		}
		return strings.TrimSpace(token), true
	}
	if r.Method == http.MethodPost {
		if t := r.PostFormValue("access_token"); t != "" {
			return t, true
		}
	}
	return "", false
}

// bearerError answers a request to a resource identityd serves (userinfo) as RFC 6750
// §3 asks: the error in WWW-Authenticate and in the body.
func bearerError(w http.ResponseWriter, status int, code, description string) {
	w.Header().Set("WWW-Authenticate", `Bearer error="`+code+`", error_description="`+description+`"`)
	writeJSON(w, status, map[string]string{"error": code, "error_description": description})
}

// writeJSON answers with v, never to be cached: every answer here is about one token.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // a write error means the client left
}

// errInactive means a token is not (or no longer) good: unknown, malformed, expired,
// revoked, or for a user or client that is gone.
var errInactive = errors.New("oauth: inactive token")

// accessToken is what a good access token says.
type accessToken struct {
	ClientID  string
	UserID    string
	SessionID string
	Scopes    []string
	Audience  []string
	JTI       string
	IssuedAt  int64
	ExpiresAt int64
	NotBefore int64
	AuthTime  int64
	ACR       string
	AMR       []string
	// Opaque tells an opaque token from a JWT.
	Opaque bool
}

// checkAccessToken checks an access token: a JWT by its signature, expiry and the
// revocation list, with no database read; an opaque token by its row.
func (p *Provider) checkAccessToken(ctx context.Context, token string) (accessToken, error) {
	if !strings.HasPrefix(token, prefixAccessToken) {
		c, err := p.strategy.verifyAccessToken(token)
		if err != nil {
			return accessToken{}, errInactive
		}
		if p.revocations.revoked(c.JTI, c.userID(), c.ClientID, c.SessionID, time.Unix(c.IssuedAt, 0)) {
			return accessToken{}, errInactive
		}
		// A deleted client's tokens end with it (from the registry's cache: no read).
		if _, err := p.d.Clients.Lookup(ctx, c.ClientID); err != nil {
			if errors.Is(err, clients.ErrNotFound) {
				return accessToken{}, errInactive
			}
			return accessToken{}, err
		}
		return accessToken{ClientID: c.ClientID, UserID: c.userID(), SessionID: c.SessionID, Scopes: strings.Fields(c.Scope),
			Audience: c.Audience, JTI: c.JTI, IssuedAt: c.IssuedAt, ExpiresAt: c.ExpiresAt, AuthTime: c.AuthTime,
			ACR: c.ACR, AMR: c.AMR}, nil
	}
	_, ar, err := p.fosite.IntrospectToken(ctx, token, fosite.AccessToken, newSession())
	if err != nil {
		var rfc *fosite.RFC6749Error
		if errors.As(err, &rfc) && rfc.CodeField >= 500 {
			return accessToken{}, err
		}
		return accessToken{}, errInactive
	}
	return requestToken(ar, fosite.AccessToken), nil
}

// requestToken describes the token of a stored request.
func requestToken(ar fosite.Requester, tt fosite.TokenType) accessToken {
	at := accessToken{ClientID: ar.GetClient().GetID(), Scopes: ar.GetGrantedScopes(), Audience: ar.GetGrantedAudience(),
		IssuedAt: ar.GetRequestedAt().Unix(), ExpiresAt: ar.GetSession().GetExpiresAt(tt).Unix(), Opaque: true}
	if s, ok := ar.GetSession().(*Session); ok {
		at.UserID, at.SessionID, at.ACR, at.AMR = s.UserID, s.SessionID, s.ACR, s.Methods
		if !s.AuthTime.IsZero() {
			at.AuthTime = s.AuthTime.Unix()
		}
	}
	return at
}
