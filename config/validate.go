package config

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// validate runs the checks that involve more than one value or depend on dev mode, one
// validator per concern. It reads c and never changes it.
func validate(c *Config, p provenance) Problems {
	var ps Problems
	ps = append(ps, validateListeners(c, p)...)
	ps = append(ps, validateIssuer(c, p)...)
	ps = append(ps, validateEncryptionKeys(c, p)...)
	ps = append(ps, validateRetention(c, p)...)
	ps = append(ps, validateMail(c, p)...)
	ps = append(ps, validateLogin(c, p)...)
	ps = append(ps, validateRegistration(c, p)...)
	ps = append(ps, validateSessions(c, p)...)
	ps = append(ps, validateSigningKeys(c, p)...)
	return ps
}

// validateRetention refuses a retention so short that it would prune the audit log
// almost as fast as it is written: a typo ("1h" for "1y") must not erase history.
func validateRetention(c *Config, p provenance) Problems {
	o := p.origins["audit_retention"]
	if o.failed || c.AuditRetention == 0 || c.AuditRetention >= 24*time.Hour {
		return nil
	}
	return Problems{{Key: "audit_retention", Source: o.source, Value: c.AuditRetention.String(),
		Why: "is shorter than a day, which would prune audit events almost as soon as they are written",
		Fix: "use 0 to keep events forever, or at least 24h (e.g. 8760h for a year)"}}
}

// validateListeners refuses two different addresses that could not both be bound: the
// server would otherwise fail at startup with a bare "address already in use".
func validateListeners(c *Config, p provenance) Problems {
	pub, adm := p.origins["public_addr"], p.origins["admin_addr"]
	if pub.failed || adm.failed || c.PublicAddr == c.AdminAddr {
		return nil
	}
	pubHost, pubPort, err1 := net.SplitHostPort(c.PublicAddr)
	admHost, admPort, err2 := net.SplitHostPort(c.AdminAddr)
	pn, ok1 := portNumber(pubPort)
	an, ok2 := portNumber(admPort)
	if err1 != nil || err2 != nil || !ok1 || !ok2 || pn != an || !overlap(pubHost, admHost) {
		return nil
	}
	return Problems{{
		Key: "admin_addr", Source: adm.source, Value: c.AdminAddr,
		Why: fmt.Sprintf("overlaps public_addr %q on port %d, so the second listener could not start", c.PublicAddr, an),
		Fix: "use exactly the value of public_addr to share one listener, or another port",
	}}
}

// overlap reports whether listeners on hosts a and b and the same port certainly
// collide. Host names are not resolved, so only a dual-stack wildcard is certain to
// collide with them.
func overlap(a, b string) bool {
	dualStack := func(h string) bool { return h == "" || h == "::" }
	if dualStack(a) || dualStack(b) {
		return true
	}
	aa, err1 := netip.ParseAddr(a)
	ba, err2 := netip.ParseAddr(b)
	if err1 != nil || err2 != nil {
		return false
	}
	v4any := func(x, y netip.Addr) bool { return x == netip.IPv4Unspecified() && y.Is4() }
	return aa == ba || v4any(aa, ba) || v4any(ba, aa)
}

// validateIssuer checks the issuer, whatever its source: dev mode derives it from
// public_addr, and a derived value must pass the same rules as a written one. Clients
// compare the issuer byte for byte (OIDC Core 3.1.3.7), so its form must be exact.
func validateIssuer(c *Config, p provenance) Problems {
	o, set := p.origins["issuer"]
	if o.failed {
		return nil
	}
	if !set || c.Issuer == "" {
		// In dev an issuer is missing only when public_addr failed, reported already.
		if c.Dev || p.fileFailed || !p.serving {
			return nil
		}
		return Problems{{
			Key: "issuer", Source: sourceDefault, Why: "required outside dev mode",
			Fix: "set IDENTITYD_ISSUER to the public https URL, e.g. https://id.example.com",
		}}
	}
	problem := func(why, fix string) Problem {
		return Problem{Key: "issuer", Source: o.source, Value: c.Issuer, Why: why, Fix: fix}
	}
	u, err := url.Parse(c.Issuer)
	if err != nil || u.Scheme == "" || u.Host == "" || u.Opaque != "" {
		return Problems{problem("not an absolute URL", "use the URL clients reach identityd at, e.g. https://id.example.com")}
	}
	// Every fix names the same corrected URL, so following one fix never undoes another.
	scheme := u.Scheme
	schemeWhy := ""
	switch {
	case scheme == "http" && !isLoopback(u.Hostname()):
		scheme, schemeWhy = "https", "http is allowed only for a loopback host (localhost, 127.0.0.0/8, ::1)"
	case scheme != "http" && scheme != "https":
		scheme, schemeWhy = "https", "scheme must be https"
	}
	clean := "use " + scheme + "://" + u.Host + strings.TrimRight(u.EscapedPath(), "/")
	var ps Problems
	switch {
	case schemeWhy != "" && o.source == sourceDefault:
		// Derived in dev from public_addr: the fix is in another setting.
		ps = append(ps, problem(schemeWhy, "set IDENTITYD_ISSUER to the https URL clients reach identityd at, or give public_addr a loopback host"))
	case schemeWhy != "":
		ps = append(ps, problem(schemeWhy, clean))
	}
	if u.User != nil {
		ps = append(ps, problem("must not contain user info", clean))
	}
	if u.RawQuery != "" || u.ForceQuery {
		ps = append(ps, problem("must not have a query", clean))
	}
	if strings.Contains(c.Issuer, "#") {
		ps = append(ps, problem("must not have a fragment", clean))
	}
	if strings.HasSuffix(u.Path, "/") {
		ps = append(ps, problem("must not end with a slash", clean))
	}
	return ps
}

