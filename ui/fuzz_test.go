package ui_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/identityd/identityd/store/storetest"
)

// FuzzFormsAnswerWithAPageNeverAServerError posts whatever a browser could send, with
// this browser's form token and flow, to every form of the pages — as a signed-in person
// to the account forms, as a visitor to the others — and requires a page: a redirect or,
// when refused, a friendly error page, never a server error.
func FuzzFormsAnswerWithAPageNeverAServerError(f *testing.F) {
	db := storetest.SQLite(f)
	storetest.Migrate(f, db)
	s := newSite(f, db, siteOptions{posts: 1 << 30})
	s.user("ada@example.com", password)
	member, visitor := s.browser(), s.browser()
	if a := member.signIn("ada@example.com", password); a.status != http.StatusSeeOther {
		f.Fatalf("sign-in: %d", a.status)
	}
	memberCSRF := member.csrf()
	flow, visitorCSRF := visitor.loginForm("/account")
	for _, seed := range []string{"", "identifier=ada@example.com&password=wrong", "identifier=&password=",
		"email=grace@example.com&name=Grace&password=violet%20kettle%20drum%2042&password_confirm=violet%20kettle%20drum%2042",
		"email=ada@example.com", "token=idd_x&password=violet%20kettle%20drum%2042", "current_password=" + password + "&new_password=x",
		"name=Ada%00&username=a", "session=" + strings.Repeat("A", 22), "client_id=x&decision=allow", "return_to=//evil.example",
		"%zz", "a=1&a=2&a=3", strings.Repeat("x=y&", 2000)} {
		f.Add(seed)
	}
	forms := []struct {
		b    *browser
		path string
		csrf string
	}{
		{visitor, "/login", visitorCSRF}, {visitor, "/register", visitorCSRF}, {visitor, "/verify", visitorCSRF},
		{visitor, "/forgot-password", visitorCSRF}, {visitor, "/reset-password", visitorCSRF}, {visitor, "/logout", visitorCSRF},
		{visitor, "/consent", visitorCSRF},
		{member, "/account/profile", memberCSRF}, {member, "/account/password", memberCSRF},
		{member, "/account/sessions/revoke", memberCSRF}, {member, "/account/sessions/revoke-others", memberCSRF},
		{member, "/account/apps/revoke", memberCSRF}, {member, "/consent", memberCSRF},
	}
	f.Fuzz(func(t *testing.T, body string) {
		for _, form := range forms {
			b := *form.b
			b.t = t
			r, err := http.NewRequest(http.MethodPost, s.srv.URL+form.path,
				strings.NewReader(body+"&"+url.Values{"csrf_token": {form.csrf}, "flow": {flow}}.Encode()))
			if err != nil {
				t.Fatal(err)
			}
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.Header.Set("Sec-Fetch-Site", "same-origin")
			a := b.do(r)
			switch {
			case a.status >= 500:
				t.Fatalf("POST %s %q: %d\n%s", form.path, body, a.status, a.body)
			case a.status >= 400 && !strings.Contains(a.body, `role="alert"`):
				t.Fatalf("POST %s %q: %d without an error page:\n%s", form.path, body, a.status, a.body)
			case a.status >= 300 && a.status < 400 && !onThisSite(a.location):
				t.Fatalf("POST %s %q sent the browser to %q", form.path, body, a.location)
			}
		}
	})
}

// onThisSite reports whether a redirect's location is a path on this site: a browser
// takes "//host" and "/\host" to another one.
func onThisSite(location string) bool {
	return strings.HasPrefix(location, "/") && !strings.HasPrefix(location, "//") && !strings.HasPrefix(location, "/\\")
}
