package oauth

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/token/jwt"

	"github.com/identityd/identityd/audit"
	"github.com/identityd/identityd/sessions"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/users"
)

// continuationLifetime is how long an authorization request waits for the person to sign
// in or consent: as long as a login flow.
const continuationLifetime = 15 * time.Minute

// deniedParam marks the return from the consent page when the person said no. It can
// only deny: a forged one costs the person nothing but a refusal they did not ask for.
const deniedParam = "identityd_denied"

// browserSession is who is signed in in the browser of r, if anyone.
type browserSession struct {
	sess sessions.Session
	user users.User
}

// signedIn returns the browser's session and its user, if the user may sign in.
func (p *Provider) signedIn(r *http.Request) (browserSession, bool) {
	token := p.d.Sessions.Token(r)
	if token == "" {
		return browserSession{}, false
	}
	sess, err := p.d.Sessions.Lookup(r.Context(), token)
	if err != nil {
		return browserSession{}, false
	}
	u, err := p.d.Users.Get(r.Context(), sess.UserID)
	if err != nil || !u.Status.KeepsSessions() {
		return browserSession{}, false
	}
	return browserSession{sess: sess, user: u}, true
}

// authorize is the authorization endpoint (GET or POST /oauth2/auth). fosite validates
// the request — client, redirect URI (exactly), response type, scopes, PKCE, a pushed
// request — and identityd then makes sure someone is signed in, recently enough, and has
// consented, sending the browser to the sign-in or consent page and back as needed.
func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	limitForm(w, r)
	ctx := r.Context()
	ar, err := p.fosite.NewAuthorizeRequest(ctx, r)
	if err != nil {
		p.authorizeError(w, r, ar, err)
		return
	}
	if r.URL.Query().Get(deniedParam) != "" {
		p.fosite.WriteAuthorizeError(ctx, p.toClient(w), ar, fosite.ErrAccessDenied.WithHint("The user did not consent."))
		return
	}
	prompts := strings.Fields(ar.GetRequestForm().Get("prompt"))
	authAfter := int64(0)
	if s, ok := ar.GetSession().(*Session); ok {
		authAfter = s.AuthAfter
	}
	bs, ok := p.signedIn(r)
	if !ok || p.needsFreshSignIn(ar, bs, prompts, authAfter) {
		if slices.Contains(prompts, "none") {
			p.fosite.WriteAuthorizeError(ctx, p.toClient(w), ar, fosite.ErrLoginRequired)
			return
		}
		// The sign-in that satisfies this request is one from now on. The sign-in page
		// must show its form to a browser with a session cookie, usable there or not:
		// sent straight back, it would come here again.
		p.continueAfter(w, r, ar, LoginPath, without(prompts, "login"), p.d.Now().Unix(),
			slices.Contains(prompts, "login") || ok || p.d.Sessions.Token(r) != "")
		return
	}
	c := ar.GetClient().(*client)
	if !c.c.FirstParty {
		granted, err := p.consented(ctx, bs.user.ID, c.c.ID, ar.GetRequestedScopes())
		if err != nil {
			p.serverError(w, r, ar, "consent lookup", err)
			return
		}
		if !granted || slices.Contains(prompts, "consent") {
			if slices.Contains(prompts, "none") {
				p.fosite.WriteAuthorizeError(ctx, p.toClient(w), ar, fosite.ErrConsentRequired)
				return
			}
			p.continueAfter(w, r, ar, ConsentPath, without(prompts, "consent"), authAfter, false)
			return
		}
	}
	p.issueCode(w, r, ar, bs)
}

// LoginPath is the sign-in page (package ui serves it).
const LoginPath = "/login"

// without is prompts less one value.
func without(prompts []string, value string) []string {
	return slices.DeleteFunc(slices.Clone(prompts), func(s string) bool { return s == value })
}

