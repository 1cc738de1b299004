package server

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// clientIP finds the address of the client that sent r. X-Forwarded-For is believed only
// when the connection comes from a trusted proxy, and then only as far back as the chain
// of trusted proxies goes: the rightmost address that is not a trusted proxy is the
// client. Anything else would let a client choose the address its requests are rate
// limited and audited under.
func clientIP(r *http.Request, trusted []netip.Prefix) netip.Addr {
	peer := remoteAddr(r)
	if !peer.IsValid() || !isTrusted(peer, trusted) {
		return peer
	}
	hops := r.Header.Values("X-Forwarded-For")
	var addrs []string
	for _, h := range hops {
		addrs = append(addrs, strings.Split(h, ",")...)
	}
	for i := len(addrs) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(addrs[i]))
		if err != nil {
			// A malformed entry ends the chain we can trust.
			return peer
		}
		a = a.Unmap()
		if !isTrusted(a, trusted) {
			return a
		}
		peer = a
	}
	return peer
}

func remoteAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
