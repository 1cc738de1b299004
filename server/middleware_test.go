package server

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/identityd/identityd/redact"
	"github.com/identityd/identityd/requestinfo"
)

// testChain builds the middleware around mux with a logger writing JSON to logs.
func testChain(t testing.TB, logs io.Writer, mux *http.ServeMux, adjust func(*chainConfig)) http.Handler {
	t.Helper()
	cfg := chainConfig{
		listener:  "public",
		logger:    slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug, ReplaceAttr: redact.ReplaceAttr})),
		metrics:   newHTTPMetrics(prometheus.NewRegistry()),
		bodyLimit: 1 << 20,
	}
	if adjust != nil {
		adjust(&cfg)
	}
	return chain(cfg, mux)
}

func do(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func decodeProblem(t *testing.T, w *httptest.ResponseRecorder) problem {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type = %q, want application/problem+json (body %q)", ct, w.Body)
	}
	var p problem
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
		t.Fatalf("problem body %q: %v", w.Body, err)
	}
	if p.Status != w.Code || p.Title == "" {
		t.Fatalf("problem %+v does not match status %d", p, w.Code)
	}
	return p
}

func TestRequestIDIsKeptWhenWellFormedAndMadeOtherwise(t *testing.T) {
	mux := http.NewServeMux()
	var seen string
	mux.HandleFunc("GET /x", func(w http.ResponseWriter, r *http.Request) { seen = requestinfo.From(r.Context()).ID })
	h := testChain(t, io.Discard, mux, nil)
	cases := []struct {
		incoming string
		kept     bool
	}{
		{"abc-123_X.y:z", true},
		{strings.Repeat("a", maxRequestIDLength), true},
		{"", false},
		{strings.Repeat("a", maxRequestIDLength+1), false},
		{"has space", false},
		{"line\nbreak", false},
		{"<script>", false},
	}
	for _, c := range cases {
		r := httptest.NewRequest("GET", "/x", nil)
		if c.incoming != "" {
			r.Header["X-Request-Id"] = []string{c.incoming}
		}
		w := do(h, r)
		got := w.Header().Get("X-Request-Id")
		if got != seen {
			t.Errorf("echoed id %q differs from the request's %q", got, seen)
		}
		if c.kept != (got == c.incoming) {
			t.Errorf("incoming %q: response id %q, kept = %v, want %v", c.incoming, got, got == c.incoming, c.kept)
		}
		if !validRequestID(got) {
			t.Errorf("made id %q is not itself a valid id", got)
		}
	}
}

func TestPanicBecomesA500ProblemWithNoInternalsAndIsLoggedWithItsStack(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /boom", func(http.ResponseWriter, *http.Request) { panic("secret internal detail") })
	var logs bytes.Buffer
	h := testChain(t, &logs, mux, nil)
	w := do(h, httptest.NewRequest("GET", "/boom", nil))
	if w.Code != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", w.Code)
	}
	decodeProblem(t, w)
	if strings.Contains(w.Body.String(), "secret internal detail") || strings.Contains(w.Body.String(), "goroutine") {
		t.Fatalf("500 body leaks internals: %s", w.Body)
	}
	id := w.Header().Get("X-Request-Id")
	if !strings.Contains(logs.String(), "secret internal detail") || !strings.Contains(logs.String(), "middleware_test.go") ||
		!strings.Contains(logs.String(), `"request_id":"`+id+`"`) {
		t.Fatalf("panic log lacks the panic, its stack or the request id %s:\n%s", id, logs.String())
	}
	if w.Header().Get("Content-Security-Policy") == "" {
		t.Error("500 after a panic lost the security headers")
	}
}

func TestAbortHandlerPanicIsLeftToNetHTTP(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /abort", func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) })
	h := testChain(t, io.Discard, mux, nil)
	defer func() {
		if p := recover(); p != http.ErrAbortHandler { //nolint:errorlint // sentinel panic value
			t.Fatalf("recovered %v, want http.ErrAbortHandler re-panicked", p)
		}
	}()
	do(h, httptest.NewRequest("GET", "/abort", nil))
}

func TestEveryResponseCarriesTheSecurityHeaders(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ok", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	for _, hsts := range []bool{false, true} {
		h := testChain(t, io.Discard, mux, func(c *chainConfig) { c.hsts = hsts })
		for _, path := range []string{"/ok", "/missing"} {
			w := do(h, httptest.NewRequest("GET", path, nil))
			want := map[string]string{
				"Content-Security-Policy": contentSecurityPolicy,
				"X-Content-Type-Options":  "nosniff",
				"Referrer-Policy":         "no-referrer",
				"X-Frame-Options":         "DENY",
			}
			for k, v := range want {
				if got := w.Header().Get(k); got != v {
					t.Errorf("hsts=%v %s: %s = %q, want %q", hsts, path, k, got, v)
				}
			}
			if !strings.Contains(contentSecurityPolicy, "default-src 'self'") || !strings.Contains(contentSecurityPolicy, "frame-ancestors 'none'") {
				t.Errorf("CSP %q lacks default-src 'self' or frame-ancestors 'none'", contentSecurityPolicy)
			}
			if got := w.Header().Get("Strict-Transport-Security"); (got != "") != hsts {
				t.Errorf("hsts=%v %s: Strict-Transport-Security = %q", hsts, path, got)
			}
		}
	}
}

