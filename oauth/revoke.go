package oauth

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/ory/fosite"

	"github.com/identityd/identityd/audit"
	"github.com/identityd/identityd/store"
)

// revoke is the revocation endpoint (RFC 7009). The caller authenticates as a client
// and may revoke only tokens issued to it. A JWT access token is revoked by its jti,
// which joins the revocation list; a refresh token or an opaque access token by its
// grant, which ends every token of that authorization (RFC 7009 §2.1). Revoking a
// token that is unknown, expired or already revoked succeeds: its purpose is achieved.
func (p *Provider) revoke(w http.ResponseWriter, r *http.Request) {
	limitForm(w, r)
	ctx := r.Context()
	if err := r.ParseForm(); err != nil || r.PostForm.Get("token") == "" {
		p.writeError(w, r, fosite.ErrInvalidRequest.WithHint("Send the token to revoke in the form parameter 'token'."))
		return
	}
	// Public clients may revoke their tokens too (RFC 7009 §2.1): they name themselves.
	caller, err := p.authenticateClient(ctx, r, true)
	if err != nil {
		p.writeError(w, r, err)
		return
	}
	token := r.PostForm.Get("token")
	if !strings.HasPrefix(token, prefixAccessToken) && !strings.HasPrefix(token, prefixRefreshToken) {
		p.revokeJWT(w, r, caller, token)
		return
	}
	ctx, x := withExchange(ctx, "")
	kind := "refresh"
	if strings.HasPrefix(token, prefixAccessToken) {
		kind = "access"
	}
	// fosite finds the token's grant and checks it is the caller's; the event naming the
	// grant commits with its revocation.
	x.revoker = func(grant string) audit.Event { return audit.OAuthTokenRevoked(caller.c.ID, grant, kind) }
	err = p.revoker.RevokeToken(ctx, token, fosite.TokenType(r.PostForm.Get("token_type_hint")), caller)
	switch {
	case err == nil:
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
	case errors.Is(err, fosite.ErrUnauthorizedClient):
		p.writeError(w, r, fosite.ErrUnauthorizedClient.WithHint("The token was not issued to this client."))
	default:
		p.writeError(w, r, err)
	}
}

// revokeJWT revokes a JWT access token issued to caller by its jti. A token that does
// not verify, or has expired, needs no revoking.
func (p *Provider) revokeJWT(w http.ResponseWriter, r *http.Request, caller *client, token string) {
	ctx := r.Context()
	c, err := p.strategy.verifyAccessToken(token)
	if err != nil {
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
		return
	}
	if c.ClientID != caller.c.ID {
		p.writeError(w, r, fosite.ErrUnauthorizedClient.WithHint("The token was not issued to this client."))
		return
	}
	if p.revocations.revoked(c.JTI, c.userID(), c.ClientID, c.SessionID, time.Unix(c.IssuedAt, 0)) {
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
		return
	}
	err = p.d.DB.Tx(ctx, func(tx *store.Tx) error {
		learn, err := p.revocations.add(ctx, tx, jtiKey(c.JTI))
		if err != nil {
			return err
		}
		tx.AfterCommit(learn)
		return p.d.Audit.Record(ctx, tx, audit.OAuthTokenRevoked(caller.c.ID, grantOf(c.JTI), "access"))
	})
	if err != nil {
		p.d.Logger.ErrorContext(ctx, "oauth: revoke", "error", err.Error())
		p.writeError(w, r, fosite.ErrTemporarilyUnavailable)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}
