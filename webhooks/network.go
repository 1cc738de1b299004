package webhooks

import (
	"crypto/tls"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// nonPublic are the special-purpose ranges (IANA's IPv4 and IPv6 special-purpose address
// registries) that a webhook must not reach unless private networks are allowed: what is
// not globally routable, and what routes somewhere other than where it says.
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

// publicAddr reports whether ip is a globally routable unicast address that a webhook
// may reach when private networks are not allowed.
func publicAddr(ip netip.Addr) bool {
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

// nonPublicError is why a dial was refused; its text is what the delivery log shows.
type nonPublicError struct{ addr string }

func (e *nonPublicError) Error() string {
	return "refused to connect to " + e.addr + ": not a public address, and private networks are not allowed for webhooks"
}

// dialControl runs after DNS resolution, on the address about to be connected to, so
// that every address a name resolves to — at every attempt, whatever the DNS said when
// the subscription was made — is checked, and a rebinding name cannot slip through.
func dialControl(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &nonPublicError{addr: address}
	}
	if !publicAddr(ap.Addr()) {
		return &nonPublicError{addr: ap.Addr().String()}
	}
	return nil
}

// maxResponseBytes is how much of a response is read: receivers' answers are not kept,
// and a receiver must not make identityd read without end.
const maxResponseBytes = 64 << 10

// newClient returns the HTTP client deliveries use: no proxy (a proxy would dial on our
// behalf, past the address check), no redirects, bounded headers, and the address check
// unless private networks are allowed.
func newClient(cfg Config) *http.Client {
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
		MaxResponseHeaderBytes: maxResponseBytes,
	}
	return &http.Client{
		Transport: transport,
		// A 3xx is the receiver's answer, and a failure: following it would let a
		// receiver send our signed request, or the address check, somewhere else.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       cfg.Timeout,
	}
}
