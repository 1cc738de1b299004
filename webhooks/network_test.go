package webhooks

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/identityd/identityd/keyring"
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
		var np *nonPublicError
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

func TestRetryDelayDoublesFromTheBaseUpToAnHourWithTenPercentJitter(t *testing.T) {
	base := 10 * time.Second
	for attempt := 1; attempt <= 40; attempt++ {
		want := maxRetryDelay
		if attempt <= 9 { // 10s·2^8 = 2560s, below an hour; 2^9 is above
			want = base << (attempt - 1)
		}
		for range 20 {
			got := retryDelay(base, attempt)
			if got < want*9/10 || got > want*11/10 {
				t.Fatalf("attempt %d: delay %v, want %v ±10%%", attempt, got, want)
			}
		}
	}
	seen := map[time.Duration]bool{}
	for range 20 {
		seen[retryDelay(base, 3)] = true
	}
	if len(seen) < 2 {
		t.Error("retry delays carry no jitter")
	}
}

func TestAnAttemptReadsAtMost64KiBOfTheAnswer(t *testing.T) {
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(done)
		w.WriteHeader(http.StatusOK)
		chunk := bytes.Repeat([]byte("x"), 32<<10)
		for {
			_, err := w.Write(chunk)
			if err != nil {
				return
			}
			w.(http.Flusher).Flush()
		}
	}))
	defer srv.Close()
	kr, err := keyring.New([][]byte{bytes.Repeat([]byte{7}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	s := New(nil, kr, nil, Config{AllowPrivateNetworks: true, Timeout: 10 * time.Second}, time.Now)
	enc, err := kr.Encrypt([]byte(newSecret()), secretAAD("sub"))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	code, failure := s.attempt(context.Background(), "dlv", "sub", srv.URL, enc, []byte(`{}`))
	if failure != "" || code == nil || *code != http.StatusOK {
		t.Fatalf("attempt = %v, %q", code, failure)
	}
	// An endless answer would keep a reader busy until the 10s timeout.
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("attempt took %v reading an endless answer", took)
	}
	<-done
}

func TestFailureReasonsAreShortAndLeaveTheURLOut(t *testing.T) {
	s := New(nil, nil, nil, Config{Timeout: time.Second}, time.Now)
	secretURL := "https://hooks.example.com/T0KEN-in-path?key=SECRETVALUE"
	err := &url.Error{Op: "Post", URL: secretURL, Err: errors.New("dial tcp 203.0.113.9:443: connect: connection refused")}
	got := s.describe(err)
	if strings.Contains(got, "T0KEN") || strings.Contains(got, "SECRETVALUE") || !strings.Contains(got, "connection refused") {
		t.Errorf("describe = %q", got)
	}
	timeout := &url.Error{Op: "Post", URL: secretURL, Err: context.DeadlineExceeded}
	if got := s.describe(timeout); got != "timed out after 1s" {
		t.Errorf("describe(timeout) = %q", got)
	}
	long := &url.Error{Op: "Post", URL: secretURL, Err: errors.New(strings.Repeat("e", 5000))}
	if got := s.describe(long); len(got) > maxErrorLength+len("…") {
		t.Errorf("describe of a long error is %d bytes", len(got))
	}
}
