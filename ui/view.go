package ui

import "time"

// View is what every page template receives: the parts the layout shows on every page,
// and Data, the page's own.
type View struct {
	// Page names the page's template: "login", "logout", "consent", "register",
	// "registered", "verify", "forgot_password", "reset_password", "account" or "error".
	Page string
	// Title is the page's title, shown in the tab and as its heading.
	Title string
	// Product is the product name (product_name); LogoURL, when set, is shown beside it.
	Product string
	LogoURL string
	// CSRF is the value every form on the page sends back as csrf_token.
	CSRF string
	// Alert is a message for the person about what went wrong (wrong credentials, an
	// expired link); the page shows it in an element with role="alert".
	Alert string
	// Notice is a confirmation (password changed, link sent), shown with role="status".
	Notice string
	// SignedIn is who is signed in, or nil.
	SignedIn *Person
	// RequestID is quoted on error pages, for support.
	RequestID string
	// Data is the page's own data: one of the *Data types below, by Page.
	Data any
}

// Person is the signed-in user as the header shows them.
type Person struct {
	Name  string
	Email string
}

// LoginData is the sign-in page. The form posts identifier, password, remember (a
// checkbox, value "on"), flow and csrf_token to /login.
type LoginData struct {
	// Flow is the login flow's id, sent back as the hidden field flow.
	Flow string
	// Identifier refills the identifier field after a failed attempt.
	Identifier string
	// RegisterEnabled shows the link to /register.
	RegisterEnabled bool
}

// LogoutData is the sign-out confirmation; its form posts csrf_token and, when set,
// return_to to /logout.
type LogoutData struct {
	// ReturnTo is where to go once signed out: back to an app's sign-out request.
	ReturnTo string
}

// ConsentData is the page that asks a person to let an app in; its form posts
// return_to, csrf_token and decision ("allow" or "deny") to /consent.
type ConsentData struct {
	// App is the app's name.
	App string
	// Scopes are what the app asks for, each described for people.
	Scopes []ScopeRow
	// Audience are the services the app asks to use on the person's behalf.
	Audience []string
	ReturnTo string
}

// ScopeRow is one thing an app asks for.
type ScopeRow struct {
	Name        string
	Description string
}

// AppRow is an app the user has let in, on the account page.
type AppRow struct {
	ClientID  string
	Name      string
	Scopes    []ScopeRow
	GrantedAt time.Time
}

// RegisterData is the registration page; the form posts email, name, password and
// csrf_token to /register. Errors holds a message per field name.
type RegisterData struct {
	Email  string
	Name   string
	Errors map[string]string
}

// RegisteredData is the page after registering: check your email.
type RegisteredData struct{}

// VerifyData is the landing page of an email verification link: a button confirms the
// address (posting token and csrf_token to /verify), so that a mail scanner fetching
// the link does not use it up. Done says the address is now verified.
type VerifyData struct {
	Token string
	Done  bool
}

// ForgotData is the forgot-password page; the form posts email and csrf_token to
// /forgot-password. Sent says a link was sent if the address has an account.
type ForgotData struct {
	Email string
	Sent  bool
}

// ResetData is the reset-password page of a reset link; the form posts token, password
// and csrf_token to /reset-password. Errors holds a message per field name.
type ResetData struct {
	Token  string
	Errors map[string]string
}

// AccountData is the account page. Its forms post to:
//   - /account/profile: name, csrf_token
//   - /account/password: current_password, new_password, csrf_token
//   - /account/sessions/revoke: session_id, csrf_token (one form per other session)
//   - /account/sessions/revoke-others: csrf_token
//   - /account/apps/revoke: client_id, csrf_token (one form per connected app)
type AccountData struct {
	Email         string
	EmailVerified bool
	Username      string
	Name          string
	// Errors holds a message per field name of the profile and password forms.
	Errors   map[string]string
	Sessions []SessionRow
	// Apps are the apps the user has let in ("connected apps").
	Apps []AppRow
}

// SessionRow is one of the user's active sessions.
type SessionRow struct {
	ID string
	// Current marks the session of the browser looking at the page.
	Current bool
	// Device is a short description from the user agent ("Chrome on Linux").
	Device   string
	IP       string
	SignedIn time.Time
	LastSeen time.Time
	// Methods is how the user signed in, for people ("password").
	Methods string
}

// ErrorData is the error page.
type ErrorData struct {
	Status  int
	Message string
}