func TestUnknownPathsAndMethodsAreProblems(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /thing", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("thing")) })
	mux.HandleFunc("GET /gone", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "handler's own 404", http.StatusNotFound) })
	h := testChain(t, io.Discard, mux, nil)

	w := do(h, httptest.NewRequest("GET", "/nothing/here", nil))
	if w.Code != http.StatusNotFound {
		t.Fatalf("unknown path: %d", w.Code)
	}
	decodeProblem(t, w)

	w = do(h, httptest.NewRequest("DELETE", "/thing", nil))
	if w.Code != http.StatusMethodNotAllowed || !strings.Contains(w.Header().Get("Allow"), "GET") {
		t.Fatalf("wrong method: %d, Allow %q", w.Code, w.Header().Get("Allow"))
	}
	decodeProblem(t, w)

	// A matched handler's own 404 is its business, not rewritten.
	w = do(h, httptest.NewRequest("GET", "/gone", nil))
	if w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), "handler's own 404") {
		t.Fatalf("handler 404 was rewritten: %d %q", w.Code, w.Body)
	}
}

func TestBodiesOverTheLimitAreRefusedWith413(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /upload", func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			if IsBodyTooLarge(err) {
				writeProblem(w, http.StatusRequestEntityTooLarge, "too large")
				return
			}
			t.Errorf("read: %v", err)
		}
		w.WriteHeader(http.StatusNoContent)
	})
	h := testChain(t, io.Discard, mux, func(c *chainConfig) { c.bodyLimit = 100 })

	w := do(h, httptest.NewRequest("POST", "/upload", strings.NewReader(strings.Repeat("x", 101))))
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("declared oversized body: %d", w.Code)
	}
	decodeProblem(t, w)

	// Without a Content-Length (chunked), the limit holds while reading.
	r := httptest.NewRequest("POST", "/upload", io.MultiReader(strings.NewReader(strings.Repeat("x", 101))))
	r.ContentLength = -1
	w = do(h, r)
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("streamed oversized body: %d", w.Code)
	}

	w = do(h, httptest.NewRequest("POST", "/upload", strings.NewReader(strings.Repeat("x", 100))))
	if w.Code != http.StatusNoContent {
		t.Fatalf("body at the limit: %d", w.Code)
	}
}

func TestCORSAnswersOnlyConfiguredOrigins(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("{}")) })
	h := testChain(t, io.Discard, mux, func(c *chainConfig) { c.corsOrigins = []string{"https://app.example.com"} })

	pre := httptest.NewRequest("OPTIONS", "/api", nil)
	pre.Header.Set("Origin", "https://app.example.com")
	pre.Header.Set("Access-Control-Request-Method", "GET")
	w := do(h, pre)
	if w.Code != http.StatusNoContent || w.Header().Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
		!strings.Contains(w.Header().Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Fatalf("preflight from an allowed origin: %d %v", w.Code, w.Header())
	}
	if w.Header().Get("Access-Control-Allow-Credentials") != "" {
		t.Error("credentials allowed cross-origin")
	}

	r := httptest.NewRequest("GET", "/api", nil)
	r.Header.Set("Origin", "https://evil.example")
	w = do(h, r)
	if got := w.Header().Get("Access-Control-Allow-Origin"); got != "" {
		t.Fatalf("disallowed origin got Access-Control-Allow-Origin %q", got)
	}
	if !strings.Contains(strings.Join(w.Header().Values("Vary"), ","), "Origin") {
		t.Error("responses that depend on Origin lack Vary: Origin")
	}

	// With no origins configured, CORS is off entirely.
	off := testChain(t, io.Discard, mux, nil)
	r.Header.Set("Origin", "https://app.example.com")
	if got := do(off, r).Header().Get("Access-Control-Allow-Origin"); got != "" {
		t.Fatalf("CORS off but answered %q", got)
	}
}

func TestRateLimitIsPerClientAddressAndAnswers429(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /x", func(w http.ResponseWriter, _ *http.Request) {})
	h := testChain(t, io.Discard, mux, func(c *chainConfig) {
		c.rateRequests, c.rateWindow = 3, time.Minute
		c.trustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	})
	from := func(remote, xff string) int {
		r := httptest.NewRequest("GET", "/x", nil)
		r.RemoteAddr = remote
		if xff != "" {
			r.Header.Set("X-Forwarded-For", xff)
		}
		w := do(h, r)
		if w.Code == http.StatusTooManyRequests {
			decodeProblem(t, w)
			if w.Header().Get("Retry-After") == "" {
				t.Error("429 without Retry-After")
			}
		}
		return w.Code
	}
	for i := range 3 {
		if code := from("192.0.2.1:1234", ""); code != 200 {
			t.Fatalf("request %d: %d", i+1, code)
		}
	}
	if code := from("192.0.2.1:1234", ""); code != http.StatusTooManyRequests {
		t.Fatalf("4th request: %d, want 429", code)
	}
	// A client cannot escape its limit by claiming another address…
	if code := from("192.0.2.1:1234", "198.51.100.7"); code != http.StatusTooManyRequests {
		t.Fatalf("forged X-Forwarded-For from an untrusted peer escaped the limit: %d", code)
	}
	// …but clients behind a trusted proxy are counted apart.
	if code := from("10.1.2.3:5555", "198.51.100.7"); code != 200 {
		t.Fatalf("client behind a trusted proxy: %d", code)
	}
	if code := from("192.0.2.2:1234", ""); code != 200 {
		t.Fatalf("another client: %d", code)
	}
}

