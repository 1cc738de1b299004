package ui

import (
	"errors"
	"net/http"

	"github.com/identityd/identityd/users"
)

// fieldErrors turns a refusal of the users package into messages by field name.
func fieldErrors(err error) (map[string]string, bool) {
	var ve *users.ValidationError
	if !errors.As(err, &ve) {
		return nil, false
	}
	out := make(map[string]string, len(ve.Errors))
	for _, f := range ve.Errors {
		if _, seen := out[f.Field]; !seen {
			out[f.Field] = sentence(f.Field, f.Reason)
		}
	}
	return out, true
}

// sentence makes a field's refusal read as a sentence: the users package says "must be
// …" of the field, the password policy writes whole sentences.
func sentence(field, reason string) string {
	if reason == "" {
		return ""
	}
	if first := reason[0]; first >= 'A' && first <= 'Z' {
		return reason
	}
	names := map[string]string{"email": "The email address", "name": "The name", "password": "The password",
		"new_password": "The new password", "username": "The username"}
	name := names[field]
	if name == "" {
		name = "This"
	}
	return name + " " + reason + "."
}

// registerPage shows the registration form, when registration is open.
func (h *Handler) registerPage(w http.ResponseWriter, r *http.Request, p *page) {
	if !h.cfg.RegistrationEnabled {
		h.fail(w, r, http.StatusNotFound, "This site does not let people create accounts themselves. Ask your administrator for one.")
		return
	}
	h.render(w, r, p, http.StatusOK, View{Page: "register", Title: "Create an account", Data: RegisterData{}})
}

// register asks for an account. Whether or not the address has one, the answer is the
// same page, after the same work: the owner of an address with an account gets an email
// saying so, a new address gets a verification link.
func (h *Handler) register(w http.ResponseWriter, r *http.Request, p *page) {
	if !h.cfg.RegistrationEnabled {
		h.fail(w, r, http.StatusNotFound, "This site does not let people create accounts themselves. Ask your administrator for one.")
		return
	}
	email, name := r.PostForm.Get("email"), r.PostForm.Get("name")
	err := h.d.Users.Register(r.Context(), email, name, r.PostForm.Get("password"))
	if errs, ok := fieldErrors(err); ok {
		h.render(w, r, p, http.StatusUnprocessableEntity, View{Page: "register", Title: "Create an account",
			Alert: "Some of what you entered needs changing.", Data: RegisterData{Email: email, Name: name, Errors: errs}})
		return
	}
	if err != nil {
		h.internal(w, r, "register", err)
		return
	}
	h.render(w, r, p, http.StatusOK, View{Page: "registered", Title: "Check your email", Data: RegisteredData{}})
}

// verifyPage is where a verification link lands: it asks for a click, because mail
// scanners open links, and a GET that used the link up would verify for them.
func (h *Handler) verifyPage(w http.ResponseWriter, r *http.Request, p *page) {
	h.render(w, r, p, http.StatusOK, View{Page: "verify", Title: "Confirm your email address",
		Data: VerifyData{Token: r.URL.Query().Get("token")}})
}

// verify uses a verification link.
func (h *Handler) verify(w http.ResponseWriter, r *http.Request, p *page) {
	_, err := h.d.Users.VerifyEmail(r.Context(), r.PostForm.Get("token"))
	if errors.Is(err, users.ErrInvalidToken) {
		h.render(w, r, p, http.StatusBadRequest, View{Page: "verify", Title: "Confirm your email address",
			Alert: "This link is not valid: it may have expired, been used already, or been replaced by a newer one.",
			Data:  VerifyData{}})
		return
	}
	if err != nil {
		h.internal(w, r, "verify email", err)
		return
	}
	h.render(w, r, p, http.StatusOK, View{Page: "verify", Title: "Email address confirmed", Data: VerifyData{Done: true}})
}

// forgotPage asks for the address to send a reset link to.
func (h *Handler) forgotPage(w http.ResponseWriter, r *http.Request, p *page) {
	h.render(w, r, p, http.StatusOK, View{Page: "forgot_password", Title: "Reset your password", Data: ForgotData{}})
}

// forgot sends a reset link if the address has an account, and says the same either way.
func (h *Handler) forgot(w http.ResponseWriter, r *http.Request, p *page) {
	email := r.PostForm.Get("email")
	err := h.d.Users.RequestPasswordReset(r.Context(), email)
	if errs, ok := fieldErrors(err); ok {
		h.render(w, r, p, http.StatusUnprocessableEntity, View{Page: "forgot_password", Title: "Reset your password",
			Alert: errs["email"], Data: ForgotData{Email: email}})
		return
	}
	if errors.Is(err, users.ErrMailUnavailable) {
		h.fail(w, r, http.StatusServiceUnavailable, "This site cannot send email, so passwords cannot be reset by email. Ask your administrator.")
		return
	}
	if err != nil {
		h.internal(w, r, "request password reset", err)
		return
	}
	h.render(w, r, p, http.StatusOK, View{Page: "forgot_password", Title: "Check your email", Data: ForgotData{Sent: true}})
}

// invalidResetLink is the answer to a reset link that cannot be used.
const invalidResetLink = "This password reset link is not valid: it may have expired, been used already, or been replaced by a newer one. Ask for a new one."

// resetPage is where a reset link lands: the new-password form.
func (h *Handler) resetPage(w http.ResponseWriter, r *http.Request, p *page) {
	token := r.URL.Query().Get("token")
	ok, err := h.d.Users.ResetLinkValid(r.Context(), token)
	if err != nil {
		h.internal(w, r, "check reset link", err)
		return
	}
	if !ok {
		h.fail(w, r, http.StatusBadRequest, invalidResetLink)
		return
	}
	h.render(w, r, p, http.StatusOK, View{Page: "reset_password", Title: "Choose a new password", Data: ResetData{Token: token}})
}

// reset sets a new password with a reset link; the person then signs in with it.
func (h *Handler) reset(w http.ResponseWriter, r *http.Request, p *page) {
	token := r.PostForm.Get("token")
	_, err := h.d.Users.ResetPassword(r.Context(), token, r.PostForm.Get("password"))
	if errs, ok := fieldErrors(err); ok {
		h.render(w, r, p, http.StatusUnprocessableEntity, View{Page: "reset_password", Title: "Choose a new password",
			Alert: "Choose another password.", Data: ResetData{Token: token, Errors: errs}})
		return
	}
	if errors.Is(err, users.ErrInvalidToken) {
		h.fail(w, r, http.StatusBadRequest, invalidResetLink)
		return
	}
	if err != nil {
		h.internal(w, r, "reset password", err)
		return
	}
	// The reset revoked every session of the user's, this browser's included.
	http.SetCookie(w, h.d.Sessions.ClearCookie())
	redirect(w, r, "/login", "password_reset")
}
