package ui

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/identityd/identityd/flows"
	"github.com/identityd/identityd/requestinfo"
	"github.com/identityd/identityd/sessions"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/users"
)

// page is what a request to a page knows about its browser.
type page struct {
	// browser is the browser's secret, from its cookie: forms and flows are bound to it.
	browser string
	// token is the session token of the request's cookie, "" when signed out; session
	// and user are the session and its user then.
	token   string
	session sessions.Session
	user    users.User
	// returnTo is where the page's form leads once done, when that is an app's
	// authorization or sign-out: the browser may then be redirected to the app.
	returnTo string
}

func (p *page) signedIn() bool { return p.token != "" }

// browserCookieName is the cookie holding the browser's secret.
func (h *Handler) browserCookieName() string {
	if h.cfg.Secure {
		return "__Host-identityd_browser"
	}
	return "identityd_browser"
}

// browserCookieAge is how long a browser keeps its secret: it binds forms and flows, and
// a new one merely makes open forms go stale.
const browserCookieAge = 365 * 24 * 60 * 60

// load reads the browser's secret and session from the request. A GET gives a browser
// without a secret a new one; a session that is no longer valid loses its cookie.
func (h *Handler) load(w http.ResponseWriter, r *http.Request, issue bool) *page {
	p := &page{}
	if c, err := r.Cookie(h.browserCookieName()); err == nil && flows.ValidBrowserSecret(c.Value) {
		p.browser = c.Value
	} else if issue {
		p.browser = flows.NewBrowserSecret()
		http.SetCookie(w, &http.Cookie{Name: h.browserCookieName(), Value: p.browser, Path: "/", MaxAge: browserCookieAge,
			HttpOnly: true, Secure: h.cfg.Secure, SameSite: http.SameSiteLaxMode})
	}
	token := h.d.Sessions.Token(r)
	if token == "" {
		return p
	}
	sess, err := h.d.Sessions.Lookup(r.Context(), token)
	if err != nil {
		if !errors.Is(err, sessions.ErrNotFound) {
			h.d.Logger.WarnContext(r.Context(), "ui: session lookup failed", "error", err.Error())
		}
		http.SetCookie(w, h.d.Sessions.ClearCookie())
		return p
	}
	u, err := h.d.Users.Get(r.Context(), sess.UserID)
	if err != nil || !u.Status.KeepsSessions() {
		// A disabled user's sessions were revoked with the disable; this is the race
		// that lost, or a deleted user.
		http.SetCookie(w, h.d.Sessions.ClearCookie())
		return p
	}
	p.token, p.session, p.user = token, sess, u
	requestinfo.From(r.Context()).Actor = requestinfo.Actor{Kind: requestinfo.ActorUser, ID: u.ID}
	return p
}

// page wraps a GET handler.
func (h *Handler) page(fn func(http.ResponseWriter, *http.Request, *page)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fn(w, r, h.load(w, r, true))
	})
}

// form wraps a POST handler: the body is bounded and parsed, every value must be UTF-8,
// and the form must carry the token of this browser.
func (h *Handler) form(fn func(http.ResponseWriter, *http.Request, *page)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, h.cfg.FormLimit)
		if err := r.ParseForm(); err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				h.fail(w, r, http.StatusRequestEntityTooLarge, "This form is far larger than any we send. It was not accepted.")
				return
			}
			h.fail(w, r, http.StatusBadRequest, "This form could not be read. Go back and try again.")
			return
		}
		for _, vs := range r.PostForm {
			for _, v := range vs {
				if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
					h.fail(w, r, http.StatusBadRequest, "This form holds characters that are not text. Go back and try again.")
					return
				}
			}
		}
		p := h.load(w, r, false)
		if !h.validFormToken(p.browser, r.PostForm.Get("csrf_token")) {
			h.fail(w, r, http.StatusForbidden,
				"This form has expired or did not come from this site. Go back, reload the page and try again.")
			return
		}
		fn(w, r, p)
	})
}

// render shows page v with what every page carries.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, p *page, status int, v View) {
	v.CSRF = h.formToken(p.browser)
	v.RequestID = requestinfo.From(r.Context()).ID
	if p.signedIn() {
		v.SignedIn = &Person{Name: p.user.Name, Email: p.user.Email}
	}
	if v.Notice == "" {
		v.Notice = notices[r.URL.Query().Get("notice")]
	}
	if p.returnTo != "" && h.d.Apps != nil {
		allowFormTargets(w.Header(), h.d.Apps.FormTargets(r.Context(), p.returnTo))
	}
	if err := h.d.Renderer.Render(w, status, v); err != nil {
		h.d.Logger.ErrorContext(r.Context(), "ui: render", "page", v.Page, "error", err.Error())
	}
}

