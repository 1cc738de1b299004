// Package ui is identityd's pages: sign-in, sign-out, registration, email verification,
// password recovery and the account page, on the public listener.
//
// The pages are server-rendered (html/template), need no JavaScript, and hold no
// business rules: they turn forms into calls on users, sessions and flows, and results
// into pages. What keeps them safe is here, though: every form carries a token bound to
// the browser and every POST is checked against it and against cross-origin requests
// (net/http.CrossOriginProtection); bodies are bounded and must be UTF-8; POSTs are rate
// limited per client address; cookies are __Host- prefixed, HttpOnly and SameSite=Lax
// behind https; and answers never tell whether an account exists.
package ui

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/httprate"

	"github.com/identityd/identityd/flows"
	"github.com/identityd/identityd/keyring"
	"github.com/identityd/identityd/requestinfo"
	"github.com/identityd/identityd/sessions"
	"github.com/identityd/identityd/users"
)

// SecondFactor is the step of a sign-in after a right password, for users who must show
// more than a password: the MFA feature plugs in here. Required is asked once the
// password is right; while it says yes, the flow waits in flows.StateSecondFactor and
// Step serves its page and checks what the person sends, answering the methods done
// ("otp", "hwk") once the factor is right, or done=false when it has answered the request
// itself (the page, a wrong code).
type SecondFactor interface {
	Required(ctx context.Context, userID string) (bool, error)
	Step(w http.ResponseWriter, r *http.Request, f flows.Flow) (methods []string, done bool)
}

// Deps are the parts the pages work with.
type Deps struct {
	Users    *users.Service
	Sessions *sessions.Service
	Flows    *flows.Service
	Renderer *Renderer
	// Keyring derives the key that signs forms' tokens.
	Keyring *keyring.Keyring
	// SecondFactor, when set, is asked after every right password.
	SecondFactor SecondFactor
	// Apps, when set, serves the consent page and the account's connected apps.
	Apps   Apps
	Logger *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Config is how the pages behave.
type Config struct {
	// Secure says the issuer is https: cookies are Secure and __Host- prefixed.
	Secure bool
	// RegistrationEnabled opens /register.
	RegistrationEnabled bool
	// PostsPerWindow bounds POSTs per client address per PostWindow (30 a minute when
	// zero).
	PostsPerWindow int
	PostWindow     time.Duration
	// FormLimit bounds a form's body in bytes (64 KiB when zero).
	FormLimit int64
	// Logo, when set, is served at LogoPath; give the Renderer its URL.
	Logo *Logo
}

// Handler serves the pages.
type Handler struct {
	d       Deps
	cfg     Config
	csrfKey []byte
	posts   *httprate.RateLimiter
	origin  *http.CrossOriginProtection
}

// New returns the pages' handler.
func New(d Deps, cfg Config) (*Handler, error) {
	if d.Users == nil || d.Sessions == nil || d.Flows == nil || d.Renderer == nil || d.Keyring == nil {
		return nil, errors.New("ui: new: Users, Sessions, Flows, Renderer and Keyring are required")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if cfg.PostsPerWindow <= 0 {
		cfg.PostsPerWindow, cfg.PostWindow = 30, time.Minute
	}
	if cfg.FormLimit <= 0 {
		cfg.FormLimit = 64 << 10
	}
	_, key, err := d.Keyring.Derive("ui.form-token", 32)
	if err != nil {
		return nil, fmt.Errorf("ui: new: %w", err)
	}
	h := &Handler{d: d, cfg: cfg, csrfKey: key, origin: http.NewCrossOriginProtection()}
	h.origin.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.fail(w, r, http.StatusForbidden, "This form was sent from another site, so it was not accepted.")
	}))
	h.posts = httprate.NewRateLimiter(cfg.PostsPerWindow, cfg.PostWindow,
		httprate.WithResponseHeaders(httprate.ResponseHeaders{RetryAfter: "Retry-After"}),
		httprate.WithKeyFuncs(func(r *http.Request) (string, error) {
			return requestinfo.From(r.Context()).ClientIP.String(), nil
		}),
		httprate.WithLimitHandler(func(w http.ResponseWriter, r *http.Request) {
			h.fail(w, r, http.StatusTooManyRequests, "Too many attempts from your network. Wait a minute and try again.")
		}))
	return h, nil
}

// Register adds the pages to mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.Handle("GET /static/", http.StripPrefix("/static", h.d.Renderer.Static()))
	if h.cfg.Logo != nil {
		mux.Handle("GET "+LogoPath, h.cfg.Logo)
	}
	mux.HandleFunc("GET /{$}", h.home)
	get := func(pattern string, fn func(http.ResponseWriter, *http.Request, *page)) {
		mux.Handle("GET "+pattern, h.page(fn))
	}
	post := func(pattern string, fn func(http.ResponseWriter, *http.Request, *page)) {
		mux.Handle("POST "+pattern, h.posts.Handler(h.origin.Handler(h.form(fn))))
	}
	get("/login", h.loginPage)
	post("/login", h.login)
	get("/logout", h.logoutPage)
	post("/logout", h.logout)
	get("/register", h.registerPage)
	post("/register", h.register)
	get("/verify", h.verifyPage)
	post("/verify", h.verify)
	get("/forgot-password", h.forgotPage)
	post("/forgot-password", h.forgot)
	get("/reset-password", h.resetPage)
	post("/reset-password", h.reset)
	get("/account", h.accountPage)
	post("/account/profile", h.saveProfile)
	post("/account/password", h.changePassword)
	post("/account/sessions/revoke", h.revokeSession)
	post("/account/sessions/revoke-others", h.revokeOtherSessions)
	get("/consent", h.consentPage)
	post("/consent", h.consent)
	post("/account/apps/revoke", h.revokeApp)
}

// home sends visitors to their account, or to sign in first.
func (h *Handler) home(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/account", http.StatusSeeOther)
}

// formToken is the token a browser's forms carry: an HMAC of its secret, so that a page
// of another site, which can neither read the cookie nor a page of ours, cannot make one.
func (h *Handler) formToken(browser string) string {
	m := hmac.New(sha256.New, h.csrfKey)
	m.Write([]byte(browser))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// validFormToken compares in constant time.
func (h *Handler) validFormToken(browser, token string) bool {
	return flows.ValidBrowserSecret(browser) && hmac.Equal([]byte(h.formToken(browser)), []byte(token))
}