// isLoopback reports whether host certainly means this machine.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// validateEncryptionKeys requires a key outside dev, where serve does not generate one,
// and refuses repeated keys, which would make rotation a no-op that looks like one.
func validateEncryptionKeys(c *Config, p provenance) Problems {
	o, set := p.origins["encryption_keys"]
	if o.failed {
		return nil
	}
	if len(c.EncryptionKeys) == 0 {
		if c.Dev || p.fileFailed || !p.serving {
			return nil
		}
		source := sourceDefault
		if set {
			source = o.source // an empty list
		}
		return Problems{{
			Key: "encryption_keys", Source: source, Why: "required outside dev mode",
			Fix: "generate a key with `openssl rand -base64 32` and set IDENTITYD_ENCRYPTION_KEYS",
		}}
	}
	var ps Problems
	for i, k := range c.EncryptionKeys {
		for j := range i {
			if bytes.Equal(k, c.EncryptionKeys[j]) {
				ps = append(ps, Problem{
					Key: "encryption_keys", Source: o.source, Value: redacted,
					Why: fmt.Sprintf("keys %d and %d are the same", j+1, i+1),
					Fix: "remove the repeat; " + keyFix + " for each key",
				})
				break
			}
		}
	}
	return ps
}

// validateSessions keeps each idle timeout within the lifetime it belongs to: an idle
// timeout longer than the session's whole life would never apply, which is a typo.
func validateSessions(c *Config, p provenance) Problems {
	var ps Problems
	for _, pair := range []struct{ idle, life string }{
		{"session_idle_timeout", "session_absolute_timeout"},
		{"session_remember_idle", "session_remember_for"},
	} {
		io, lo := p.origins[pair.idle], p.origins[pair.life]
		if io.failed || lo.failed {
			continue
		}
		idle, life := c.SessionIdleTimeout, c.SessionAbsoluteTimeout
		if pair.idle == "session_remember_idle" {
			idle, life = c.SessionRememberIdle, c.SessionRememberFor
		}
		if idle > life {
			ps = append(ps, Problem{Key: pair.idle, Source: io.source, Value: fmtDuration(idle),
				Why: "is longer than " + pair.life + " (" + fmtDuration(life) + "), so it would never apply",
				Fix: "use an idle timeout no longer than " + pair.life})
		}
	}
	return ps
}

// signingKeyReload is how often every replica rereads the signing keys (package
// signingkeys' default), which a new key's publication lead includes.
const signingKeyReload = time.Minute

// validateSigningKeys keeps a rotation period longer than the lead a new key is published
// with: otherwise every key would be replaced before it ever signed.
func validateSigningKeys(c *Config, p provenance) Problems {
	o := p.origins["signing_key_rotation"]
	if o.failed || p.origins["signing_key_publish_lead"].failed || c.SigningKeyRotation > c.SigningKeyPublishLead+signingKeyReload {
		return nil
	}
	return Problems{{Key: "signing_key_rotation", Source: o.source, Value: fmtDuration(c.SigningKeyRotation),
		Why: "is not longer than signing_key_publish_lead (" + fmtDuration(c.SigningKeyPublishLead) + ") and a minute, " +
			"so a key would be replaced before it signed anything",
		Fix: "rotate less often, or shorten signing_key_publish_lead"}}
}

// validateRegistration refuses open registration where no email can confirm the
// addresses people register with.
func validateRegistration(c *Config, p provenance) Problems {
	o := p.origins["registration_enabled"]
	if o.failed || !c.RegistrationEnabled || c.SMTPURL != "" || c.Dev || p.origins["smtp_url"].failed {
		return nil
	}
	return Problems{{Key: "registration_enabled", Source: o.source, Value: "true",
		Why: "needs email to confirm the addresses people register with, and smtp_url is not set",
		Fix: "set smtp_url, or leave registration off and create accounts with the API or identityd users create"}}
}

// validateLogin keeps the lockout beyond the start of the backoff: locking before
// attempts ever slow down would make the backoff settings meaningless.
func validateLogin(c *Config, p provenance) Problems {
	o := p.origins["login_lockout_after"]
	if o.failed || p.origins["login_backoff_after"].failed || c.LoginLockoutAfter == 0 || c.LoginLockoutAfter > c.LoginBackoffAfter {
		return nil
	}
	return Problems{{Key: "login_lockout_after", Source: o.source, Value: strconv.Itoa(c.LoginLockoutAfter),
		Why: "is not more than login_backoff_after (" + strconv.Itoa(c.LoginBackoffAfter) + ")",
		Fix: "use 0 to never lock, or a number above login_backoff_after"}}
}
