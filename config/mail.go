package config

import (
	"net/mail"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// smtpURLValue checks the form of an SMTP URL: the scheme, a host, a port when one is
// given, and no options but tls=none. The mail package parses it again when the server
// starts; this check is here so that `config validate` reports a mistake with the rest.
// Refusals never quote the URL, which may hold a password.
func smtpURLValue(set func(*Config, string)) parseFunc {
	const fix = "use smtp://user:password@host:587 (STARTTLS), smtps://user:password@host:465 (TLS) or smtp://localhost:1025/?tls=none"
	return scalar(func(s string) (string, *refusal) {
		u, err := url.Parse(s)
		switch {
		case err != nil:
			return "", refuse("is not a valid URL", fix)
		case u.Scheme != "smtp" && u.Scheme != "smtps":
			return "", refuse("must start with smtp:// or smtps://", fix)
		case u.Hostname() == "" || u.Opaque != "":
			return "", refuse("names no host", fix)
		case u.Path != "" && u.Path != "/", u.Fragment != "":
			return "", refuse("must not have a path or fragment", fix)
		}
		if p := u.Port(); p != "" {
			if _, ok := portNumber(p); !ok {
				return "", refuse("has an invalid port", fix)
			}
		}
		q, err := url.ParseQuery(u.RawQuery)
		if err != nil {
			return "", refuse("has a malformed query", fix)
		}
		for k, v := range q {
			if k != "tls" || len(v) != 1 || v[0] != "none" {
				return "", refuse("has an unknown option (only tls=none is known)", fix)
			}
			if u.Scheme == "smtps" {
				return "", refuse("asks for TLS (smtps) and for none (tls=none) at once", fix)
			}
			if u.User != nil {
				return "", refuse("would send a password without TLS (tls=none with a user)", "drop the user and password, or use STARTTLS (smtp://) or TLS (smtps://)")
			}
		}
		return s, nil
	}, set)
}

// smtpPlaintext reports whether an SMTP URL turns TLS off.
func smtpPlaintext(raw string) (host string, plaintext bool) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", false
	}
	return u.Hostname(), u.Query().Get("tls") == "none"
}

// mailAddressValue accepts one address, with or without a display name.
func mailAddressValue(set func(*Config, string)) parseFunc {
	const fix = "use an address such as no-reply@example.com or Example ID <no-reply@example.com>"
	return scalar(func(s string) (string, *refusal) {
		if len(s) > 320 || strings.ContainsAny(s, "\r\n") {
			return "", refuse("is not an email address", fix)
		}
		if _, err := mail.ParseAddress(s); err != nil {
			return "", refuse("is not an email address", fix)
		}
		return s, nil
	}, set)
}

// productNameValue accepts a short name of printable characters: it goes into email
// subjects, where a line break would start a header.
func productNameValue(set func(*Config, string)) parseFunc {
	const fix = "use up to 100 printable characters, e.g. Example ID"
	return scalar(func(s string) (string, *refusal) {
		if utf8.RuneCountInString(s) > 100 {
			return "", refuse("is longer than 100 characters", fix)
		}
		for _, r := range s {
			if !unicode.IsPrint(r) {
				return "", refuse("contains a character that is not printable", fix)
			}
		}
		return s, nil
	}, set)
}

// validateMail refuses plaintext SMTP beyond this machine outside dev, unless the
// operator allowed it explicitly, and a mail server with no From address to send as.
func validateMail(c *Config, p provenance) Problems {
	o, set := p.origins["smtp_url"]
	if !set || o.failed || c.SMTPURL == "" {
		return nil
	}
	var ps Problems
	if host, plain := smtpPlaintext(c.SMTPURL); plain && !c.Dev && !c.SMTPAllowPlaintext && !isLoopback(host) {
		ps = append(ps, Problem{Key: "smtp_url", Source: o.source, Value: redacted,
			Why: "turns TLS off (tls=none) for a server that is not on this machine",
			Fix: "use STARTTLS (smtp://) or TLS (smtps://); only a relay on loopback may go without, " +
				"unless smtp_allow_plaintext is true"})
	}
	if f, set := p.origins["mail_from"]; c.MailFrom == "" && (!set || !f.failed) && !p.fileFailed {
		ps = append(ps, Problem{Key: "mail_from", Source: sourceDefault,
			Why: "required when smtp_url is set and there is no issuer to derive it from",
			Fix: "set IDENTITYD_MAIL_FROM, e.g. no-reply@example.com"})
	}
	return ps
}
