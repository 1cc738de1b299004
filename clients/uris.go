package clients

import (
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/identityd/identityd/outbound"
)

// schemesNeverAllowed are schemes that run or reveal something in the browser itself; a
// redirect to one hands the authorization response to whatever it runs. They are refused
// by name, for a clearer reason than "not https".
var schemesNeverAllowed = map[string]bool{
	"javascript": true, "vbscript": true, "data": true, "file": true, "blob": true,
	"about": true, "filesystem": true, "view-source": true,
}

// checkRedirectURI returns why a redirect or post-logout redirect URI is refused, or "".
//
// https may point anywhere. http is allowed on a loopback host (RFC 8252 §7.3: a native
// app listening on 127.0.0.1 or [::1]; also "localhost"), and on any host in dev mode.
// Private-use schemes named after a domain in reverse (com.example.app:/callback, RFC
// 8252 §7.1) belong to native apps, which are public clients; a confidential client has a
// web server and needs https. Nothing else is allowed, so javascript:, data: and the
// like never are.
func (s *Service) checkRedirectURI(raw string, public bool) string {
	u, reason := parseAbsolute(raw)
	if reason != "" {
		return reason
	}
	switch {
	case u.Scheme == "https":
		return checkWebURI(u)
	case u.Scheme == "http":
		if reason := checkWebURI(u); reason != "" {
			return reason
		}
		if !s.dev && !loopback(u.Hostname()) {
			return "may use http only on a loopback host (127.0.0.1, [::1] or localhost); use https"
		}
		return ""
	case schemesNeverAllowed[u.Scheme]:
		return "must not use the " + u.Scheme + ": scheme"
	case privateUseScheme(u.Scheme):
		if !public {
			return "may use a private-use scheme only for a public (native) client; a confidential client needs https"
		}
		if u.Opaque != "" {
			return "must be of the form " + u.Scheme + ":/path (RFC 8252 §7.1)"
		}
		return ""
	}
	return "must use https, http on a loopback host, or for a public (native) client a private-use scheme " +
		"named after a domain in reverse, like com.example.app:/callback"
}

// checkBackchannelURI returns why a back-channel logout URI is refused, or "". identityd
// POSTs logout tokens to it from the server, so it is a web URI: https, or http on
// loopback or in dev mode (OpenID Connect Back-Channel Logout 1.0 §2.2).
func (s *Service) checkBackchannelURI(raw string) string {
	u, reason := parseAbsolute(raw)
	if reason != "" {
		return reason
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return "must use https (http only on a loopback host)"
	}
	if reason := checkWebURI(u); reason != "" {
		return reason
	}
	if u.Scheme == "http" && !s.dev && !loopback(u.Hostname()) {
		return "may use http only on a loopback host (127.0.0.1, [::1] or localhost); use https"
	}
	return s.checkReachable(u)
}

// checkJWKSURI returns why a jwks_uri is refused, or "". The keys that authenticate a
// client must come over an authenticated channel, so only https will do.
func (s *Service) checkJWKSURI(raw string) string {
	u, reason := parseAbsolute(raw)
	if reason != "" {
		return reason
	}
	if u.Scheme != "https" {
		return "must use https"
	}
	if reason := checkWebURI(u); reason != "" {
		return reason
	}
	return s.checkReachable(u)
}

// checkReachable returns why identityd could never call u, or "": unless private
// networks are allowed, the caller refuses localhost and non-public addresses.
func (s *Service) checkReachable(u *url.URL) string {
	if s.allowPrivate {
		return ""
	}
	return outbound.RefusedHost(u.Hostname())
}

// parseAbsolute parses an absolute URI without a fragment or user information, or
// returns why it cannot be one. The checks on the text come first: url.Parse accepts
// and forgets an empty fragment ("…/#"), and only ASCII URIs compare unambiguously when
// redirect URIs are matched exactly.
func parseAbsolute(raw string) (*url.URL, string) {
	switch {
	case raw == "":
		return nil, "must not be empty"
	case len(raw) > MaxURIBytes:
		return nil, fmt.Sprintf("must be at most %d bytes", MaxURIBytes)
	case !visibleASCII(raw):
		return nil, "must hold only visible ASCII characters, without spaces; percent-encode others"
	case strings.Contains(raw, "#"):
		return nil, "must not have a fragment (#…)"
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		// url.Parse's errors quote the input; the caller has it already.
		return nil, "is not a valid URI"
	case u.Scheme == "":
		return nil, "must be an absolute URI with a scheme, like https://app.example.com/callback"
	case u.User != nil:
		return nil, "must not contain a user name or password"
	}
	return u, ""
}

// checkWebURI returns why an http or https URI is refused, or "": it must name a valid
// host, and a port only in range.
func checkWebURI(u *url.URL) string {
	if u.Opaque != "" || u.Host == "" {
		return "must be of the form " + u.Scheme + "://host/path"
	}
	if !validHost(u.Hostname()) {
		return "must name a valid host"
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return "has an invalid port"
		}
	} else if strings.HasSuffix(u.Host, ":") {
		return "has an invalid port"
	}
	return ""
}

// validHost reports whether host is an IP address without a zone or a DNS name of
// letters, digits, hyphens and (for internal names) underscores.
func validHost(host string) bool {
	if ip, err := netip.ParseAddr(host); err == nil {
		return ip.Zone() == ""
	}
	if host == "" || len(host) > 253 {
		return false
	}
	for label := range strings.SplitSeq(host, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// loopback reports whether host is a loopback IP literal or "localhost".
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// privateUseScheme reports whether scheme looks like a domain name in reverse: at least
// two non-empty dot-separated labels (url.Parse has checked its characters).
func privateUseScheme(scheme string) bool {
	labels := strings.Split(scheme, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" {
			return false
		}
	}
	return true
}
