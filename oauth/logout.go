package oauth

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"

	josejwt "github.com/go-jose/go-jose/v3/jwt"

	"github.com/identityd/identityd/clients"
)

// LogoutPath is the page that asks a person to confirm signing out (package ui serves
// it); it comes back to return_to once they have.
const LogoutPath = "/logout"

// logoutKey marks a context in which an app signs the user out, for the audit event
// the session's end records.
type logoutKey struct{}

// idTokenHint is what an id_token_hint says about the sign-in it came from.
type idTokenHint struct {
	subject   string
	sessionID string
	audience  []string
}

// endSession is the end-session endpoint (OpenID Connect RP-Initiated Logout 1.0). An
// app sends the browser here to sign the user out of identityd, naming itself by an ID
// token it holds (id_token_hint) or its client_id, and where to send the browser after
// (post_logout_redirect_uri, which must be registered for the app, exactly). When the
// hint shows the request comes from an app of the browser's current sign-in, the
// session ends at once; otherwise — any page on the web can send a browser here — the
// person is asked first. Ending the session tells every app signed in with it that has
// a back-channel logout URI.
func (p *Provider) endSession(w http.ResponseWriter, r *http.Request) {
	limitForm(w, r)
	ctx := r.Context()
	if err := r.ParseForm(); err != nil {
		p.d.Pages.Fail(w, r, http.StatusBadRequest, "This sign-out link cannot be used.")
		return
	}
	q := r.Form
	var hint *idTokenHint
	if raw := q.Get("id_token_hint"); raw != "" {
		// A hint that does not verify (a key long retired, a forgery) gives the request
		// no authority; the person is asked instead.
		if h, ok := p.parseIDTokenHint(raw); ok {
			hint = &h
		}
	}
	clientID := q.Get("client_id")
	if hint != nil {
		switch {
		case clientID == "" && len(hint.audience) > 0:
			clientID = hint.audience[0]
		case clientID != "" && !slices.Contains(hint.audience, clientID):
			p.d.Pages.Fail(w, r, http.StatusBadRequest, "This sign-out link names an app its ID token was not issued to.")
			return
		}
	}
	redirect := q.Get("post_logout_redirect_uri")
	if redirect != "" {
		target, ok := p.postLogoutRedirect(w, r, clientID, redirect, q.Get("state"))
		if !ok {
			return
		}
		redirect = target
	}
	if bs, signedIn := p.signedIn(r); signedIn {
		if hint == nil || !(hint.sessionID == bs.sess.ID || hint.sessionID == "" && hint.subject == bs.user.ID) {
			back := url.Values{}
			for _, k := range []string{"client_id", "post_logout_redirect_uri", "state"} {
				if v := q.Get(k); v != "" {
					back.Set(k, v)
				}
			}
			if clientID != "" {
				back.Set("client_id", clientID)
			}
			returnTo := EndSessionPath + "?" + back.Encode()
			http.Redirect(w, r, LogoutPath+"?"+url.Values{"return_to": {returnTo}}.Encode(), http.StatusSeeOther)
			return
		}
		ctx = context.WithValue(ctx, logoutKey{}, clientID)
		if err := p.d.Sessions.End(ctx, p.d.Sessions.Token(r)); err != nil {
			p.d.Logger.ErrorContext(ctx, "oauth: end session", "error", err.Error())
			p.d.Pages.Fail(w, r, http.StatusServiceUnavailable, "Signing out failed on our side. Try again in a moment.")
			return
		}
		http.SetCookie(w, p.d.Sessions.ClearCookie())
	}
	if redirect == "" {
		http.Redirect(w, r, LoginPath+"?notice=signed_out", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, redirect, http.StatusSeeOther)
}

// postLogoutRedirect checks redirect is one of the client's registered post-logout
// redirect URIs, exactly, and returns it with state added; otherwise it has answered
// with the error page.
func (p *Provider) postLogoutRedirect(w http.ResponseWriter, r *http.Request, clientID, redirect, state string) (string, bool) {
	if clientID == "" {
		p.d.Pages.Fail(w, r, http.StatusBadRequest, "This sign-out link names no app, so it cannot send you anywhere after.")
		return "", false
	}
	c, err := p.d.Clients.Lookup(r.Context(), clientID)
	if errors.Is(err, clients.ErrNotFound) || (err == nil && !slices.Contains(c.PostLogoutRedirectURIs, redirect)) {
		p.d.Pages.Fail(w, r, http.StatusBadRequest, "This sign-out link would send you to an address the app did not register.")
		return "", false
	}
	if err != nil {
		p.d.Logger.ErrorContext(r.Context(), "oauth: end session: client", "error", err.Error())
		p.d.Pages.Fail(w, r, http.StatusServiceUnavailable, "Signing out failed on our side. Try again in a moment.")
		return "", false
	}
	if state == "" {
		return redirect, true
	}
	u, err := url.Parse(redirect)
	if err != nil {
		p.d.Pages.Fail(w, r, http.StatusBadRequest, "This sign-out link cannot be used.")
		return "", false
	}
	v := u.Query()
	v.Set("state", state)
	u.RawQuery = v.Encode()
	return u.String(), true
}

// parseIDTokenHint verifies an ID token identityd issued — its signature with a
// published key of its algorithm (RS256 or ES256) and its issuer, but not its expiry:
// apps send the last ID token they have, which has often expired (RP-Initiated Logout
// §2).
func (p *Provider) parseIDTokenHint(raw string) (idTokenHint, bool) {
	if len(raw) > 16<<10 {
		return idTokenHint{}, false
	}
	tok, err := josejwt.ParseSigned(raw)
	if err != nil || len(tok.Headers) != 1 {
		return idTokenHint{}, false
	}
	public, err := p.strategy.verifyIDTokenKey(tok.Headers[0].Algorithm, tok.Headers[0].KeyID)
	if err != nil {
		return idTokenHint{}, false
	}
	var (
		std   josejwt.Claims
		extra struct {
			SessionID string `json:"sid"`
		}
	)
	if err := tok.Claims(public, &std, &extra); err != nil || std.Issuer != p.cfg.Issuer || std.Subject == "" {
		return idTokenHint{}, false
	}
	return idTokenHint{subject: std.Subject, sessionID: extra.SessionID, audience: std.Audience}, true
}
