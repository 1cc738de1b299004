package ui

import (
	"errors"
	"net/http"
	"strings"

	"github.com/identityd/identityd/sessions"
	"github.com/identityd/identityd/users"
)

// signInFirst sends a signed-out visitor to sign in, and back here after.
func signInFirst(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/login?return_to=/account", http.StatusSeeOther)
}

// accountPage shows the signed-in user's profile, a password form and their sessions.
func (h *Handler) accountPage(w http.ResponseWriter, r *http.Request, p *page) {
	if !p.signedIn() {
		signInFirst(w, r)
		return
	}
	h.showAccount(w, r, p, http.StatusOK, "", nil)
}

func (h *Handler) showAccount(w http.ResponseWriter, r *http.Request, p *page, status int, alert string, errs map[string]string) {
	list, err := h.d.Sessions.List(r.Context(), p.user.ID)
	if err != nil {
		h.internal(w, r, "list sessions", err)
		return
	}
	rows := make([]SessionRow, 0, len(list))
	for _, s := range list {
		rows = append(rows, SessionRow{ID: s.ID, Current: s.ID == p.session.ID, Device: device(s.UserAgent), IP: s.IP,
			SignedIn: s.AuthTime, LastSeen: s.LastSeenAt, Methods: methodNames(s.Methods)})
	}
	apps, err := h.connectedApps(r.Context(), p.user.ID)
	if err != nil {
		h.internal(w, r, "list connected apps", err)
		return
	}
	u := p.user
	h.render(w, r, p, status, View{Page: "account", Title: "Your account", Alert: alert, Data: AccountData{
		Email: u.Email, EmailVerified: u.EmailVerified, Username: u.Username, Name: u.Name, Errors: errs, Sessions: rows,
		Apps: apps}})
}

// methodNames says how someone signed in, in words.
func methodNames(amr []string) string {
	words := map[string]string{"pwd": "password", "otp": "one-time code", "hwk": "security key", "swk": "passkey",
		"mfa": "two factors"}
	out := make([]string, 0, len(amr))
	for _, m := range amr {
		if w, ok := words[m]; ok {
			out = append(out, w)
		} else {
			out = append(out, m)
		}
	}
	return strings.Join(out, " and ")
}

// saveProfile changes the signed-in user's name.
func (h *Handler) saveProfile(w http.ResponseWriter, r *http.Request, p *page) {
	if !p.signedIn() {
		signInFirst(w, r)
		return
	}
	name := r.PostForm.Get("name")
	u, err := h.d.Users.Update(r.Context(), p.user.ID, users.Patch{Name: &name})
	if errs, ok := fieldErrors(err); ok {
		h.showAccount(w, r, p, http.StatusUnprocessableEntity, "Your profile was not saved.", errs)
		return
	}
	if err != nil {
		h.internal(w, r, "save profile", err)
		return
	}
	p.user = u
	redirect(w, r, "/account", "profile_saved")
}

// changePassword sets a new password for a user who gives the current one. It is a
// change of privilege: the session gets a new id, and the user's other sessions end.
func (h *Handler) changePassword(w http.ResponseWriter, r *http.Request, p *page) {
	if !p.signedIn() {
		signInFirst(w, r)
		return
	}
	ctx := r.Context()
	err := h.d.Users.ChangePassword(ctx, p.user.ID, r.PostForm.Get("current_password"), r.PostForm.Get("new_password"))
	if errs, ok := fieldErrors(err); ok {
		if msg, ok := errs["password"]; ok {
			errs["new_password"] = strings.Replace(msg, "The password", "The new password", 1)
			delete(errs, "password")
		}
		h.showAccount(w, r, p, http.StatusUnprocessableEntity, "Your password was not changed.", errs)
		return
	}
	switch {
	case errors.Is(err, users.ErrInvalidCredentials), errors.Is(err, users.ErrNetworkBlocked):
		h.showAccount(w, r, p, http.StatusUnauthorized, "Your password was not changed.",
			map[string]string{"current_password": "Your current password is not right."})
		return
	case err != nil:
		h.internal(w, r, "change password", err)
		return
	}
	token, sess, err := h.d.Sessions.Rotate(ctx, p.token)
	if err != nil {
		h.internal(w, r, "rotate session", err)
		return
	}
	http.SetCookie(w, h.d.Sessions.Cookie(token, sess))
	if _, err := h.d.Sessions.RevokeOthers(ctx, p.user.ID, sess.ID); err != nil {
		h.internal(w, r, "end other sessions", err)
		return
	}
	redirect(w, r, "/account", "password_changed")
}

// revokeSession signs one of the user's sessions out.
func (h *Handler) revokeSession(w http.ResponseWriter, r *http.Request, p *page) {
	if !p.signedIn() {
		signInFirst(w, r)
		return
	}
	id := r.PostForm.Get("session_id")
	if id == p.session.ID {
		h.logout(w, r, p)
		return
	}
	err := h.d.Sessions.Revoke(r.Context(), p.user.ID, id, "user")
	if err != nil && !errors.Is(err, sessions.ErrNotFound) {
		h.internal(w, r, "revoke session", err)
		return
	}
	// An unknown session (gone already, or someone else's) changes nothing either way.
	redirect(w, r, "/account", "session_revoked")
}

// revokeOtherSessions signs out every session of the user's but this one.
func (h *Handler) revokeOtherSessions(w http.ResponseWriter, r *http.Request, p *page) {
	if !p.signedIn() {
		signInFirst(w, r)
		return
	}
	if _, err := h.d.Sessions.RevokeOthers(r.Context(), p.user.ID, p.session.ID); err != nil {
		h.internal(w, r, "revoke other sessions", err)
		return
	}
	redirect(w, r, "/account", "sessions_revoked")
}
