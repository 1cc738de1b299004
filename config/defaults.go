package config

import (
	"net"
	"net/netip"
	"net/url"
	"path/filepath"
)

// applyDefaults gives every setting no source set its default, parsed like any other
// value, and records "default" as its origin. It runs in table order, so a default
// derived from another setting (database_url from data_dir, issuer from public_addr)
// sees that setting's final value.
func applyDefaults(c *Config, origins map[string]origin) Problems {
	var ps Problems
	for i := range settings {
		s := &settings[i]
		if _, set := origins[s.key]; set {
			continue
		}
		text, ok := defaultText(s, c, origins)
		if !ok {
			continue // no default: the zero value stands, and validators say if it may not
		}
		rs := s.parse(c, valueInput(s, sourceDefault, text))
		origins[s.key] = origin{source: sourceDefault, failed: len(rs) > 0}
		for _, r := range rs {
			ps = append(ps, problemOf(s, sourceDefault, r))
		}
	}
	return ps
}

// defaultText is the default of s as text, given the settings before it in the table.
// A default derived from a setting that failed is left out: its problem is reported
// already, and a default built from a guess would only add a confusing second one.
func defaultText(s *setting, c *Config, origins map[string]origin) (string, bool) {
	switch s.key {
	case "database_url":
		if origins["data_dir"].failed {
			return "", false
		}
		return "sqlite:" + filepath.Join(c.DataDir, "identityd.db"), true
	case "issuer":
		if !c.Dev || origins["public_addr"].failed {
			return "", false
		}
		return devIssuer(c.PublicAddr)
	case "mail_from":
		if c.Issuer == "" || origins["issuer"].failed {
			return "", false
		}
		return defaultMailFrom(c.Issuer)
	case "log_format":
		if c.Dev {
			return "text", true
		}
	}
	return s.def, s.def != ""
}

// devIssuer is the issuer dev mode derives from the public address. A listener on every
// interface is reachable on loopback, and a browser cannot open http://0.0.0.0 reliably.
func devIssuer(publicAddr string) (string, bool) {
	host, port, err := net.SplitHostPort(publicAddr)
	if err != nil {
		return "", false
	}
	if a, err := netip.ParseAddr(host); host == "" || err == nil && a.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port), true
}

// defaultMailFrom is no-reply at the issuer's host; an issuer on an IP address (dev)
// gets localhost, since an address literal makes a From that mail servers refuse.
func defaultMailFrom(issuer string) (string, bool) {
	u, err := url.Parse(issuer)
	if err != nil || u.Hostname() == "" {
		return "", false
	}
	host := u.Hostname()
	if _, err := netip.ParseAddr(host); err == nil {
		host = "localhost"
	}
	return "no-reply@" + host, true
}
