package webhooks

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/identityd/identityd/keyring"
)

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
