package ui

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/identityd/identityd/flows"
	"github.com/identityd/identityd/sessions"
	"github.com/identityd/identityd/users"
)

// defaultReturnTo is where a sign-in with nowhere else to go ends.
const defaultReturnTo = "/account"

// wrongCredentials is the one answer to every failed sign-in: it must not tell an unknown
// account from a wrong password, nor either from a locked account.
const wrongCredentials = "The email, username or password is not right. Check them and try again."

// expiredFlow answers a sign-in whose flow is unknown, expired, finished, or from another
// browser.
const expiredFlow = "This sign-in has expired or was opened in another browser. Start again from the sign-in page."

// loginPage starts a flow (GET /login?return_to=…) and redirects to it, or shows the
// flow's page (GET /login?flow=…). A signed-in visitor is sent straight on — that is
// single sign-on — unless prompt=login asks them to sign in again (an app wants a fresh
// sign-in).
func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request, p *page) {
	q := r.URL.Query()
	if id := q.Get("flow"); id != "" {
		if f, ok := h.credentialsFlow(w, r, p, id); ok {
			h.showLogin(w, r, p, http.StatusOK, f.ID, "", "")
		}
		return
	}
	returnTo := defaultReturnTo
	if raw, given := q["return_to"]; given {
		safe, ok := flows.SafeReturnTo(raw[0])
		if !ok {
			h.fail(w, r, http.StatusBadRequest, "This sign-in link leads somewhere identityd does not send people. Open the site you came from again.")
			return
		}
		returnTo = safe
	}
	if p.signedIn() && q.Get("prompt") != "login" {
		http.Redirect(w, r, returnTo, http.StatusSeeOther)
		return
	}
	f, err := h.d.Flows.Start(r.Context(), p.browser, returnTo)
	if err != nil {
		h.internal(w, r, "start flow", err)
		return
	}
	next := url.Values{"flow": {f.ID}}
	if n := q.Get("notice"); notices[n] != "" {
		next.Set("notice", n) // a confirmation from where the browser came from
	}
	http.Redirect(w, r, "/login?"+next.Encode(), http.StatusSeeOther)
}

// credentialsFlow returns the browser's flow id when it waits for credentials. Otherwise
// it has answered: an error page for a flow that is gone, or the second-factor step for
// a flow that waits for one.
func (h *Handler) credentialsFlow(w http.ResponseWriter, r *http.Request, p *page, id string) (flows.Flow, bool) {
	f, err := h.d.Flows.Get(r.Context(), id, p.browser)
	switch {
	case errors.Is(err, flows.ErrNotFound):
		h.fail(w, r, http.StatusBadRequest, expiredFlow)
		return flows.Flow{}, false
	case err != nil:
		h.internal(w, r, "get flow", err)
		return flows.Flow{}, false
	}
	p.returnTo = f.ReturnTo
	if f.State == flows.StateSecondFactor {
		h.secondFactor(w, r, p, f)
		return flows.Flow{}, false
	}
	return f, true
}

func (h *Handler) showLogin(w http.ResponseWriter, r *http.Request, p *page, status int, flow, identifier, alert string) {
	h.render(w, r, p, status, View{Page: "login", Title: "Sign in", Alert: alert,
		Data: LoginData{Flow: flow, Identifier: identifier, RegisterEnabled: h.cfg.RegistrationEnabled}})
}

