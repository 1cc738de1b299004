package oauth

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/ory/fosite"
)

// introspect is the introspection endpoint (RFC 7662). The caller authenticates as a
// client. It may learn about tokens issued to it and tokens meant for it (whose
// audience names it); a client registered with introspect_any_token may learn about
// any. Every other token is reported inactive, as an unknown one is, so that
// introspection tells nobody about tokens that are not their business.
//
// A JWT access token is checked by its signature, expiry and the revocation list — no
// database read — which is what makes introspection cheap enough to call per request.
func (p *Provider) introspect(w http.ResponseWriter, r *http.Request) {
	limitForm(w, r)
	ctx := r.Context()
	if err := r.ParseForm(); err != nil || r.PostForm.Get("token") == "" {
		p.writeError(w, r, fosite.ErrInvalidRequest.WithHint("Send the token to introspect in the form parameter 'token'."))
		return
	}
	caller, err := p.authenticateClient(ctx, r, false)
	if err != nil {
		p.writeError(w, r, err)
		return
	}
	token := r.PostForm.Get("token")
	var (
		at  accessToken
		use = "access_token"
	)
	if strings.HasPrefix(token, prefixRefreshToken) {
		at, err = p.checkRefreshToken(ctx, token)
		use = "refresh_token"
	} else {
		at, err = p.checkAccessToken(ctx, token)
	}
	if errors.Is(err, errInactive) || (err == nil && !mayIntrospect(caller, at, use)) {
		writeJSON(w, http.StatusOK, map[string]bool{"active": false})
		return
	}
	if err != nil {
		p.d.Logger.ErrorContext(ctx, "oauth: introspect", "error", err.Error())
		p.writeError(w, r, fosite.ErrTemporarilyUnavailable)
		return
	}
	resp := map[string]any{"active": true, "client_id": at.ClientID, "token_type": "Bearer", "exp": at.ExpiresAt,
		"iat": at.IssuedAt, "iss": p.cfg.Issuer, "sub": at.ClientID}
	if use == "refresh_token" {
		resp["token_type"] = "refresh_token"
	}
	if len(at.Scopes) > 0 {
		resp["scope"] = strings.Join(at.Scopes, " ")
	}
	if len(at.Audience) > 0 {
		resp["aud"] = at.Audience
	}
	if at.JTI != "" {
		resp["jti"] = at.JTI
	}
	if at.UserID != "" {
		resp["sub"] = at.UserID
		if at.AuthTime != 0 {
			resp["auth_time"] = at.AuthTime
		}
		if at.ACR != "" {
			resp["acr"] = at.ACR
		}
		if len(at.AMR) > 0 {
			resp["amr"] = at.AMR
		}
		if at.SessionID != "" {
			resp["sid"] = at.SessionID
		}
	}
	writeJSON(w, http.StatusOK, resp)
}

// mayIntrospect is the audience rule: a client may introspect its own tokens, access
// tokens meant for it, and any token if its registration says so.
func mayIntrospect(caller *client, at accessToken, use string) bool {
	if caller.c.IntrospectAnyToken || at.ClientID == caller.c.ID {
		return true
	}
	return use == "access_token" && slices.Contains(at.Audience, caller.c.ID)
}

// authenticateClient authenticates the client calling introspection or revocation.
// Public clients only name themselves; unless allowPublic they are refused.
func (p *Provider) authenticateClient(ctx context.Context, r *http.Request, allowPublic bool) (*client, error) {
	fc, err := p.fosite.AuthenticateClient(ctx, r, r.PostForm)
	if err != nil {
		return nil, err
	}
	c, ok := fc.(*client)
	if !ok || (c.IsPublic() && !allowPublic) {
		return nil, fosite.ErrInvalidClient.WithHint("Public clients cannot use this endpoint: they cannot authenticate.")
	}
	return c, nil
}

// checkRefreshToken checks a refresh token: its row, that it is the grant's current one,
// and its expiry.
func (p *Provider) checkRefreshToken(ctx context.Context, token string) (accessToken, error) {
	_, ar, err := p.fosite.IntrospectToken(ctx, token, fosite.RefreshToken, newSession())
	if err != nil {
		var rfc *fosite.RFC6749Error
		if errors.As(err, &rfc) && rfc.CodeField >= 500 {
			return accessToken{}, err
		}
		return accessToken{}, errInactive
	}
	return requestToken(ar, fosite.RefreshToken), nil
}

// writeError answers a refused request to the token, introspection, revocation or
// pushed authorization endpoint (RFC 6749 §5.2), with the challenge RFC 6749 asks for
// when a client that used HTTP Basic failed to authenticate.
func (p *Provider) writeError(w http.ResponseWriter, r *http.Request, err error) {
	p.logServerError(r, err)
	if errors.Is(err, fosite.ErrJTIKnown) {
		// fosite's own code; RFC 7523 §3 makes a refused assertion invalid_client.
		err = fosite.ErrInvalidClient.WithHint("The client assertion was used before; an assertion is good once.")
	}
	if errors.Is(err, fosite.ErrInvalidClient) {
		if _, _, basic := r.BasicAuth(); basic {
			w.Header().Set("WWW-Authenticate", `Basic realm="`+p.cfg.Issuer+`"`)
		}
	}
	p.fosite.WriteAccessError(r.Context(), w, nil, err)
}

// logServerError logs a failure of identityd's own behind an error answer: the client
// sees only server_error, the log says why (fosite's debug text never reaches clients).
func (p *Provider) logServerError(r *http.Request, err error) {
	rfc := fosite.ErrorToRFC6749Error(err)
	if rfc.CodeField < http.StatusInternalServerError {
		return
	}
	cause := rfc.DebugField
	if u := rfc.Unwrap(); u != nil {
		cause = u.Error()
	}
	p.d.Logger.ErrorContext(r.Context(), "oauth: "+r.URL.Path, "error", rfc.ErrorField, "cause", cause)
}
