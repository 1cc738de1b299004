package outbound

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestDialControlRefusesNonPublicAddressesAndAllowsPublicOnes(t *testing.T) {
	refused := []string{
		"127.0.0.1", "127.8.9.10", "10.0.0.1", "10.255.1.2", "172.16.0.1", "172.31.255.254", "192.168.1.1",
		"169.254.169.254", "169.254.0.1", "100.64.0.1", "100.100.100.200", "0.0.0.0", "0.1.2.3",
		"255.255.255.255", "224.0.0.1", "198.18.0.1", "192.0.0.192",
		"::1", "::", "fc00::1", "fd00:ec2::254", "fe80::1", "ff02::1",
		"::ffff:127.0.0.1", "::ffff:169.254.169.254", "::ffff:10.0.0.1",
		"64:ff9b::a00:1", "2002:7f00:1::1", "2001:db8::1",
	}
	allowed := []string{"93.184.216.34", "8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "2606:4700:4700::1111", "2a00:1450:4001::200e"}
	for _, a := range refused {
		addr := netip.AddrPortFrom(netip.MustParseAddr(a), 443).String()
		err := dialControl("tcp", addr, nil)
		var np *NonPublicError
		if !errors.As(err, &np) || !strings.Contains(err.Error(), "not a public address") {
			t.Errorf("dial %s: %v, want refused as non-public", addr, err)
		}
	}
	for _, a := range allowed {
		addr := netip.AddrPortFrom(netip.MustParseAddr(a), 443).String()
		if err := dialControl("tcp", addr, nil); err != nil {
			t.Errorf("dial %s: %v, want allowed", addr, err)
		}
	}
	if err := dialControl("tcp", "[fe80::1%eth0]:443", nil); err == nil {
		t.Error("a zoned link-local address was allowed")
	}
	if err := dialControl("tcp", "not-an-address", nil); err == nil {
		t.Error("an unparsable address was allowed")
	}
}
