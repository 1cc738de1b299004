package webhooks

import (
	"github.com/identityd/identityd/outbound"
	"net/netip"
	"net/url"
	"strings"
	"testing"
)

// FuzzValidateURL checks that no input panics the validator, and that whatever it
// accepts is an absolute http(s) URL with a host, no user info and no fragment, within
// the length limit — and, when private networks are not allowed, no literal non-public
// address or localhost.
func FuzzValidateURL(f *testing.F) {
	for _, s := range []string{
		"https://hooks.example.com/x", "http://127.0.0.1:80/", "http://[::1]/", "http://[fe80::1%25eth0]/",
		"ftp://x/", "/relative", "https://u:p@h/", "https://h/#f", "http://h:0/", "http://h:65536/",
		"http://LOCALHOST./", "http://[::ffff:10.0.0.1]/", "https:opaque", "http://%41/", "http://h/\x00",
		"HTTP://h/", "http://:80/", "http://[::]:80/", "http://0x7f.1/", "https://h/?q=a#",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, raw string, allowPrivate bool) {
		err := validateURL(raw, allowPrivate)
		if err == nil && !allowPrivate && validateURL(raw, true) != nil {
			t.Fatalf("%q: accepted strictly but refused with private networks allowed", raw)
		}
		if err != nil {
			if _, ok := err.(*ValidationError); !ok {
				t.Fatalf("%q: error %T, want *ValidationError", raw, err)
			}
			return
		}
		u, perr := url.Parse(raw)
		switch {
		case perr != nil:
			t.Fatalf("%q accepted but does not parse: %v", raw, perr)
		case len(raw) > MaxURLLength:
			t.Fatalf("%q accepted at %d bytes", raw, len(raw))
		case u.Scheme != "http" && u.Scheme != "https":
			t.Fatalf("%q accepted with scheme %q", raw, u.Scheme)
		case u.Hostname() == "" || u.User != nil || strings.Contains(raw, "#") || u.Opaque != "":
			t.Fatalf("%q accepted: %#v", raw, u)
		}
		if !allowPrivate {
			host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
			if ip, err := netip.ParseAddr(host); err == nil && !outbound.PublicAddr(ip) {
				t.Fatalf("%q accepted with the non-public address %s", raw, ip)
			}
			if host == "localhost" || strings.HasSuffix(host, ".localhost") {
				t.Fatalf("%q accepted with a localhost name", raw)
			}
		}
	})
}
