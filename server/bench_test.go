package server

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/identityd/identityd/redact"
)

// discardWriter is a ResponseWriter that costs next to nothing, so the benchmarks measure
// the handlers rather than a recorder.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}

func benchMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/thing", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	})
	return mux
}

func benchRequest() *http.Request {
	r := httptest.NewRequest("GET", "/v1/thing?state=abc&code=xyz", nil)
	r.RemoteAddr = "192.0.2.10:51234"
	r.Header.Set("User-Agent", "bench/1.0")
	return r
}

func runBench(b *testing.B, h http.Handler) {
	r := benchRequest()
	w := &discardWriter{h: make(http.Header)}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, r)
	}
}

// BenchmarkRequestWithoutMiddleware is the router and handler alone: the baseline.
func BenchmarkRequestWithoutMiddleware(b *testing.B) {
	runBench(b, benchMux())
}

// benchChain is the production chain around benchMux, logging at level: Info writes the
// access line (to io.Discard), Error skips it.
func benchChain(level slog.Level) http.Handler {
	return chain(chainConfig{
		listener: "public",
		logger: slog.New(slog.NewJSONHandler(io.Discard,
			&slog.HandlerOptions{Level: level, ReplaceAttr: redact.ReplaceAttr})),
		metrics:      newHTTPMetrics(prometheus.NewRegistry()),
		hsts:         true,
		bodyLimit:    1 << 20,
		rateRequests: 1 << 30, // high enough never to refuse
		rateWindow:   time.Minute,
	}, benchMux())
}

// BenchmarkRequestThroughMiddlewareChain is the same request through the production chain:
// recover, request id, JSON access log line, metrics, security headers, body limit, rate
// limit and route capture.
func BenchmarkRequestThroughMiddlewareChain(b *testing.B) {
	runBench(b, benchChain(slog.LevelInfo))
}

// BenchmarkRequestThroughMiddlewareChainWithoutAccessLog shows what the access log line
// costs of the chain.
func BenchmarkRequestThroughMiddlewareChainWithoutAccessLog(b *testing.B) {
	runBench(b, benchChain(slog.LevelError))
}
