package ui_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/identityd/identityd/ui"
)

const (
	product = "Acme ID"
	csrf    = "Zm9ybS10b2tlbi1mb3ItdGVzdHM"
	logoURL = "/branding/logo.svg"
)

func newRenderer(t *testing.T, o ui.Options) *ui.Renderer {
	t.Helper()
	if o.Product == "" {
		o.Product = product
	}
	r, err := ui.NewRenderer(o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// at is a time in a zone other than UTC, so that pages show it converted.
var at = time.Date(2026, 11, 21, 15, 5, 0, 0, time.FixedZone("CET", 3600))

var ada = &ui.Person{Name: "Ada Lovelace", Email: "ada@example.com"}

func accountData() ui.AccountData {
	return ui.AccountData{
		Email: "ada@example.com", EmailVerified: true, Username: "ada", Name: "Ada Lovelace",
		Sessions: []ui.SessionRow{
			{ID: "s-current", Current: true, Device: "Firefox on Linux", IP: "192.0.2.10", SignedIn: at, LastSeen: at, Methods: "password"},
			{ID: "s-phone", Device: "Safari on iPhone", IP: "2001:db8::1", SignedIn: at.Add(-48 * time.Hour), LastSeen: at.Add(-time.Hour), Methods: "password"},
			{ID: "s-old", IP: "198.51.100.7", SignedIn: at.Add(-400 * time.Hour)},
		},
	}
}

// pageCase is one page with the data a handler would give it.
type pageCase struct {
	name string
	v    ui.View
}

// pageCases are every page, each plain and with every message it can carry.
func pageCases() []pageCase {
	regErrs := map[string]string{"email": "Enter an email address like name@example.com.", "name": "Use at most 200 characters.",
		"password": "This password is too common."}
	acct := accountData()
	acct.Apps = []ui.AppRow{{ClientID: "app-1", Name: "Invoices", GrantedAt: at,
		Scopes: []ui.ScopeRow{{Name: "email", Description: "See your email address"}}}}
	acctErrs := accountData()
	acctErrs.EmailVerified = false
	acctErrs.Errors = map[string]string{"name": "Use at most 200 characters.", "current_password": "That is not your current password.",
		"new_password": "Use at least 8 characters."}
	return []pageCase{
		{"login", ui.View{Page: "login", Title: "Sign in", CSRF: csrf, Data: ui.LoginData{Flow: "flow-1", RegisterEnabled: true}}},
		{"login failed", ui.View{Page: "login", Title: "Sign in", CSRF: csrf, Alert: "The email, username or password is not right.",
			Data: ui.LoginData{Flow: "flow-1", Identifier: "ada@example.com"}}},
		{"login signed out", ui.View{Page: "login", Title: "Sign in", CSRF: csrf, Notice: "You have signed out.", Data: ui.LoginData{Flow: "flow-1"}}},
		{"logout", ui.View{Page: "logout", Title: "Sign out", CSRF: csrf, SignedIn: ada, Data: ui.LogoutData{}}},
		{"logout for an app", ui.View{Page: "logout", Title: "Sign out", CSRF: csrf, SignedIn: ada,
			Data: ui.LogoutData{ReturnTo: "/oauth2/logout?client_id=app"}}},
		{"consent", ui.View{Page: "consent", Title: "Allow Invoices?", CSRF: csrf, SignedIn: ada, Data: ui.ConsentData{
			App: "Invoices", ReturnTo: "/oauth2/auth?client_id=app&request_uri=urn%3Aietf%3Aparams%3Aoauth%3Arequest_uri%3Ax",
			Scopes:   []ui.ScopeRow{{Name: "openid", Description: "Sign you in with your account"}, {Name: "invoices:read", Description: "Access invoices:read"}},
			Audience: []string{"https://api.example.com"}}}},
		{"register", ui.View{Page: "register", Title: "Create an account", CSRF: csrf, Data: ui.RegisterData{}}},
		{"register refused", ui.View{Page: "register", Title: "Create an account", CSRF: csrf, Alert: "Some fields need your attention.",
			Data: ui.RegisterData{Email: "ada@", Name: "Ada", Errors: regErrs}}},
		{"registered", ui.View{Page: "registered", Title: "Check your email", CSRF: csrf, Data: ui.RegisteredData{}}},
		{"verify", ui.View{Page: "verify", Title: "Confirm your email address", CSRF: csrf, Data: ui.VerifyData{Token: "verify-token"}}},
		{"verify expired", ui.View{Page: "verify", Title: "Confirm your email address", CSRF: csrf, Alert: "This link has expired.",
			Data: ui.VerifyData{Token: "verify-token"}}},
		{"verify done", ui.View{Page: "verify", Title: "Email address confirmed", CSRF: csrf, Data: ui.VerifyData{Done: true}}},
		{"forgot", ui.View{Page: "forgot_password", Title: "Reset your password", CSRF: csrf, Data: ui.ForgotData{}}},
		{"forgot refused", ui.View{Page: "forgot_password", Title: "Reset your password", CSRF: csrf, Alert: "Enter an email address.",
			Data: ui.ForgotData{Email: "nope"}}},
		{"forgot sent", ui.View{Page: "forgot_password", Title: "Check your email", CSRF: csrf, Data: ui.ForgotData{Email: "ada@example.com", Sent: true}}},
		{"reset", ui.View{Page: "reset_password", Title: "Choose a new password", CSRF: csrf, Data: ui.ResetData{Token: "reset-token"}}},
		{"reset refused", ui.View{Page: "reset_password", Title: "Choose a new password", CSRF: csrf, Alert: "Choose another password.",
			Data: ui.ResetData{Token: "reset-token", Errors: map[string]string{"password": "Use at least 8 characters."}}}},
		{"account", ui.View{Page: "account", Title: "Your account", CSRF: csrf, SignedIn: ada, Notice: "Your profile was saved.", Data: acct}},
		{"account refused", ui.View{Page: "account", Title: "Your account", CSRF: csrf, SignedIn: ada, Alert: "Check the fields below.", Data: acctErrs}},
		{"error", ui.View{Page: "error", Title: "Not Found", CSRF: csrf, RequestID: "req-7f3a", Data: ui.ErrorData{Status: 404, Message: "There is no page here."}}},
		{"error as alert", ui.View{Page: "error", Title: "Forbidden", CSRF: csrf, RequestID: "req-7f3a", SignedIn: ada,
			Alert: "This form has expired.", Data: ui.ErrorData{Status: 403, Message: "This form has expired."}}},
	}
}

// errorsOf returns the per-field errors of a page's data.
func errorsOf(v ui.View) map[string]string {
	switch d := v.Data.(type) {
	case ui.RegisterData:
		return d.Errors
	case ui.ResetData:
		return d.Errors
	case ui.AccountData:
		return d.Errors
	}
	return nil
}

// autocomplete is what each page's visible fields must say to password managers and
// browsers, by field name.
var autocomplete = map[string]map[string]string{
	"login":           {"identifier": "username", "password": "current-password"},
	"register":        {"email": "email", "name": "name", "password": "new-password"},
	"forgot_password": {"email": "email"},
	"reset_password":  {"password": "new-password"},
	"account":         {"name": "name", "current_password": "current-password", "new_password": "new-password"},
}

// render renders v and parses the page.
func render(t *testing.T, r *ui.Renderer, v ui.View) (*httptest.ResponseRecorder, *html.Node) {
	t.Helper()
	w := httptest.NewRecorder()
	if err := r.Render(w, http.StatusOK, v); err != nil {
		t.Fatalf("Render: %v", err)
	}
	doc, err := html.Parse(bytes.NewReader(w.Body.Bytes()))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return w, doc
}

// elements returns the elements under n, in document order.
func elements(n *html.Node) []*html.Node {
	var out []*html.Node
	for d := range n.Descendants() {
		if d.Type == html.ElementNode {
			out = append(out, d)
		}
	}
	return out
}

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

// text is n's text, spaces collapsed.
func text(n *html.Node) string {
	var b strings.Builder
	for d := range n.Descendants() {
		if d.Type == html.TextNode {
			b.WriteString(d.Data)
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// find returns the elements under n that are tag (any when "") with every attribute of
// attrs (key, value pairs).
func find(n *html.Node, tag string, attrs ...string) []*html.Node {
	var out []*html.Node
next:
	for _, e := range elements(n) {
		if tag != "" && e.Data != tag {
			continue
		}
		for i := 0; i < len(attrs); i += 2 {
			if v, ok := attr(e, attrs[i]); !ok || v != attrs[i+1] {
				continue next
			}
		}
		out = append(out, e)
	}
	return out
}

func TestPages(t *testing.T) {
	r := newRenderer(t, ui.Options{LogoURL: logoURL, PasswordMinLength: 8})
	for _, c := range pageCases() {
		t.Run(c.name, func(t *testing.T) {
			w, doc := render(t, r, c.v)
			if got := w.Header().Get("Content-Type"); got != "text/html; charset=utf-8" {
				t.Errorf("Content-Type %q", got)
			}
			if got := w.Header().Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control %q, want no-store", got)
			}
			checkLayout(t, doc, c.v)
			checkSafe(t, doc)
			checkForms(t, doc)
			checkFields(t, doc, c.v)
		})
	}
}

// checkLayout checks what the layout shows on every page.
func checkLayout(t *testing.T, doc *html.Node, v ui.View) {
	t.Helper()
	if htmls := find(doc, "html", "lang", "en"); len(htmls) != 1 {
		t.Error(`no <html lang="en">`)
	}
	if titles := find(doc, "title"); len(titles) != 1 || text(titles[0]) != v.Title+" – "+product {
		t.Errorf("title is not %q", v.Title+" – "+product)
	}
	if h1 := find(doc, "h1"); len(h1) != 1 {
		t.Errorf("%d h1 elements, want 1", len(h1))
	}
	if len(find(doc, "meta", "name", "viewport")) != 1 || len(find(doc, "meta", "charset", "utf-8")) != 1 {
		t.Error("no meta charset or viewport")
	}
	logos := find(doc, "img", "src", logoURL)
	if len(logos) != 1 {
		t.Errorf("logo shown %d times", len(logos))
	} else if alt, _ := attr(logos[0], "alt"); !strings.Contains(alt, product) {
		t.Errorf("logo alt %q does not name the product", alt)
	}
	alerts := find(doc, "", "role", "alert")
	switch {
	case v.Alert == "" && len(alerts) != 0:
		t.Errorf("role=alert without an Alert: %q", text(alerts[0]))
	case v.Alert != "" && (len(alerts) != 1 || !strings.Contains(text(alerts[0]), v.Alert)):
		t.Errorf("Alert %q not shown once with role=alert", v.Alert)
	}
	statuses := find(doc, "", "role", "status")
	switch {
	case v.Notice == "" && len(statuses) != 0:
		t.Errorf("role=status without a Notice: %q", text(statuses[0]))
	case v.Notice != "" && (len(statuses) != 1 || text(statuses[0]) != v.Notice):
		t.Errorf("Notice %q not shown once with role=status", v.Notice)
	}
	nav := find(doc, "nav")
	if v.SignedIn == nil {
		if len(nav) != 0 {
			t.Error("account navigation shown to nobody signed in")
		}
		return
	}
	if len(nav) != 1 || !strings.Contains(text(nav[0]), "Signed in as "+v.SignedIn.Name) ||
		len(find(nav[0], "a", "href", "/account")) != 1 || len(find(nav[0], "a", "href", "/logout")) != 1 {
		t.Error("no navigation with who is signed in and links to /account and /logout")
	}
}

// checkSafe checks what the Content-Security-Policy would block, and links elsewhere.
func checkSafe(t *testing.T, doc *html.Node) {
	t.Helper()
	for _, e := range elements(doc) {
		if e.Data == "script" || e.Data == "style" {
			t.Errorf("<%s> element", e.Data)
		}
		for _, a := range e.Attr {
			switch {
			case a.Key == "style":
				t.Errorf("style attribute on <%s>", e.Data)
			case strings.HasPrefix(a.Key, "on"):
				t.Errorf("%s attribute on <%s>", a.Key, e.Data)
			case a.Key == "src" || a.Key == "href" || a.Key == "action":
				local := strings.HasPrefix(a.Val, "/") && !strings.HasPrefix(a.Val, "//") || strings.HasPrefix(a.Val, "#")
				if !local && a.Val != logoURL {
					t.Errorf("%s=%q on <%s> leads off the site", a.Key, a.Val, e.Data)
				}
			}
		}
	}
}

// checkForms checks that every form posts the page's CSRF token and has real buttons.
func checkForms(t *testing.T, doc *html.Node) {
	t.Helper()
	for _, f := range find(doc, "form") {
		action, _ := attr(f, "action")
		if m, _ := attr(f, "method"); m != "post" {
			t.Errorf("form %s: method %q, want post", action, m)
		}
		if tokens := find(f, "input", "type", "hidden", "name", "csrf_token", "value", csrf); len(tokens) != 1 {
			t.Errorf("form %s: %d csrf_token fields with the page's token, want 1", action, len(tokens))
		}
		if len(find(f, "button")) == 0 {
			t.Errorf("form %s: no button", action)
		}
	}
	for _, b := range find(doc, "button") {
		if typ, _ := attr(b, "type"); typ != "submit" || text(b) == "" {
			t.Errorf("button %q of type %q; want a submit button with text", text(b), typ)
		}
	}
}

// checkFields checks that fields are labelled, say what they hold, and show their errors.
func checkFields(t *testing.T, doc *html.Node, v ui.View) {
	t.Helper()
	ids := map[string]*html.Node{}
	for _, e := range elements(doc) {
		if id, ok := attr(e, "id"); ok {
			if ids[id] != nil {
				t.Errorf("id %q used twice", id)
			}
			ids[id] = e
		}
	}
	for _, in := range find(doc, "input") {
		name, _ := attr(in, "name")
		_, hidden := attr(in, "hidden")
		if typ, _ := attr(in, "type"); typ == "hidden" || hidden {
			continue
		}
		id, _ := attr(in, "id")
		labels := find(doc, "label", "for", id)
		if id == "" || len(labels) != 1 || text(labels[0]) == "" {
			t.Errorf("field %q (id %q) has no label", name, id)
		}
		if refs, ok := attr(in, "aria-describedby"); ok {
			for ref := range strings.FieldsSeq(refs) {
				if ids[ref] == nil {
					t.Errorf("field %q: aria-describedby names %q, which is not on the page", name, ref)
				}
			}
		}
	}
	for name, want := range autocomplete[v.Page] {
		if forgot, ok := v.Data.(ui.ForgotData); ok && forgot.Sent {
			continue
		}
		fields := find(doc, "input", "name", name)
		if len(fields) != 1 {
			t.Errorf("%d fields named %q, want 1", len(fields), name)
			continue
		}
		if got, _ := attr(fields[0], "autocomplete"); got != want {
			t.Errorf("field %q: autocomplete %q, want %q", name, got, want)
		}
		typ, _ := attr(fields[0], "type")
		switch {
		case strings.HasSuffix(want, "password") && typ != "password", want == "email" && typ != "email":
			t.Errorf("field %q: type %q", name, typ)
		}
	}
	for name, msg := range errorsOf(v) {
		fields := find(doc, "input", "name", name)
		if len(fields) != 1 {
			t.Errorf("error for %q, which has %d fields", name, len(fields))
			continue
		}
		if inv, _ := attr(fields[0], "aria-invalid"); inv != "true" {
			t.Errorf("field %q with an error is not aria-invalid", name)
		}
		refs, _ := attr(fields[0], "aria-describedby")
		if !slices.ContainsFunc(strings.Fields(refs), func(id string) bool { return ids[id] != nil && strings.Contains(text(ids[id]), msg) }) {
			t.Errorf("field %q: its error %q is not among what describes it (%q)", name, msg, refs)
		}
	}
	for _, in := range find(doc, "input", "aria-invalid", "true") {
		if name, _ := attr(in, "name"); errorsOf(v)[name] == "" {
			t.Errorf("field %q is aria-invalid with no error", name)
		}
	}
}

func TestLoginPage(t *testing.T) {
	r := newRenderer(t, ui.Options{})
	for _, enabled := range []bool{false, true} {
		_, doc := render(t, r, ui.View{Page: "login", Title: "Sign in", CSRF: csrf,
			Data: ui.LoginData{Flow: "flow-9", Identifier: "ada", RegisterEnabled: enabled}})
		if got := len(find(doc, "a", "href", "/register")); got != map[bool]int{false: 0, true: 1}[enabled] {
			t.Errorf("RegisterEnabled %v: %d links to /register", enabled, got)
		}
		forms := find(doc, "form", "action", "/login")
		if len(forms) != 1 {
			t.Fatalf("%d forms posting to /login", len(forms))
		}
		f := forms[0]
		if len(find(f, "input", "type", "hidden", "name", "flow", "value", "flow-9")) != 1 ||
			len(find(f, "input", "name", "identifier", "value", "ada")) != 1 ||
			len(find(f, "input", "type", "checkbox", "name", "remember", "value", "on")) != 1 {
			t.Error("the form lacks the flow, the identifier tried, or the remember checkbox")
		}
		if l := find(doc, "label", "for", "identifier"); len(l) != 1 || text(l[0]) != "Email or username" {
			t.Error(`the identifier is not labelled "Email or username"`)
		}
		if l := find(doc, "label", "for", "remember"); len(l) != 1 || text(l[0]) != "Keep me signed in" {
			t.Error(`the checkbox is not labelled "Keep me signed in"`)
		}
		if b := find(f, "button"); len(b) != 1 || text(b[0]) != "Sign in" {
			t.Error(`no "Sign in" button`)
		}
		if a := find(doc, "a", "href", "/forgot-password"); len(a) != 1 || text(a[0]) != "Forgot your password?" {
			t.Error(`no "Forgot your password?" link`)
		}
	}
}

func TestLogoutPage(t *testing.T) {
	_, doc := render(t, newRenderer(t, ui.Options{}), ui.View{Page: "logout", Title: "Sign out", CSRF: csrf, SignedIn: ada, Data: ui.LogoutData{}})
	if h := text(find(doc, "h1")[0]); h != "Sign out of "+product+"?" {
		t.Errorf("heading %q", h)
	}
	f := find(doc, "form", "action", "/logout")
	if len(f) != 1 || text(find(f[0], "button")[0]) != "Sign out" {
		t.Error(`no form posting to /logout with a "Sign out" button`)
	}
	if a := find(doc, "main")[0]; len(find(a, "a", "href", "/account")) != 1 {
		t.Error("no Cancel link to /account")
	}
}

func TestVerifyAndForgotPages(t *testing.T) {
	r := newRenderer(t, ui.Options{})
	_, doc := render(t, r, ui.View{Page: "verify", Title: "Confirm", CSRF: csrf, Data: ui.VerifyData{Token: "tok"}})
	f := find(doc, "form", "action", "/verify")
	if len(f) != 1 || len(find(f[0], "input", "name", "token", "value", "tok")) != 1 || text(find(f[0], "button")[0]) != "Confirm my email address" {
		t.Error("verify: no form posting the token with a confirm button")
	}
	_, doc = render(t, r, ui.View{Page: "verify", Title: "Confirmed", CSRF: csrf, Data: ui.VerifyData{Done: true}})
	if len(find(doc, "form")) != 0 || len(find(doc, "a", "href", "/login")) != 1 {
		t.Error("verify done: want no form and a link to /login")
	}
	_, doc = render(t, r, ui.View{Page: "forgot_password", Title: "Check your email", CSRF: csrf, Data: ui.ForgotData{Sent: true}})
	if len(find(doc, "form")) != 0 || !strings.Contains(text(doc), "If an account exists for that address, we've sent") {
		t.Errorf("forgot sent: want the neutral message and no form; page says %q", text(find(doc, "main")[0]))
	}
}

func TestAccountPage(t *testing.T) {
	_, doc := render(t, newRenderer(t, ui.Options{}), ui.View{Page: "account", Title: "Your account", CSRF: csrf, SignedIn: ada, Data: accountData()})
	main := text(find(doc, "main")[0])
	for _, want := range []string{"ada@example.com Verified", "Username ada", "This device", "Unknown device", "192.0.2.10",
		"21 Nov 2026, 14:05 UTC", "19 Nov 2026, 14:05 UTC"} {
		if !strings.Contains(main, want) {
			t.Errorf("page does not say %q", want)
		}
	}
	if len(find(doc, "time", "datetime", "2026-11-21T14:05:00Z")) == 0 {
		t.Error("no <time> with the UTC time for machines")
	}
	revokes := find(doc, "form", "action", "/account/sessions/revoke")
	var ids []string
	for _, f := range revokes {
		for _, in := range find(f, "input", "name", "session_id") {
			id, _ := attr(in, "value")
			ids = append(ids, id)
		}
	}
	if !slices.Equal(ids, []string{"s-phone", "s-old"}) {
		t.Errorf("sign-out forms for sessions %q, want every session but the current one", ids)
	}
	if len(find(doc, "form", "action", "/account/sessions/revoke-others")) != 1 {
		t.Error("no form to sign out the other sessions")
	}

	alone := accountData()
	alone.Sessions = alone.Sessions[:1]
	_, doc = render(t, newRenderer(t, ui.Options{}), ui.View{Page: "account", Title: "Your account", CSRF: csrf, SignedIn: ada, Data: alone})
	if n := len(find(doc, "form", "action", "/account/sessions/revoke-others")) + len(find(doc, "form", "action", "/account/sessions/revoke")); n != 0 {
		t.Errorf("%d sign-out forms with no other session", n)
	}
}

func TestErrorPage(t *testing.T) {
	_, doc := render(t, newRenderer(t, ui.Options{}), ui.View{Page: "error", Title: "Forbidden", CSRF: csrf, RequestID: "req-42",
		Alert: "This form has expired.", Data: ui.ErrorData{Status: 403, Message: "This form has expired."}})
	main := text(find(doc, "main")[0])
	if !strings.Contains(main, "403") || !strings.Contains(main, "req-42") || strings.Count(main, "This form has expired.") != 1 {
		t.Errorf("want the status, the request id and the message once; page says %q", main)
	}
	if len(find(doc, "a", "href", "/login")) != 1 {
		t.Error("no way on to sign in")
	}
}

func TestPasswordHint(t *testing.T) {
	v := ui.View{Page: "reset_password", Title: "Choose a new password", CSRF: csrf, Data: ui.ResetData{Token: "t"}}
	_, doc := render(t, newRenderer(t, ui.Options{PasswordMinLength: 12}), v)
	in := find(doc, "input", "name", "password")[0]
	ref, _ := attr(in, "aria-describedby")
	hint := find(doc, "", "id", ref)
	if min, _ := attr(in, "minlength"); min != "12" || len(hint) != 1 || !strings.Contains(text(hint[0]), "at least 12 characters") ||
		!strings.Contains(text(hint[0]), "passphrase") {
		t.Errorf("minlength %q and hint not stating the policy's 12 characters", min)
	}
	_, doc = render(t, newRenderer(t, ui.Options{}), v)
	in = find(doc, "input", "name", "password")[0]
	if _, ok := attr(in, "minlength"); ok || strings.Contains(text(doc), "at least") {
		t.Error("a minimum length stated with no policy given")
	}
}

func TestEscaping(t *testing.T) {
	const hostile = `<script>alert(1)</script>`
	r := newRenderer(t, ui.Options{})
	bad := &ui.Person{Name: hostile, Email: hostile}
	acct := accountData()
	acct.Apps = []ui.AppRow{{ClientID: "app-1", Name: "Invoices", GrantedAt: at,
		Scopes: []ui.ScopeRow{{Name: "email", Description: "See your email address"}}}}
	acct.Name, acct.Email, acct.Username, acct.Sessions[1].Device = hostile, hostile, hostile, hostile
	for _, v := range []ui.View{
		{Page: "account", Title: hostile, CSRF: csrf, SignedIn: bad, Alert: hostile, Notice: hostile, Data: acct},
		{Page: "register", Title: "Create an account", CSRF: csrf, Data: ui.RegisterData{Email: hostile, Name: hostile, Errors: map[string]string{"email": hostile}}},
		{Page: "login", Title: "Sign in", CSRF: `"><script>`, Data: ui.LoginData{Identifier: hostile, Flow: `"onmouseover="x`}},
		{Page: "error", Title: "Bad Request", RequestID: hostile, Data: ui.ErrorData{Status: 400, Message: hostile}},
	} {
		w, doc := render(t, r, v)
		if len(find(doc, "script")) != 0 {
			t.Errorf("%s: a <script> element from data", v.Page)
		}
		for _, e := range elements(doc) {
			for _, a := range e.Attr {
				if strings.HasPrefix(a.Key, "on") {
					t.Errorf("%s: attribute %s from data", v.Page, a.Key)
				}
			}
		}
		if !strings.Contains(w.Body.String(), "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Errorf("%s: hostile text not shown escaped", v.Page)
		}
	}
}

func TestRenderFailure(t *testing.T) {
	r := newRenderer(t, ui.Options{})
	for _, v := range []ui.View{
		{Page: "login", Title: "Sign in", Data: ui.ErrorData{}}, // data of another page
		{Page: "nope", Title: "Nope"},
	} {
		w := httptest.NewRecorder()
		if err := r.Render(w, http.StatusOK, v); err == nil {
			t.Errorf("%s: Render did not fail", v.Page)
		}
		body := w.Body.String()
		if w.Code != http.StatusInternalServerError || strings.Contains(body, "<") || strings.Contains(body, product) {
			t.Errorf("%s: %d %q; want a plain 500 with nothing of the page", v.Page, w.Code, body)
		}
		if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
			t.Errorf("%s: Content-Type %q", v.Page, ct)
		}
	}
}

func TestNoProduct(t *testing.T) {
	if _, err := ui.NewRenderer(ui.Options{Product: " "}); err == nil {
		t.Error("a renderer without a product name")
	}
}

func TestRenderStatus(t *testing.T) {
	w := httptest.NewRecorder()
	v := ui.View{Page: "register", Title: "Create an account", CSRF: csrf, Data: ui.RegisterData{}}
	if err := newRenderer(t, ui.Options{}).Render(w, http.StatusUnprocessableEntity, v); err != nil || w.Code != http.StatusUnprocessableEntity {
		t.Errorf("status %d, error %v; want 422", w.Code, err)
	}
}

func TestOverride(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "login.html", `{{define "content"}}<p id="custom">Welcome to {{.Product}}</p>`+
		`<form method="post" action="/login"><input type="hidden" name="csrf_token" value="{{.CSRF}}"><button type="submit">Go</button></form>{{end}}`)
	write(t, dir, "style.css", "body { color: rebeccapurple; }\n")
	write(t, dir, ".login.html.swp", "editor litter is ignored")
	r := newRenderer(t, ui.Options{OverrideDir: dir})

	_, doc := render(t, r, ui.View{Page: "login", Title: "Sign in", CSRF: csrf, Data: ui.LoginData{}})
	if p := find(doc, "p", "id", "custom"); len(p) != 1 || text(p[0]) != "Welcome to "+product {
		t.Error("the override of login.html is not used")
	}
	if len(find(doc, "input", "name", "identifier")) != 0 {
		t.Error("the embedded login page is still shown")
	}
	_, doc = render(t, r, ui.View{Page: "register", Title: "Create an account", CSRF: csrf, Data: ui.RegisterData{}})
	if len(find(doc, "input", "name", "email")) != 1 {
		t.Error("a page not overridden is not the embedded one")
	}
	if body := get(t, r, stylesheet(t, doc)).Body.String(); !strings.Contains(body, "rebeccapurple") {
		t.Error("the override of style.css is not served")
	}
}

func TestBrokenOverride(t *testing.T) {
	for _, c := range []struct{ name, file, content, want string }{
		{"does not parse", "login.html", `{{define "content"}}{{.Data.Flow}`, "login.html"},
		{"wrong field", "account.html", `{{define "content"}}{{.Data.Nickname}}{{end}}`, "account.html"},
		{"no content", "verify.html", `<p>hello</p>`, `verify.html: does not define "content"`},
		{"layout does not parse", "layout.html", `<title>{{block "title" .}}`, "layout.html"},
		{"unknown file", "logn.html", `{{define "content"}}{{end}}`, "logn.html: replaces no embedded file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, c.file, c.content)
			_, err := ui.NewRenderer(ui.Options{Product: product, OverrideDir: dir})
			if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, c.want)) {
				t.Errorf("error %v; want one naming %s", err, filepath.Join(dir, c.want))
			}
		})
	}
	if _, err := ui.NewRenderer(ui.Options{Product: product, OverrideDir: filepath.Join(t.TempDir(), "missing")}); err == nil {
		t.Error("a missing templates directory accepted")
	}
}