// login checks an identifier and a password for a flow (POST /login). A right password
// finishes the flow in a new session — or, for a user who must show a second factor,
// moves it to that step. Whatever was wrong, the answer is the same.
func (h *Handler) login(w http.ResponseWriter, r *http.Request, p *page) {
	ctx := r.Context()
	f, ok := h.credentialsFlow(w, r, p, r.PostForm.Get("flow"))
	if !ok {
		return
	}
	identifier := r.PostForm.Get("identifier")
	u, err := h.d.Users.Authenticate(ctx, identifier, r.PostForm.Get("password"))
	switch {
	case errors.Is(err, users.ErrInvalidCredentials):
		h.showLogin(w, r, p, http.StatusUnauthorized, f.ID, identifier, wrongCredentials)
		return
	case errors.Is(err, users.ErrDisabled):
		h.showLogin(w, r, p, http.StatusForbidden, f.ID, identifier, "This account is disabled. Contact your administrator.")
		return
	case errors.Is(err, users.ErrNetworkBlocked):
		h.showLogin(w, r, p, http.StatusTooManyRequests, f.ID, identifier,
			"Too many sign-ins failed from your network. Wait a while and try again.")
		return
	case err != nil:
		h.internal(w, r, "authenticate", err)
		return
	}
	remember := r.PostForm.Get("remember") == "on"
	methods := []string{"pwd"}
	if h.d.SecondFactor != nil {
		need, err := h.d.SecondFactor.Required(ctx, u.ID)
		if err != nil {
			h.internal(w, r, "second factor required", err)
			return
		}
		if need {
			if _, err := h.d.Flows.AwaitSecondFactor(ctx, f.ID, p.browser, u.ID, methods, remember); err != nil {
				h.fail(w, r, http.StatusBadRequest, expiredFlow)
				return
			}
			http.Redirect(w, r, "/login?"+url.Values{"flow": {f.ID}}.Encode(), http.StatusSeeOther)
			return
		}
	}
	h.finish(w, r, p, f.ID, u.ID, methods, remember)
}

// secondFactor hands a flow's second-factor step to the SecondFactor, and finishes the
// flow when it says the factor is right.
func (h *Handler) secondFactor(w http.ResponseWriter, r *http.Request, p *page, f flows.Flow) {
	if h.d.SecondFactor == nil {
		h.fail(w, r, http.StatusBadRequest, expiredFlow)
		return
	}
	methods, done := h.d.SecondFactor.Step(w, r, f)
	if done {
		h.finish(w, r, p, f.ID, f.UserID, append(f.Methods, methods...), f.Remember)
	}
}

// finish ends a flow in a new session — a new id whatever the browser held before, so a
// session planted ahead (fixation) is worthless — and sends the browser where the flow
// leads.
func (h *Handler) finish(w http.ResponseWriter, r *http.Request, p *page, flowID, userID string, methods []string, remember bool) {
	ctx := r.Context()
	f, err := h.d.Flows.Finish(ctx, flowID, p.browser)
	if errors.Is(err, flows.ErrNotFound) {
		h.fail(w, r, http.StatusBadRequest, expiredFlow)
		return
	}
	if err != nil {
		h.internal(w, r, "finish flow", err)
		return
	}
	token, sess, err := h.d.Sessions.Establish(ctx, h.d.Sessions.Token(r), userID,
		sessions.Auth{Methods: methods, AuthTime: h.d.Now(), Remember: remember})
	if errors.Is(err, sessions.ErrUserInactive) {
		// Disabled or locked since the password was checked (the second factor step
		// can take minutes): no session, and no server error either.
		h.fail(w, r, http.StatusForbidden, "This account cannot sign in now. Contact your administrator.")
		return
	}
	if err != nil {
		h.internal(w, r, "establish session", err)
		return
	}
	http.SetCookie(w, h.d.Sessions.Cookie(token, sess))
	http.Redirect(w, r, f.ReturnTo, http.StatusSeeOther)
}

// logoutPage asks to confirm signing out: a GET never signs anyone out, since any page
// on the web can make a browser send one.
func (h *Handler) logoutPage(w http.ResponseWriter, r *http.Request, p *page) {
	returnTo := safeReturn(r.URL.Query().Get("return_to"), "")
	if !p.signedIn() {
		http.Redirect(w, r, safeReturn(returnTo, "/login"), http.StatusSeeOther)
		return
	}
	p.returnTo = returnTo
	h.render(w, r, p, http.StatusOK, View{Page: "logout", Title: "Sign out", Data: LogoutData{ReturnTo: returnTo}})
}

// logout ends the browser's session, and goes back to the app's sign-out request that
// asked for it, if one did.
func (h *Handler) logout(w http.ResponseWriter, r *http.Request, p *page) {
	if p.signedIn() {
		if err := h.d.Sessions.End(r.Context(), p.token); err != nil {
			h.internal(w, r, "end session", err)
			return
		}
	}
	http.SetCookie(w, h.d.Sessions.ClearCookie())
	if returnTo := safeReturn(r.PostForm.Get("return_to"), ""); returnTo != "" {
		http.Redirect(w, r, returnTo, http.StatusSeeOther)
		return
	}
	redirect(w, r, "/login", "signed_out")
}
