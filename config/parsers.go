package config

import (
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// input is one value for one setting as one source gave it, before parsing.
type input struct {
	// source is where it came from, as Problem.Source shows it.
	source string
	// text is the value of a single-value setting, trimmed and never empty.
	text string
	// items are the values of a list setting, each trimmed and never empty.
	items []string
	// broken is set when the source tried to set the value but it could not be read
	// (a wrong YAML kind, an unreadable _FILE, a name set twice). The setting then
	// counts as failed rather than falling back to a lower layer, which would hide the
	// operator's intent behind a second, misleading problem.
	broken *refusal
}

// refusal is why a value was not accepted and what to do instead.
type refusal struct {
	value    string // the offending text or list item; empty when there is none
	why, fix string
}

// parseFunc turns one input into a typed Config field, or says why it cannot. Every
// source goes through the same parseFunc, so a bad value reads the same from all of them.
type parseFunc func(c *Config, in input) []refusal

// scalar adapts a parser of one value into a parseFunc.
func scalar[T any](parse func(string) (T, *refusal), set func(*Config, T)) parseFunc {
	return func(c *Config, in input) []refusal {
		v, r := parse(in.text)
		if r != nil {
			r.value = in.text
			return []refusal{*r}
		}
		set(c, v)
		return nil
	}
}

// list adapts a parser of one item into a parseFunc for a list setting. It reports
// every bad item, and sets the field only when all are good.
func list[T any](parse func(string) (T, *refusal), set func(*Config, []T)) parseFunc {
	return func(c *Config, in input) []refusal {
		var out []T
		var rs []refusal
		for _, item := range in.items {
			v, r := parse(item)
			if r != nil {
				r.value = item
				rs = append(rs, *r)
				continue
			}
			out = append(out, v)
		}
		if len(rs) > 0 {
			return rs
		}
		set(c, out)
		return nil
	}
}

func refuse(why, fix string) *refusal { return &refusal{why: why, fix: fix} }

// textValue accepts any text; rules that involve other settings or dev mode (the
// issuer's) are checked in validate.go.
func textValue(set func(*Config, string)) parseFunc {
	return scalar(func(s string) (string, *refusal) { return s, nil }, set)
}

func pathValue(set func(*Config, string)) parseFunc {
	return scalar(func(s string) (string, *refusal) {
		// The OS would refuse it later with a far vaguer error.
		if strings.ContainsRune(s, 0) {
			return "", refuse("contains a NUL character", "remove it")
		}
		return s, nil
	}, set)
}

func databaseURLValue(set func(*Config, string)) parseFunc {
	const fix = "use sqlite:PATH or postgres://user:password@host:5432/dbname"
	return scalar(func(s string) (string, *refusal) {
		switch {
		case strings.HasPrefix(s, "sqlite:"):
			if strings.TrimPrefix(s, "sqlite:") == "" {
				return "", refuse("names no SQLite file", fix)
			}
		case strings.HasPrefix(s, "postgres://"), strings.HasPrefix(s, "postgresql://"):
			// The parser's error would quote the URL, password and all, so it is not shown.
			if _, err := url.Parse(s); err != nil {
				return "", refuse("is not a valid URL", fix)
			}
		default:
			return "", refuse("must start with sqlite:, postgres:// or postgresql://", fix)
		}
		return s, nil
	}, set)
}

// durationValue accepts Go durations from min to max; with minExclusive, min itself is
// refused (timeouts where 0 would mean "no timeout at all").
func durationValue(min time.Duration, minExclusive bool, max time.Duration, set func(*Config, time.Duration)) parseFunc {
	rangeFix := fmt.Sprintf("use a duration from %s to %s", fmtDuration(min), fmtDuration(max))
	if minExclusive {
		rangeFix = fmt.Sprintf("use a duration above %s and at most %s", fmtDuration(min), fmtDuration(max))
	}
	return scalar(func(s string) (time.Duration, *refusal) {
		d, err := time.ParseDuration(s)
		if err != nil {
			if _, numErr := strconv.ParseFloat(s, 64); numErr == nil {
				return 0, refuse("has no unit", "add one, e.g. 30s, 5m or 1h")
			}
			return 0, refuse("not a duration", "use a number with a unit (ms, s, m, h), e.g. 30s")
		}
		switch {
		case minExclusive && d <= min:
			return 0, refuse("must be more than "+fmtDuration(min), rangeFix)
		case d < min:
			return 0, refuse("below the minimum of "+fmtDuration(min), rangeFix)
		case d > max:
			return 0, refuse("above the maximum of "+fmtDuration(max), rangeFix)
		}
		return d, nil
	}, set)
}

// fmtDuration writes d the way a person would type it: 1h rather than 1h0m0s.
func fmtDuration(d time.Duration) string {
	if d == 0 {
		return "0"
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func intValue(min, max int, set func(*Config, int)) parseFunc {
	fix := fmt.Sprintf("use a whole number from %d to %d", min, max)
	return scalar(func(s string) (int, *refusal) {
		n, err := strconv.Atoi(s)
		switch {
		case err != nil && strings.HasPrefix(s, "-") && isDigits(s[1:]):
			return 0, refuse(fmt.Sprintf("below the minimum of %d", min), fix)
		case err != nil && isDigits(strings.TrimPrefix(s, "+")):
			return 0, refuse(fmt.Sprintf("above the maximum of %d", max), fix)
		case err != nil:
			return 0, refuse("not a whole number", fix)
		case n < min:
			return 0, refuse(fmt.Sprintf("below the minimum of %d", min), fix)
		case n > max:
			return 0, refuse(fmt.Sprintf("above the maximum of %d", max), fix)
		}
		return n, nil
	}, set)
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// boolValue accepts true and false in any case and nothing else: YAML 1.1's yes/no/on/off
// are not booleans in YAML 1.2, and guessing would make env and file disagree.
func boolValue(set func(*Config, bool)) parseFunc {
	return scalar(func(s string) (bool, *refusal) {
		switch {
		case strings.EqualFold(s, "true"):
			return true, nil
		case strings.EqualFold(s, "false"):
			return false, nil
		}
		return false, refuse("not true or false", "use true or false")
	}, set)
}

func addrValue(set func(*Config, string)) parseFunc {
	const fix = "use host:port, e.g. 127.0.0.1:8080, or :8080 for every interface"
	return scalar(func(s string) (string, *refusal) {
		host, port, err := net.SplitHostPort(s)
		if err != nil {
			return "", refuse("not host:port", fix)
		}
		// Port 0 would pick a random port that nothing, the issuer included, could name.
		if _, ok := portNumber(port); !ok {
			return "", refuse("port must be a number from 1 to 65535", fix)
		}
		if host != "" && !validHost(host) {
			return "", refuse("host is not an IP address or host name", fix)
		}
		return s, nil
	}, set)
}

// portNumber parses a TCP port from 1 to 65535 written in plain digits.
func portNumber(s string) (int, bool) {
	if !isDigits(s) || len(s) > 5 {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil && n >= 1 && n <= 65535
}

// validHost accepts an IP address or a host name made of letters, digits, hyphens and
// underscores (container names have them) in dot-separated labels.
func validHost(h string) bool {
	if _, err := netip.ParseAddr(h); err == nil {
		return true
	}
	if len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return false
			}
		}
	}
	return true
}

func logLevelValue(set func(*Config, slog.Level)) parseFunc {
	return scalar(func(s string) (slog.Level, *refusal) {
		// Not slog.Level.UnmarshalText: it also takes offsets like "INFO+2", which would
		// be one more thing to document for no operator's benefit.
		switch strings.ToLower(s) {
		case "debug":
			return slog.LevelDebug, nil
		case "info":
			return slog.LevelInfo, nil
		case "warn":
			return slog.LevelWarn, nil
		case "error":
			return slog.LevelError, nil
		}
		return 0, refuse("not a log level", "use debug, info, warn or error")
	}, set)
}

func logFormatValue(set func(*Config, string)) parseFunc {
	return choiceValue("a log format", []string{"json", "text"}, set)
}

// choiceValue accepts one of choices, in any case, and sets it as spelt there; what
// names the kind of value in the refusal.
func choiceValue(what string, choices []string, set func(*Config, string)) parseFunc {
	return scalar(func(s string) (string, *refusal) {
		for _, c := range choices {
			if strings.EqualFold(s, c) {
				return c, nil
			}
		}
		last := len(choices) - 1
		return "", refuse("not "+what, "use "+strings.Join(choices[:last], ", ")+" or "+choices[last])
	}, set)
}

// sizeUnit is the multiplier of a size unit, matched in any case; no unit means bytes.
func sizeUnit(u string) (int64, bool) {
	switch strings.ToLower(u) {
	case "", "b":
		return 1, true
	case "kib":
		return 1 << 10, true
	case "mib":
		return 1 << 20, true
	case "gib":
		return 1 << 30, true
	case "kb":
		return 1000, true
	case "mb":
		return 1000 * 1000, true
	case "gb":
		return 1000 * 1000 * 1000, true
	}
	return 0, false
}

func sizeValue(min, max int64, set func(*Config, int64)) parseFunc {
	rangeFix := fmt.Sprintf("use a size from %s to %s", fmtSize(min), fmtSize(max))
	return scalar(func(s string) (int64, *refusal) {
		digits := strings.TrimRight(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
		mult, known := sizeUnit(s[len(digits):])
		digits = strings.TrimSpace(digits)
		if !known || !isDigits(digits) {
			return 0, refuse("not a size", "use bytes or a whole number with a unit (KiB, MiB, GiB, KB, MB, GB), e.g. 1MiB")
		}
		n, err := strconv.ParseInt(digits, 10, 64)
		// Comparing before multiplying keeps huge values from overflowing into small ones.
		if err != nil || n > max/mult {
			return 0, refuse("above the maximum of "+fmtSize(max), rangeFix)
		}
		if n*mult < min {
			return 0, refuse("below the minimum of "+fmtSize(min), rangeFix)
		}
		return n * mult, nil
	}, set)
}

// fmtSize writes n bytes in the largest binary unit that divides it.
func fmtSize(n int64) string {
	switch {
	case n != 0 && n%(1<<30) == 0:
		return strconv.FormatInt(n>>30, 10) + "GiB"
	case n != 0 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + "MiB"
	case n != 0 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + "KiB"
	}
	return strconv.FormatInt(n, 10)
}

func originsValue(set func(*Config, []string)) parseFunc {
	return list(parseOrigin, set)
}

// parseOrigin accepts exactly scheme://host[:port] and returns it the way browsers send
// it in the Origin header (lower case, default port dropped), so a plain string compare
// at request time matches what the operator meant.
func parseOrigin(s string) (string, *refusal) {
	const fix = "list each origin as scheme://host[:port], e.g. https://app.example.com"
	if s == "*" {
		return "", refuse("a wildcard would let every website call identityd from its visitors' browsers",
			"list the origins, e.g. https://app.example.com")
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", refuse("not an origin", fix)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", refuse("scheme must be http or https", fix)
	}
	host := strings.ToLower(u.Hostname())
	if host == "" {
		return "", refuse("has no host", fix)
	}
	if !validHost(host) {
		return "", refuse("host is not an IP address or host name", fix)
	}
	port := u.Port()
	if port != "" {
		if _, ok := portNumber(port); !ok {
			return "", refuse("port must be a number from 1 to 65535", fix)
		}
	}
	if u.Scheme == "https" && port == "443" || u.Scheme == "http" && port == "80" {
		port = ""
	}
	origin := u.Scheme + "://" + host
	if strings.Contains(host, ":") {
		origin = u.Scheme + "://[" + host + "]"
	}
	if port != "" {
		origin += ":" + port
	}
	if u.User != nil {
		return "", refuse("must not contain user info", "use "+origin)
	}
	if u.Path != "" || u.RawQuery != "" || u.ForceQuery || strings.Contains(s, "#") {
		return "", refuse("must be only scheme://host[:port], without path, query or fragment", "use "+origin)
	}
	return origin, nil
}

func proxiesValue(set func(*Config, []netip.Prefix)) parseFunc {
	return list(parseProxy, set)
}

// parseProxy accepts an IP (trusted alone) or a CIDR.
func parseProxy(s string) (netip.Prefix, *refusal) {
	const fix = "use an address such as 10.0.0.1 or a range such as 10.0.0.0/8"
	var p netip.Prefix
	if strings.Contains(s, "/") {
		var err error
		if p, err = netip.ParsePrefix(s); err != nil {
			return p, refuse("not an IP address or CIDR", fix)
		}
		// 10.0.0.1/8 could mean the one proxy or the whole range; trusting the wrong one
		// lets clients forge their address, so ask rather than guess.
		if m := p.Masked(); m != p {
			return p, refuse(fmt.Sprintf("has bits set beyond the /%d prefix", p.Bits()),
				fmt.Sprintf("use %s for the range, or %s for the one address", m, p.Addr()))
		}
	} else {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return p, refuse("not an IP address or CIDR", fix)
		}
		if a.Zone() != "" {
			return p, refuse("has an IPv6 zone", "use the address without %"+a.Zone())
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if p.Bits() == 0 {
		return p, refuse("trusts every address, so any client could forge X-Forwarded-For",
			"list only the addresses of your proxies")
	}
	return p, nil
}

// keyFix is how to get a good encryption key.
const keyFix = "generate a key with `openssl rand -base64 32`"

// encryptionKeysValue decodes every key. Its messages number the keys instead of
// showing them, since the value is secret.
func encryptionKeysValue(set func(*Config, [][]byte)) parseFunc {
	return func(c *Config, in input) []refusal {
		var keys [][]byte
		var rs []refusal
		for i, item := range in.items {
			// Strict: one key has exactly one spelling, so "distinct" means distinct.
			k, err := base64.StdEncoding.Strict().DecodeString(item)
			switch {
			case err != nil:
				rs = append(rs, refusal{value: item, why: fmt.Sprintf("key %d of %d is not standard base64", i+1, len(in.items)), fix: keyFix})
			case len(k) != 32:
				rs = append(rs, refusal{value: item, why: fmt.Sprintf("key %d of %d is %d bytes, not 32", i+1, len(in.items), len(k)), fix: keyFix})
			default:
				keys = append(keys, k)
			}
		}
		if len(rs) > 0 {
			return rs
		}
		set(c, keys)
		return nil
	}
}