func write(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// stylesheet is the URL of the page's stylesheet.
func stylesheet(t *testing.T, doc *html.Node) string {
	t.Helper()
	links := find(doc, "link", "rel", "stylesheet")
	if len(links) != 1 {
		t.Fatalf("%d stylesheets", len(links))
	}
	href, _ := attr(links[0], "href")
	return href
}

// get requests target from Static, mounted as the server mounts it.
func get(t *testing.T, r *ui.Renderer, target string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/static/", http.StripPrefix("/static", r.Static()))
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for i := 0; i < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, req)
	return w
}

func TestStatic(t *testing.T) {
	r := newRenderer(t, ui.Options{})
	_, doc := render(t, r, ui.View{Page: "registered", Title: "Check your email", Data: ui.RegisteredData{}})
	href := stylesheet(t, doc)
	path, version, ok := strings.Cut(href, "?v=")
	if path != "/static/style.css" || !ok || version == "" {
		t.Fatalf("stylesheet %q; want /static/style.css with a version", href)
	}

	w := get(t, r, href)
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "text/css; charset=utf-8" || !strings.Contains(w.Body.String(), "prefers-color-scheme") {
		t.Fatalf("%s: %d %q", href, w.Code, w.Header().Get("Content-Type"))
	}
	if cc := w.Header().Get("Cache-Control"); !strings.Contains(cc, "immutable") {
		t.Errorf("versioned URL: Cache-Control %q, want long-lived", cc)
	}
	if cc := get(t, r, path).Header().Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("URL without version: Cache-Control %q, want no-cache", cc)
	}
	if cc := get(t, r, path+"?v=stale").Header().Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("URL of another version: Cache-Control %q, want no-cache", cc)
	}
	if w := get(t, r, href, "If-None-Match", w.Header().Get("ETag")); w.Code != http.StatusNotModified {
		t.Errorf("revalidation: %d, want 304", w.Code)
	}
	icon := find(doc, "link", "rel", "icon")
	if len(icon) != 1 {
		t.Fatal("no icon")
	}
	iconHref, _ := attr(icon[0], "href")
	if w := get(t, r, iconHref); w.Code != http.StatusOK || w.Header().Get("Content-Type") != "image/svg+xml" {
		t.Errorf("%s: %d %q", iconHref, w.Code, w.Header().Get("Content-Type"))
	}
	for _, target := range []string{"/static/", "/static/nope.css", "/static/layout.html", "/static/static/style.css"} {
		if w := get(t, r, target); w.Code != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", target, w.Code)
		}
	}
	req := httptest.NewRequest(http.MethodPost, "/style.css", nil)
	w = httptest.NewRecorder()
	r.Static().ServeHTTP(w, req)
	if w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d, want 405", w.Code)
	}
}