// needsFreshSignIn reports whether the request asks for a sign-in more recent than the
// browser's: a continuation's own demand (authAfter), which stands for the prompt=login
// or max_age that led to it, or else prompt=login or a max_age the session's sign-in is
// older than.
func (p *Provider) needsFreshSignIn(ar fosite.AuthorizeRequester, bs browserSession, prompts []string, authAfter int64) bool {
	if authAfter != 0 {
		return bs.sess.AuthTime.Unix() < authAfter
	}
	if slices.Contains(prompts, "login") {
		return true
	}
	if maxAge, err := strconv.ParseInt(ar.GetRequestForm().Get("max_age"), 10, 64); err == nil && maxAge >= 0 {
		// max_age=0 asks for a sign-in now, as prompt=login does (the OpenID Connect
		// working group's reading, issue 993), even from one that began this second.
		return maxAge == 0 || p.d.Now().Sub(bs.sess.AuthTime) > time.Duration(maxAge)*time.Second
	}
	return false
}

// continueAfter keeps the validated request server-side as a continuation — a pushed
// authorization request identityd makes itself — and sends the browser to page (sign-in
// or consent), which comes back to /oauth2/auth with it. The continued request asks for
// prompts (those now being satisfied removed) and a sign-in no older than authAfter (0
// for none). forceLogin asks the sign-in page to show its form even to a signed-in
// browser.
func (p *Provider) continueAfter(w http.ResponseWriter, r *http.Request, ar fosite.AuthorizeRequester, page string,
	prompts []string, authAfter int64, forceLogin bool) {
	ctx := r.Context()
	stored := fosite.NewAuthorizeRequest()
	if a, ok := ar.(*fosite.AuthorizeRequest); ok {
		*stored = *a
	}
	stored.Form = url.Values{}
	for k, v := range ar.GetRequestForm() {
		stored.Form[k] = slices.Clone(v)
	}
	stored.Form.Set("prompt", strings.Join(prompts, " "))
	sess := newSession()
	sess.AuthAfter = authAfter
	stored.Session = sess
	requestURI := p.fcfg.PushedAuthorizeRequestURIPrefix + randomString(32)
	if err := p.storage.createRequest(ctx, "par", requestURI, stored, p.d.Now().UTC().Add(continuationLifetime)); err != nil {
		p.serverError(w, r, ar, "keep the request", err)
		return
	}
	back := AuthorizePath + "?" + url.Values{"client_id": {ar.GetClient().GetID()}, "request_uri": {requestURI}}.Encode()
	q := url.Values{"return_to": {back}}
	if forceLogin {
		q.Set("prompt", "login")
	}
	http.Redirect(w, r, page+"?"+q.Encode(), http.StatusSeeOther)
}