// allowFormTargets lets the page's forms lead to targets as well as to identityd.
// Browsers hold the redirects that answer a form to the page's form-action: a sign-in
// that ends at the app's redirect URI is a form submission redirected to the app, and
// would be blocked. The policy is the server's (set before any handler runs); only its
// form-action grows, and only by the origins registered for the app the form leads to.
func allowFormTargets(h http.Header, targets []string) {
	const self = "form-action 'self'"
	csp := h.Get("Content-Security-Policy")
	if len(targets) == 0 || !strings.Contains(csp, self) {
		return
	}
	h.Set("Content-Security-Policy", strings.Replace(csp, self, self+" "+strings.Join(targets, " "), 1))
}

// fail shows the error page.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, status int, message string) {
	p := &page{}
	if c, err := r.Cookie(h.browserCookieName()); err == nil && flows.ValidBrowserSecret(c.Value) {
		p.browser = c.Value
	}
	h.render(w, r, p, status, errorView(status, message))
}

// errorView is the error page for status, saying message.
func errorView(status int, message string) View {
	title := errorTitles[status]
	if title == "" {
		title = http.StatusText(status)
	}
	return View{Page: "error", Title: title, Alert: message, Data: ErrorData{Status: status, Message: message}}
}

// ErrorPage shows the error page for handlers outside the pages — the OAuth endpoints,
// when a request cannot be answered to an app — in the pages' look.
type ErrorPage struct {
	renderer *Renderer
	logger   *slog.Logger
}

// NewErrorPage returns an ErrorPage rendered by r, logging render failures to log.
func NewErrorPage(r *Renderer, log *slog.Logger) *ErrorPage {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &ErrorPage{renderer: r, logger: log}
}

// Fail shows the error page with status and message, which must be for people: it is
// shown as it is.
func (e *ErrorPage) Fail(w http.ResponseWriter, r *http.Request, status int, message string) {
	v := errorView(status, message)
	v.RequestID = requestinfo.From(r.Context()).ID
	if err := e.renderer.Render(w, status, v); err != nil {
		e.logger.ErrorContext(r.Context(), "ui: render", "page", v.Page, "error", err.Error())
	}
}

// errorTitles head error pages in words for people rather than HTTP's.
var errorTitles = map[int]string{
	http.StatusBadRequest:            "This can't be used",
	http.StatusForbidden:             "This form was not accepted",
	http.StatusNotFound:              "There is nothing here",
	http.StatusRequestEntityTooLarge: "That was too much",
	http.StatusTooManyRequests:       "Too many attempts",
	http.StatusInternalServerError:   "Something went wrong",
	http.StatusServiceUnavailable:    "Briefly unavailable",
}

// internal shows the error page for a failure of ours, and logs it with the request id.
func (h *Handler) internal(w http.ResponseWriter, r *http.Request, what string, err error) {
	status, message := http.StatusInternalServerError,
		"Something went wrong on our side. Try again in a moment; if it keeps happening, quote the request id below."
	if errors.Is(err, store.ErrUnavailable) {
		status, message = http.StatusServiceUnavailable, "The service is briefly unavailable. Try again in a moment."
	}
	h.d.Logger.ErrorContext(r.Context(), "ui: "+what, "request_id", requestinfo.From(r.Context()).ID, "error", err.Error())
	h.fail(w, r, status, message)
}

// notices are the confirmations a redirect may ask a page to show, by code, so that no
// text from a URL ever reaches a page.
var notices = map[string]string{
	"signed_out":       "You have signed out.",
	"password_reset":   "Your password was changed. Sign in with your new password.",
	"profile_saved":    "Your profile was saved.",
	"password_changed": "Your password was changed, and your other sessions were signed out.",
	"session_revoked":  "That session was signed out.",
	"sessions_revoked": "Your other sessions were signed out.",
	"app_revoked":      "That app's access was removed, and it was signed out.",
}

// redirect sends the browser to target after a POST, with a notice code when not "".
func redirect(w http.ResponseWriter, r *http.Request, target, notice string) {
	if notice != "" {
		if strings.Contains(target, "?") {
			target += "&notice=" + notice
		} else {
			target += "?notice=" + notice
		}
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}
