package sessions

import (
	"net/http"
	"time"
)

// The cookie's names. The __Host- prefix makes browsers accept the cookie only when it
// is Secure, set over https by the host itself, with Path=/ and no Domain: a sibling
// subdomain or a network attacker on plain http can then neither plant a session cookie
// (fixation) nor shadow this one. Browsers refuse the prefix without https, so plain
// http (development) uses the bare name.
const (
	cookieName       = "identityd_session"
	secureCookieName = "__Host-" + cookieName
)

// CookieName is the name of the session cookie.
func (s *Service) CookieName() string {
	if s.cfg.Secure {
		return secureCookieName
	}
	return cookieName
}

// Cookie is the cookie that carries token for sess. It is HttpOnly, so scripts never
// see the token; SameSite=Lax, so other sites' forms and scripts do not send it while
// following a link to identityd (an OAuth redirect) still does; Path=/ with no Domain;
// and Secure with the __Host- name when the issuer is https. Without Remember it is a
// session cookie, gone when the browser closes; with Remember it lasts until the
// session's absolute expiry.
func (s *Service) Cookie(token string, sess Session) *http.Cookie {
	c := s.baseCookie()
	c.Value = token
	if sess.Remember {
		// Rounded down, so that the cookie never outlives its session.
		left := int(sess.ExpiresAt.Sub(s.now()) / time.Second)
		if left <= 0 {
			return s.ClearCookie()
		}
		c.MaxAge, c.Expires = left, sess.ExpiresAt.UTC()
	}
	return c
}

// ClearCookie is the cookie that deletes the session cookie from the browser: the same
// name and attributes, expired.
func (s *Service) ClearCookie() *http.Cookie {
	c := s.baseCookie()
	c.MaxAge = -1
	return c
}

// baseCookie is the session cookie without a value or lifetime.
func (s *Service) baseCookie() *http.Cookie {
	return &http.Cookie{Name: s.CookieName(), Path: "/", Secure: s.cfg.Secure, HttpOnly: true,
		SameSite: http.SameSiteLaxMode}
}

// Token returns the session token r carries in its cookie, or "" when it carries none
// that is well formed. Of several cookies of the name, the first well-formed one counts.
func (s *Service) Token(r *http.Request) string {
	for _, c := range r.CookiesNamed(s.CookieName()) {
		if wellFormed(c.Value) {
			return c.Value
		}
	}
	return ""
}
