package flows

import (
	"net/url"
	"strings"
	"unicode"
)

// maxReturnToBytes bounds where a flow may lead; an OAuth authorization request with its
// parameters fits with room to spare.
const maxReturnToBytes = 2048

// SafeReturnTo reports whether raw may be where a sign-in sends the browser afterwards,
// and returns it cleaned. Only a path on this origin is: "/account", "/oauth2/auth?…".
// Everything a browser could read as another origin is refused — "//evil.example",
// "https://evil.example", "/\evil.example" (browsers read "\" as "/"), "javascript:…" —
// as are control characters and anything over 2 KiB.
func SafeReturnTo(raw string) (string, bool) {
	if raw == "" || len(raw) > maxReturnToBytes || raw[0] != '/' {
		return "", false
	}
	if len(raw) > 1 && (raw[1] == '/' || raw[1] == '\\') {
		return "", false
	}
	for _, r := range raw {
		if r == '\\' || unicode.IsControl(r) || unicode.IsSpace(r) {
			return "", false
		}
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || !strings.HasPrefix(u.Path, "/") {
		return "", false
	}
	// A path whose decoding starts a second slash or a backslash would be another origin
	// to a browser that decodes before it resolves.
	if p := u.Path; len(p) > 1 && (p[1] == '/' || p[1] == '\\') {
		return "", false
	}
	u.Fragment, u.RawFragment = "", ""
	return u.String(), true
}