func TestClientIPBelievesForwardedForOnlyFromTrustedProxies(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	cases := []struct {
		remote string
		xff    []string
		want   string
	}{
		{"192.0.2.1:1", nil, "192.0.2.1"},
		{"192.0.2.1:1", []string{"203.0.113.9"}, "192.0.2.1"},                            // untrusted peer: header ignored
		{"10.0.0.5:1", []string{"203.0.113.9"}, "203.0.113.9"},                           // one trusted hop
		{"10.0.0.5:1", []string{"203.0.113.9, 10.0.0.7"}, "203.0.113.9"},                 // two trusted hops
		{"10.0.0.5:1", []string{"6.6.6.6, 203.0.113.9"}, "203.0.113.9"},                  // spoofed leftmost entry ignored
		{"10.0.0.5:1", []string{"6.6.6.6", "203.0.113.9"}, "203.0.113.9"},                // several header lines
		{"10.0.0.5:1", []string{"garbage, 203.0.113.9"}, "203.0.113.9"},                  // garbage left of the client
		{"10.0.0.5:1", []string{"203.0.113.9, garbage"}, "10.0.0.5"},                     // garbage in the trusted chain
		{"10.0.0.5:1", []string{"10.0.0.8, 10.0.0.9"}, "10.0.0.8"},                       // all trusted: the farthest
		{"[fd00::1]:1", []string{"2001:db8::7"}, "2001:db8::7"},                          // IPv6
		{"[::ffff:10.0.0.5]:1", []string{"203.0.113.9"}, "203.0.113.9"},                  // v4-mapped peer
		{"not-an-address", []string{"203.0.113.9"}, "invalid IP"},                        // unparsable peer
		{"10.0.0.5:1", []string{"[2001:db8::7]:443"}, "10.0.0.5"},                        // ports are not addresses
		{"10.0.0.5:1", []string{strings.Repeat("5.6.7.8,", 200) + "1.2.3.4"}, "1.2.3.4"}, // long headers are fine
		{"10.0.0.5:1", []string{"203.0.113.9,"}, "10.0.0.5"},                             // empty entry in the chain
	}
	for _, c := range cases {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.remote
		for _, v := range c.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := clientIP(r, trusted).String(); got != c.want {
			t.Errorf("remote %s, X-Forwarded-For %q: %s, want %s", c.remote, c.xff, got, c.want)
		}
	}
}

func TestAccessLogRecordsRequestsWithoutSecrets(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /cb", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	var logs bytes.Buffer
	h := testChain(t, &logs, mux, nil)
	r := httptest.NewRequest("GET", "/cb?code=SECRETCODE&state=visible-state&access_token=SECRETTOKEN&password=SECRETPW", nil)
	r.Header.Set("Authorization", "Bearer SECRETBEARER")
	r.Header.Set("Cookie", "session=SECRETCOOKIE")
	r.Header.Set("User-Agent", "test-agent/1.0")
	w := do(h, r)

	var line map[string]any
	if err := json.Unmarshal(logs.Bytes(), &line); err != nil {
		t.Fatalf("access log is not one JSON line: %v\n%s", err, logs.String())
	}
	for _, secret := range []string{"SECRETCODE", "SECRETTOKEN", "SECRETPW", "SECRETBEARER", "SECRETCOOKIE"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("access log contains %s:\n%s", secret, logs.String())
		}
	}
	want := map[string]any{
		"msg": "request", "method": "GET", "route": "GET /cb", "status": float64(418), "listener": "public",
		"user_agent": "test-agent/1.0", "request_id": w.Header().Get("X-Request-Id"), "client_ip": "192.0.2.1",
	}
	for k, v := range want {
		if line[k] != v {
			t.Errorf("log %s = %v, want %v", k, line[k], v)
		}
	}
	if uri, _ := line["uri"].(string); !strings.Contains(uri, "state=visible-state") || !strings.Contains(uri, "code="+redact.Redacted) {
		t.Errorf("uri %q: want other parameters kept and the code redacted", uri)
	}
}

func TestProbesLogAtDebugAndFailuresAtError(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", healthz)
	mux.HandleFunc("GET /fail", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadGateway) })
	var logs bytes.Buffer
	h := testChain(t, &logs, mux, nil)
	do(h, httptest.NewRequest("GET", "/healthz", nil))
	do(h, httptest.NewRequest("GET", "/fail", nil))
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"level":"DEBUG"`) || !strings.Contains(lines[1], `"level":"ERROR"`) {
		t.Fatalf("log levels:\n%s", logs.String())
	}
}
