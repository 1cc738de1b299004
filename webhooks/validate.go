package webhooks

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/identityd/identityd/audit"
	"github.com/identityd/identityd/outbound"
	"github.com/identityd/identityd/validation"
)

// Limits on what a subscription may hold.
const (
	MaxURLLength  = 2048
	MaxEventTypes = 50
)

// validateURL checks a subscription URL. Unless allowPrivate, a host that is a literal
// non-public address or a localhost name is refused here already; names that resolve
// to such addresses are refused when a delivery dials them.
func validateURL(raw string, allowPrivate bool) error {
	bad := func(reason string) error { return validation.One(scope, "url", reason) }
	if raw == "" {
		return bad("is required")
	}
	if len(raw) > MaxURLLength {
		return bad(fmt.Sprintf("must be at most %d bytes", MaxURLLength))
	}
	if !utf8.ValidString(raw) {
		return bad("must be valid UTF-8")
	}
	// Checked on the text: url.Parse accepts an empty fragment ("…/#") and forgets it.
	if strings.Contains(raw, "#") {
		return bad("must not have a fragment (#…)")
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse's errors quote the input; the caller has it already.
		return bad("is not a valid URL")
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return bad("must be an absolute http:// or https:// URL")
	case u.Opaque != "":
		return bad("must be an absolute http:// or https:// URL")
	case u.User != nil:
		return bad("must not contain a user name or password; authenticate receivers by the signature")
	case u.Hostname() == "":
		return bad("must name a host")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return bad("has an invalid port")
		}
	}
	if allowPrivate {
		return nil
	}
	if reason := outbound.RefusedHost(u.Hostname()); reason != "" {
		return bad(reason)
	}
	return nil
}

// validateEventTypes checks a subscription's event type patterns.
func validateEventTypes(types []string) error {
	bad := func(reason string) error { return validation.One(scope, "event_types", reason) }
	if len(types) == 0 {
		return bad("must name at least one event type or pattern, like * or admin.token.*")
	}
	if len(types) > MaxEventTypes {
		return bad(fmt.Sprintf("must hold at most %d patterns", MaxEventTypes))
	}
	seen := make(map[string]bool, len(types))
	for _, t := range types {
		if !audit.ValidTypePattern(t) {
			return bad(fmt.Sprintf("%q matches no event type; use *, a prefix like admin.token.*, or a type from the catalogue", truncate(t, 64)))
		}
		if seen[t] {
			return bad(fmt.Sprintf("%q is listed twice", t))
		}
		seen[t] = true
	}
	return nil
}

// truncate shortens s to at most n bytes, on a character boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
