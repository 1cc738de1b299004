package mail

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// SMTPURL is a parsed SMTP server URL (see ParseURL). Its String, GoString and LogValue
// hide the password, so it may be printed and logged.
type SMTPURL struct {
	// Host is the server's name or IP address, without brackets; TLS verifies the
	// server's certificate against it.
	Host string
	// Port is the server's TCP port.
	Port int
	// Username and Password authenticate to the server; both are empty for a server
	// that needs no authentication.
	Username string
	Password string `json:"-"`
	// ImplicitTLS means TLS from the first byte (smtps://); otherwise the connection
	// starts in plaintext and must upgrade with STARTTLS before anything else is said.
	ImplicitTLS bool
	// Plaintext means no TLS at all (?tls=none), for a local development mail catcher.
	// Configuration validation refuses it outside development off loopback.
	Plaintext bool
}

// Default ports: submission with STARTTLS (RFC 6409) and submission over implicit TLS
// (RFC 8314).
const (
	defaultSTARTTLSPort = 587
	defaultImplicitPort = 465
)

// errNotAURL reports a URL that does not parse. It says nothing more: the parser's own
// errors repeat the URL or quote pieces of it, the password's included.
var errNotAURL = errors.New("mail: SMTP URL is not a valid URL " +
	"(percent-encode reserved characters in the user name and password)")

// ParseURL parses an SMTP server URL:
//
//	smtp://[user:password@]host[:port]     STARTTLS required (port 587 by default)
//	smtps://[user:password@]host[:port]    implicit TLS (port 465 by default)
//	smtp://host:port/?tls=none             no TLS at all, for a local mail catcher
//
// The user name and password are percent-encoded where they hold reserved characters;
// a user name needs a password and the other way round. Credentials are refused with
// tls=none, since they would cross the network in the clear. Nothing else may follow
// the host: no path, no other query parameter, no fragment.
//
// Error messages never contain the password.
func ParseURL(raw string) (SMTPURL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error repeats the whole URL, and its inner errors can quote pieces of it
		// (a bad percent-escape inside the password), so none of it is passed on.
		return SMTPURL{}, errNotAURL
	}
	var out SMTPURL
	switch u.Scheme {
	case "smtp":
	case "smtps":
		out.ImplicitTLS = true
	default:
		// The scheme is not repeated: without "//" a misplaced user name or password may
		// have been parsed as one.
		return SMTPURL{}, errors.New("mail: SMTP URL must start with smtp:// or smtps://")
	}
	if strings.Contains(u.Path+u.RawQuery+u.Fragment, "@") {
		// A password holding an unencoded "/", "?" or "#" ends the authority early and
		// leaves "…@host" behind it; report nothing of what follows.
		return SMTPURL{}, errNotAURL
	}
	if u.Opaque != "" || u.Host == "" {
		return SMTPURL{}, errors.New("mail: SMTP URL has no host (smtp://host:port)")
	}
	out.Host = u.Hostname()
	if out.Host == "" {
		return SMTPURL{}, errors.New("mail: SMTP URL has no host (smtp://host:port)")
	}
	if !validHost(out.Host, strings.HasPrefix(u.Host, "[")) {
		return SMTPURL{}, fmt.Errorf("mail: SMTP URL host %q is neither a DNS name nor an IP address "+
			"(IPv6 addresses go in brackets; internationalised names in their xn-- form)", out.Host)
	}
	if u.Path != "" && u.Path != "/" {
		return SMTPURL{}, fmt.Errorf("mail: SMTP URL must not have a path (%q)", u.Path)
	}
	if u.Fragment != "" || strings.HasSuffix(raw, "#") {
		return SMTPURL{}, errors.New("mail: SMTP URL must not have a fragment")
	}
	if err := out.parseQuery(u.RawQuery); err != nil {
		return SMTPURL{}, err
	}
	if err := out.parsePort(u.Port()); err != nil {
		return SMTPURL{}, err
	}
	if err := out.parseUser(u.User); err != nil {
		return SMTPURL{}, err
	}
	return out, nil
}

// validHost accepts an IP address, in brackets exactly when it is IPv6 and without a
// zone, or an ASCII DNS name.
func validHost(host string, bracketed bool) bool {
	if addr, err := netip.ParseAddr(host); err == nil {
		return addr.Is6() == bracketed && addr.Zone() == ""
	}
	if bracketed || len(host) > 253 {
		return false
	}
	for _, label := range strings.Split(host, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range []byte(label) {
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

func (s *SMTPURL) parseQuery(raw string) error {
	if raw == "" {
		return nil
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		return errors.New("mail: SMTP URL has a malformed query")
	}
	for key, values := range q {
		if key != "tls" {
			return fmt.Errorf("mail: SMTP URL has an unknown parameter %q (only tls=none is known)", key)
		}
		if len(values) != 1 || values[0] != "none" {
			return errors.New("mail: SMTP URL parameter tls must be given once, as tls=none " +
				"(STARTTLS is the default for smtp://, implicit TLS is smtps://)")
		}
	}
	if s.ImplicitTLS {
		return errors.New("mail: SMTP URL cannot be smtps:// and tls=none at once")
	}
	s.Plaintext = true
	return nil
}

func (s *SMTPURL) parsePort(p string) error {
	if p == "" {
		switch {
		case s.Plaintext:
			// A mail catcher listens wherever it was told to; no default would be right.
			return errors.New("mail: SMTP URL with tls=none needs an explicit port")
		case s.ImplicitTLS:
			s.Port = defaultImplicitPort
		default:
			s.Port = defaultSTARTTLSPort
		}
		return nil
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("mail: SMTP URL port %q is not between 1 and 65535", p)
	}
	s.Port = n
	return nil
}

func (s *SMTPURL) parseUser(u *url.Userinfo) error {
	if u == nil {
		return nil
	}
	password, hasPassword := u.Password()
	switch {
	case s.Plaintext:
		return errors.New("mail: SMTP URL with tls=none must not have credentials: " +
			"they would be sent without encryption")
	case u.Username() == "":
		return errors.New("mail: SMTP URL has a password but no user name")
	case !hasPassword || password == "":
		return errors.New("mail: SMTP URL has a user name but no password")
	case strings.ContainsFunc(u.Username(), isControl) || strings.ContainsFunc(password, isControl):
		// AUTH PLAIN separates its fields with NUL; a control character cannot be meant.
		return errors.New("mail: SMTP URL user name or password contains a control character")
	}
	s.Username, s.Password = u.Username(), password
	return nil
}

// Addr is the server's host:port, for dialling.
func (s SMTPURL) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// String returns the URL with the password replaced by "xxxxx".
func (s SMTPURL) String() string {
	u := url.URL{Scheme: "smtp", Host: s.Addr()}
	if s.ImplicitTLS {
		u.Scheme = "smtps"
	}
	if s.Username != "" {
		u.User = url.UserPassword(s.Username, s.Password)
	}
	if s.Plaintext {
		u.Path, u.RawQuery = "/", "tls=none"
	}
	return u.Redacted()
}

// GoString is String, so that %#v does not print the password either.
func (s SMTPURL) GoString() string { return s.String() }

// LogValue is String, so that slog's handlers, JSON ones included, never see the
// password.
func (s SMTPURL) LogValue() slog.Value { return slog.StringValue(s.String()) }
