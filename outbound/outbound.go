// Package outbound makes the HTTP clients identityd calls other people's servers with —
// webhook receivers, apps' back-channel logout endpoints, clients' JWKS — guarded so that
// a URL someone registered cannot make identityd reach into its own network: every
// address is checked after DNS resolution, at every connection, no proxy dials on our
// behalf, and redirects are not followed.
package outbound

import (
	"crypto/tls"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// nonPublic are the special-purpose ranges (IANA's IPv4 and IPv6 special-purpose address
// registries) that an outbound call must not reach unless private networks are allowed:
// what is not globally routable, and what routes somewhere other than where it says.
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network", 0.0.0.0 included
	netip.MustParsePrefix("10.0.0.0/8"),      // private
	netip.MustParsePrefix("100.64.0.0/10"),   // CGNAT shared space (Alibaba's metadata service too)
	netip.MustParsePrefix("127.0.0.0/8"),     // loopback
	netip.MustParsePrefix("169.254.0.0/16"),  // link-local: the cloud metadata services
	netip.MustParsePrefix("172.16.0.0/12"),   // private
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
	netip.MustParsePrefix("192.88.99.0/24"),  // 6to4 relay anycast
	netip.MustParsePrefix("192.168.0.0/16"),  // private
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	netip.MustParsePrefix("224.0.0.0/4"),     // multicast
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and the broadcast address

	netip.MustParsePrefix("::/96"),          // unspecified, loopback, IPv4-compatible
	netip.MustParsePrefix("64:ff9b::/96"),   // NAT64: reaches any IPv4 address, private ones too
	netip.MustParsePrefix("64:ff9b:1::/48"), // local-use NAT64
	netip.MustParsePrefix("100::/64"),       // discard
	netip.MustParsePrefix("2001::/23"),      // IETF protocol assignments (Teredo among them)
	netip.MustParsePrefix("2001:db8::/32"),  // documentation
	netip.MustParsePrefix("2002::/16"),      // 6to4: embeds an IPv4 address, private ones too
	netip.MustParsePrefix("fc00::/7"),       // unique local
	netip.MustParsePrefix("fe80::/10"),      // link-local
	netip.MustParsePrefix("fec0::/10"),      // site-local (deprecated)
	netip.MustParsePrefix("ff00::/8"),       // multicast
}

// PublicAddr reports whether ip is a globally routable unicast address that an outbound
// call may reach when private networks are not allowed.
func PublicAddr(ip netip.Addr) bool {
	if !ip.IsValid() || ip.Zone() != "" {
		return false
	}
	ip = ip.Unmap() // ::ffff:127.0.0.1 is 127.0.0.1
	for _, p := range nonPublic {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// RefusedHost returns why an outbound call to host would be refused when private
// networks are not allowed, or "": a localhost name, or a literal address that is not
// public. Registration checks it, so that a URL every call to would fail is refused up
// front; a name that resolves to such an address is still refused when dialled.
func RefusedHost(host string) string {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return "must not point at localhost (private networks are not allowed)"
	}
	if ip, err := netip.ParseAddr(host); err == nil && !PublicAddr(ip) {
		return "must not point at a loopback, private, link-local or other non-public address (private networks are not allowed)"
	}
	return ""
}

// NonPublicError is why a dial was refused; its text is what delivery logs show.
type NonPublicError struct{ Addr string }

func (e *NonPublicError) Error() string {
	return "refused to connect to " + e.Addr + ": not a public address, and private networks are not allowed"
}

// dialControl runs after DNS resolution, on the address about to be connected to, so
// that every address a name resolves to — at every attempt, whatever the DNS said when
// the subscription was made — is checked, and a rebinding name cannot slip through.
func dialControl(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &NonPublicError{Addr: address}
	}
	if !PublicAddr(ap.Addr()) {
		return &NonPublicError{Addr: ap.Addr().String()}
	}
	return nil
}

// MaxResponseHeaderBytes bounds a response's headers: a server must not make identityd
// read without end.
const MaxResponseHeaderBytes = 64 << 10

// Config is how an outbound client behaves.
type Config struct {
	// Timeout bounds one call, connection and TLS handshake included.
	Timeout time.Duration
	// AllowPrivateNetworks lets calls reach loopback, private and link-local addresses.
	AllowPrivateNetworks bool
}

// NewClient returns an HTTP client for calls to other people's servers: no proxy (a proxy
// would dial on our behalf, past the address check), no redirects (a 3xx is the server's
// answer; following it would let the server send our request, or the address check,
// somewhere else), bounded headers, and the address check unless private networks are
// allowed.
func NewClient(cfg Config) *http.Client {
	dialer := &net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second}
	if !cfg.AllowPrivateNetworks {
		dialer.Control = dialControl
	}
	transport := &http.Transport{
		Proxy:                  nil,
		DialContext:            dialer.DialContext,
		ForceAttemptHTTP2:      true,
		TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:    cfg.Timeout,
		ResponseHeaderTimeout:  cfg.Timeout,
		MaxIdleConns:           100,
		MaxIdleConnsPerHost:    4,
		IdleConnTimeout:        90 * time.Second,
		MaxResponseHeaderBytes: MaxResponseHeaderBytes,
	}
	return &http.Client{
		Transport:     transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       cfg.Timeout,
	}
}
