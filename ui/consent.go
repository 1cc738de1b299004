package ui

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/identityd/identityd/flows"
	"github.com/identityd/identityd/oauth"
)

// Apps is what the consent page and the account's connected apps need of the OAuth
// provider (*oauth.Provider is one).
type Apps interface {
	DescribeConsent(ctx context.Context, returnTo string) (oauth.ConsentRequest, error)
	GrantConsent(ctx context.Context, userID, returnTo string) error
	ConnectedApps(ctx context.Context, userID string) ([]oauth.ConnectedApp, error)
	RevokeConsent(ctx context.Context, userID, clientID string) error
	// FormTargets are where a page's form that leads to returnTo may end up (the app's
	// registered redirect URIs' origins), for the page's Content-Security-Policy.
	FormTargets(ctx context.Context, returnTo string) []string
}

// scopeDescriptions say what each scope lets an app do, for people.
var scopeDescriptions = map[string]string{
	"openid":         "Sign you in with your account",
	"profile":        "See your name and username",
	"email":          "See your email address",
	"offline_access": "Stay connected when you are not using it",
}

// scopeRows describes scopes for people; the operator's own scopes are shown by name.
func scopeRows(scopes []string) []ScopeRow {
	rows := make([]ScopeRow, 0, len(scopes))
	for _, s := range scopes {
		d := scopeDescriptions[s]
		if d == "" {
			d = "Access " + s
		}
		rows = append(rows, ScopeRow{Name: s, Description: d})
	}
	return rows
}

// expiredRequest answers a consent page whose authorization is gone.
const expiredRequest = "This request has expired or was already answered. Go back to the app and sign in again."

// consentPage asks the signed-in person whether to let an app in (GET /consent?return_to=…).
func (h *Handler) consentPage(w http.ResponseWriter, r *http.Request, p *page) {
	returnTo := r.URL.Query().Get("return_to")
	if !p.signedIn() {
		http.Redirect(w, r, "/login?"+url.Values{"return_to": {"/consent?" + url.Values{"return_to": {returnTo}}.Encode()}}.Encode(),
			http.StatusSeeOther)
		return
	}
	req, ok := h.consentRequest(w, r, returnTo)
	if !ok {
		return
	}
	p.returnTo = returnTo
	h.render(w, r, p, http.StatusOK, View{Page: "consent", Title: "Allow " + req.ClientName + "?",
		Data: ConsentData{App: req.ClientName, Scopes: scopeRows(req.Scopes), Audience: req.Audience, ReturnTo: returnTo}})
}

// consentRequest describes the authorization waiting at returnTo, or answers that there
// is none.
func (h *Handler) consentRequest(w http.ResponseWriter, r *http.Request, returnTo string) (oauth.ConsentRequest, bool) {
	if h.d.Apps == nil {
		h.fail(w, r, http.StatusNotFound, "There is no page here.")
		return oauth.ConsentRequest{}, false
	}
	req, err := h.d.Apps.DescribeConsent(r.Context(), returnTo)
	if errors.Is(err, oauth.ErrNoRequest) {
		h.fail(w, r, http.StatusBadRequest, expiredRequest)
		return req, false
	}
	if err != nil {
		h.internal(w, r, "describe consent", err)
		return req, false
	}
	return req, true
}

// consent records the person's answer and continues the authorization: allowing
// remembers the consent; denying sends the app an access_denied.
func (h *Handler) consent(w http.ResponseWriter, r *http.Request, p *page) {
	returnTo := r.PostForm.Get("return_to")
	if !p.signedIn() {
		http.Redirect(w, r, "/login?"+url.Values{"return_to": {"/consent?" + url.Values{"return_to": {returnTo}}.Encode()}}.Encode(),
			http.StatusSeeOther)
		return
	}
	if _, ok := h.consentRequest(w, r, returnTo); !ok {
		return
	}
	switch r.PostForm.Get("decision") {
	case "allow":
		err := h.d.Apps.GrantConsent(r.Context(), p.user.ID, returnTo)
		if errors.Is(err, oauth.ErrNoRequest) {
			h.fail(w, r, http.StatusBadRequest, expiredRequest)
			return
		}
		if err != nil {
			h.internal(w, r, "grant consent", err)
			return
		}
		http.Redirect(w, r, returnTo, http.StatusSeeOther)
	case "deny":
		sep := "?"
		if strings.Contains(returnTo, "?") {
			sep = "&"
		}
		http.Redirect(w, r, returnTo+sep+"identityd_denied=1", http.StatusSeeOther)
	default:
		h.fail(w, r, http.StatusBadRequest, "Choose Allow or Deny.")
	}
}

// revokeApp withdraws an app's access to the user's account.
func (h *Handler) revokeApp(w http.ResponseWriter, r *http.Request, p *page) {
	if !p.signedIn() {
		signInFirst(w, r)
		return
	}
	if h.d.Apps == nil {
		h.fail(w, r, http.StatusNotFound, "There is no page here.")
		return
	}
	if err := h.d.Apps.RevokeConsent(r.Context(), p.user.ID, r.PostForm.Get("client_id")); err != nil {
		h.internal(w, r, "revoke consent", err)
		return
	}
	redirect(w, r, "/account", "app_revoked")
}

// connectedApps lists the apps the user has let in, for the account page.
func (h *Handler) connectedApps(ctx context.Context, userID string) ([]AppRow, error) {
	if h.d.Apps == nil {
		return nil, nil
	}
	apps, err := h.d.Apps.ConnectedApps(ctx, userID)
	if err != nil {
		return nil, err
	}
	rows := make([]AppRow, 0, len(apps))
	for _, a := range apps {
		rows = append(rows, AppRow{ClientID: a.ClientID, Name: a.Name, Scopes: scopeRows(a.Scopes), GrantedAt: a.GrantedAt})
	}
	return rows, nil
}

// safeReturn is where a page goes back to: a path on this site, or fallback.
func safeReturn(raw, fallback string) string {
	if raw == "" {
		return fallback
	}
	if safe, ok := flows.SafeReturnTo(raw); ok {
		return safe
	}
	return fallback
}
