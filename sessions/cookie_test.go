package sessions_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/identityd/identityd/sessions"
	"github.com/identityd/identityd/store/storetest"
)

func TestCookieAttributes(t *testing.T) {
	for _, secure := range []bool{false, true} {
		f := newFixture(t, storetest.SQLite(t), sessions.Config{Secure: secure})
		uid := f.newUser(t)
		wantName := "identityd_session"
		if secure {
			wantName = "__Host-identityd_session"
		}
		if got := f.svc.CookieName(); got != wantName {
			t.Fatalf("secure %v: cookie name %q, want %q", secure, got, wantName)
		}
		check := func(what string, c *http.Cookie, value string) string {
			t.Helper()
			if c.Name != wantName || c.Value != value || c.Path != "/" || c.Domain != "" || !c.HttpOnly ||
				c.SameSite != http.SameSiteLaxMode || c.Secure != secure {
				t.Fatalf("secure %v: %s cookie %+v", secure, what, c)
			}
			line := c.String()
			if strings.Contains(line, "Domain") || !strings.Contains(line, "; HttpOnly") ||
				!strings.Contains(line, "; SameSite=Lax") || strings.Contains(line, "Secure") != secure {
				t.Fatalf("secure %v: %s cookie %q", secure, what, line)
			}
			return line
		}

		tok, sess := f.establish(t, "", uid, false)
		line := check("browser-session", f.svc.Cookie(tok, sess), tok)
		if c := f.svc.Cookie(tok, sess); c.MaxAge != 0 || !c.Expires.IsZero() || strings.Contains(line, "Max-Age") ||
			strings.Contains(line, "Expires") {
			t.Fatalf("secure %v: a session without remember got a persistent cookie %q", secure, line)
		}

		tok, sess = f.establish(t, "", uid, true)
		c := f.svc.Cookie(tok, sess)
		check("remembered", c, tok)
		if c.MaxAge != 30*24*60*60 || !c.Expires.Equal(sess.ExpiresAt) {
			t.Fatalf("secure %v: remembered cookie lasts %ds until %v; want 30 days, until %v", secure, c.MaxAge, c.Expires,
				sess.ExpiresAt)
		}
		f.clock.Advance(10*24*time.Hour + 1500*time.Millisecond)
		if c := f.svc.Cookie(tok, sess); c.MaxAge != 20*24*60*60-2 {
			t.Fatalf("secure %v: 10 days and 1.5 s on, the cookie lasts %ds; want the 20 days left, rounded down", secure,
				c.MaxAge)
		}
		f.clock.Advance(20 * 24 * time.Hour)
		if c := f.svc.Cookie(tok, sess); c.MaxAge >= 0 || c.Value != "" {
			t.Fatalf("secure %v: the cookie of an expired session %+v; want it deleted", secure, c)
		}

		clear := f.svc.ClearCookie()
		if line := check("clearing", clear, ""); clear.MaxAge != -1 || !strings.Contains(line, "Max-Age=0") {
			t.Fatalf("secure %v: the clearing cookie %q does not delete the cookie", secure, line)
		}
	}
}

func TestTokenReadsTheSessionCookie(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), sessions.Config{Secure: true})
	tok, sess := f.establish(t, "", f.newUser(t), false)
	request := func(cookies string) *http.Request {
		r := httptest.NewRequest(http.MethodGet, "https://id.example.com/account", nil)
		if cookies != "" {
			r.Header.Set("Cookie", cookies)
		}
		return r
	}
	for _, c := range []struct{ cookies, want string }{
		{"", ""},
		{"__Host-identityd_session=" + tok, tok},
		{"theme=dark; __Host-identityd_session=" + tok + "; lang=en", tok},
		{"identityd_session=" + tok, ""}, // the name without the prefix is not ours when secure
		{"__Host-identityd_session=" + tok[:40], ""},
		{"__Host-identityd_session=" + strings.Repeat("x", 4000), ""},
		{"__Host-identityd_session=garbage; __Host-identityd_session=" + tok, tok},
	} {
		if got := f.svc.Token(request(c.cookies)); got != c.want {
			t.Errorf("Token with cookies %.80q = %q, want %q", c.cookies, got, c.want)
		}
	}
	// What Cookie sets, Token reads back.
	r := request("")
	r.AddCookie(f.svc.Cookie(tok, sess))
	if got := f.svc.Token(r); got != tok {
		t.Fatalf("Token of the set cookie = %q, want the token", got)
	}
}
