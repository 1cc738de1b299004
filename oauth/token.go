package oauth

import (
	"net/http"
	"slices"
	"strings"

	"github.com/ory/fosite"
)

// userScopes are the scopes that only mean something for a user: a client acting for
// itself (client_credentials) cannot have them.
var userScopes = []string{"openid", "profile", "email", "offline_access"}

// token is the token endpoint (RFC 6749 §3.2): authorization codes (with PKCE), refresh
// tokens and client credentials exchanged for tokens. fosite authenticates the client
// and runs the grant; storage claims codes and rotates refresh tokens atomically, and
// audits every issue in the transaction that makes it.
func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	limitForm(w, r)
	if !namesClient(r) {
		p.writeError(w, r, fosite.ErrInvalidClient.WithHint("The request includes no client authentication."))
		return
	}
	// Storage must know the exchange before fosite reads a code or a refresh token.
	ctx, _ := withExchange(r.Context(), r.PostForm.Get("grant_type"))
	f := p.byGrant[r.PostForm.Get("grant_type")]
	if f == nil {
		f = p.fosite // which answers unsupported_grant_type
	}
	ar, err := f.NewAccessRequest(ctx, r, newSession())
	if err != nil {
		p.writeError(w, r, err)
		return
	}
	if ar.GetGrantTypes().ExactOne("refresh_token") {
		// fosite gives a refresh the grant's scopes whatever is asked; asking for more
		// than the grant has is refused here, before the token is rotated (RFC 6749 §6).
		for _, s := range fosite.RemoveEmpty(strings.Split(r.PostForm.Get("scope"), " ")) {
			if !slices.Contains(ar.GetGrantedScopes(), s) {
				p.writeError(w, r, fosite.ErrInvalidScope.WithHintf("The scope '%s' was not granted to this refresh token.", s))
				return
			}
		}
	}
	if ar.GetGrantTypes().ExactOne("client_credentials") {
		// fosite has checked the client may ask for these scopes and audiences; the
		// client gets what it asks for, and nothing meant for users.
		for _, s := range ar.GetRequestedScopes() {
			if slices.Contains(userScopes, s) {
				p.writeError(w, r, fosite.ErrInvalidScope.WithHintf(
					"The scope '%s' is for users; a client acting for itself cannot have it.", s))
				return
			}
			ar.GrantScope(s)
		}
		for _, a := range ar.GetRequestedAudience() {
			ar.GrantAudience(a)
		}
	}
	resp, err := f.NewAccessResponse(ctx, ar)
	if err != nil {
		p.writeError(w, r, err)
		return
	}
	f.WriteAccessResponse(ctx, w, ar, resp)
}

// namesClient reports whether a request to the token endpoint includes any client
// authentication (RFC 6749 §2.3): without one it is invalid_client, not just malformed.
func namesClient(r *http.Request) bool {
	if err := r.ParseForm(); err != nil {
		return true // fosite answers the malformed body
	}
	return r.Header.Get("Authorization") != "" || r.PostForm.Get("client_id") != "" || r.PostForm.Get("client_assertion") != ""
}