// issueCode answers an authorization the person is signed in for and consented to.
func (p *Provider) issueCode(w http.ResponseWriter, r *http.Request, ar fosite.AuthorizeRequester, bs browserSession) {
	ctx := r.Context()
	for _, s := range ar.GetRequestedScopes() {
		ar.GrantScope(s)
	}
	for _, a := range ar.GetRequestedAudience() {
		ar.GrantAudience(a)
	}
	sess := p.userSession(bs, ar)
	// The code, its PKCE and OpenID Connect halves, the note that this sign-in session
	// signed the client in (for back-channel logout) and the audit event commit together:
	// all or nothing, and on SQLite one commit rather than four.
	txCtx, err := p.storage.BeginTX(ctx)
	if err != nil {
		p.serverError(w, r, ar, "begin the authorization", err)
		return
	}
	// Ends the transaction however this returns (after a commit it does nothing): on
	// SQLite an open one would hold the only writer.
	defer func() { _ = p.storage.Rollback(txCtx) }()
	resp, err := p.fosite.NewAuthorizeResponse(txCtx, ar, sess)
	if err != nil {
		p.authorizeError(w, r, ar, err)
		return
	}
	clientID := ar.GetClient().GetID()
	err = p.storage.inTx(txCtx, func(tx *store.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO oauth_session_clients (session_id, client_id, user_id, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (session_id, client_id) DO NOTHING`,
			bs.sess.ID, clientID, bs.user.ID, p.d.Now().UTC(), bs.sess.ExpiresAt); err != nil {
			return err
		}
		return p.d.Audit.Record(ctx, tx, audit.OAuthAuthorized(clientID, bs.user.ID, ar.GetGrantedScopes()))
	})
	if err == nil {
		err = p.storage.Commit(txCtx)
	}
	if err != nil {
		p.serverError(w, r, ar, "record the authorization", err)
		return
	}
	p.fosite.WriteAuthorizeResponse(ctx, p.toClient(w), ar, resp)
}

// userSession is the session of tokens issued for the signed-in user. The ID token
// carries the claims the granted scopes allow, as they are at sign-in; userinfo answers
// with them as they are now.
func (p *Provider) userSession(bs browserSession, ar fosite.Requester) *Session {
	s := newSession()
	s.UserID, s.SessionID, s.Methods, s.ACR, s.AuthTime = bs.user.ID, bs.sess.ID, bs.sess.Methods, bs.sess.ACR, bs.sess.AuthTime
	s.Subject = bs.user.ID
	extra := userClaims(bs.user, ar.GetGrantedScopes())
	extra["sid"] = bs.sess.ID
	s.Claims = &jwt.IDTokenClaims{Subject: bs.user.ID, Issuer: p.cfg.Issuer, AuthTime: bs.sess.AuthTime.UTC(),
		RequestedAt: ar.GetRequestedAt().UTC(), AuthenticationMethodsReferences: bs.sess.Methods,
		AuthenticationContextClassReference: bs.sess.ACR, Extra: extra}
	return s
}

// toClient is w for an authorization response fosite sends to the client's redirect URI,
// success or error, which then names identityd as its issuer (iss, RFC 9207): a client
// that uses several authorization servers can tell which one answered, which defeats
// mix-up attacks. identityd answers only in the query, so the parameter goes there.
func (p *Provider) toClient(w http.ResponseWriter) http.ResponseWriter {
	return &issuerNamer{ResponseWriter: w, issuer: p.cfg.Issuer}
}

// issuerNamer adds iss to the query of the redirect written through it.
type issuerNamer struct {
	http.ResponseWriter
	issuer string
}

func (w *issuerNamer) WriteHeader(status int) {
	if loc := w.Header().Get("Location"); loc != "" {
		// fosite made the location from a registered redirect URI, so it parses.
		if u, err := url.Parse(loc); err == nil {
			q := u.Query()
			q.Set("iss", w.issuer)
			u.RawQuery = q.Encode()
			w.Header().Set("Location", u.String())
		}
	}
	w.ResponseWriter.WriteHeader(status)
}

// authorizeError answers a refused authorization: to the client, through its redirect
// URI, when that can be trusted; otherwise — an unknown client, a redirect URI that is
// not registered — on identityd's error page, since sending the browser to an address
// nobody registered is exactly what must not happen.
func (p *Provider) authorizeError(w http.ResponseWriter, r *http.Request, ar fosite.AuthorizeRequester, err error) {
	p.logServerError(r, err)
	if ar != nil && ar.IsRedirectURIValid() {
		// identityd answers only in the query: a refused form_post or fragment request
		// is told so there too, not with a self-submitting page the CSP would stop.
		if req, ok := ar.(*fosite.AuthorizeRequest); ok {
			req.ResponseMode = fosite.ResponseModeQuery
		}
		p.fosite.WriteAuthorizeError(r.Context(), p.toClient(w), ar, err)
		return
	}
	msg := "This sign-in request cannot be used."
	var rfc *fosite.RFC6749Error
	if errors.As(err, &rfc) && rfc.HintField != "" {
		msg += " " + rfc.HintField
	}
	p.d.Pages.Fail(w, r, http.StatusBadRequest, msg)
}

// serverError answers a failure of identityd's own during an authorization.
func (p *Provider) serverError(w http.ResponseWriter, r *http.Request, ar fosite.AuthorizeRequester, what string, err error) {
	p.authorizeError(w, r, ar, fosite.ErrServerError.WithWrap(err).WithDebug(what+": "+err.Error()))
}

// consented reports whether the user has consented to the client getting every one of
// scopes.
func (p *Provider) consented(ctx context.Context, userID, clientID string, scopes []string) (bool, error) {
	granted, ok, err := p.consentOf(ctx, p.d.DB, userID, clientID)
	if err != nil || !ok {
		return false, err
	}
	for _, s := range scopes {
		if !slices.Contains(granted, s) {
			return false, nil
		}
	}
	return true, nil
}
