package server

import (
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/httprate"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/identityd/identityd/redact"
	"github.com/identityd/identityd/requestinfo"
)

// chainConfig is what the middleware chain needs to know.
type chainConfig struct {
	listener       string // "public" or "admin", for logs and metrics
	logger         *slog.Logger
	metrics        *httpMetrics
	trustedProxies []netip.Prefix
	hsts           bool
	bodyLimit      int64
	// bodyLimits replace bodyLimit for the routes they name ("POST /path"), for the few
	// requests whose bodies are meant to be large.
	bodyLimits   map[string]int64
	corsOrigins  []string
	rateRequests int
	rateWindow   time.Duration
}

// chain wraps the router in the middleware, outermost first: recover → request id →
// access log and metrics → security headers → body limit → CORS → rate limit → route.
func chain(cfg chainConfig, mux *http.ServeMux) http.Handler {
	var h http.Handler = routed(mux)
	if cfg.rateRequests > 0 {
		h = rateLimit(cfg, h)
	}
	if len(cfg.corsOrigins) > 0 {
		h = cors(cfg.corsOrigins, h)
	}
	h = bodyLimit(cfg.bodyLimit, cfg.bodyLimits, h)
	h = securityHeaders(cfg.hsts, h)
	h = observe(cfg, h)
	h = requestID(cfg.trustedProxies, h)
	return recoverer(cfg.logger, h)
}

// recoverer turns a panic into a 500 problem that reveals nothing, and logs it with its
// stack. It wraps the response once for the whole chain.
func recoverer(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &recorder{ResponseWriter: w}
		defer func() {
			p := recover()
			if p == nil {
				return
			}
			if p == http.ErrAbortHandler { //nolint:errorlint // sentinel panic value, compared as net/http does
				panic(p)
			}
			// The request id middleware runs inside this one; its id is on the response.
			logger.ErrorContext(r.Context(), "panic serving request",
				slog.String("request_id", rec.Header().Get("X-Request-Id")),
				slog.String("panic", fmt.Sprint(p)), slog.String("stack", string(debug.Stack())))
			if !rec.written() {
				writeProblem(rec, http.StatusInternalServerError, "The server failed to answer this request.")
			}
		}()
		next.ServeHTTP(rec, r)
	})
}

// maxRequestIDLength bounds incoming request ids we keep.
const maxRequestIDLength = 128

// requestID keeps a well-formed incoming X-Request-Id (so that a request can be followed
// across services) or makes one, echoes it, and records the request's facts.
func requestID(trusted []netip.Prefix, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !validRequestID(id) {
			id = rand.Text()
		}
		w.Header()["X-Request-Id"] = []string{id}
		ua := r.UserAgent()
		if len(ua) > 256 {
			ua = ua[:256]
		}
		info := &requestinfo.Info{ID: id, ClientIP: clientIP(r, trusted), UserAgent: ua}
		next.ServeHTTP(w, r.WithContext(requestinfo.With(r.Context(), info)))
	})
}

func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLength {
		return false
	}
	for _, c := range []byte(id) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-_.:", c) >= 0
		if !ok {
			return false
		}
	}
	return true
}

// observe writes the access log line and the request metrics once the response is done.
// The query string passes through the redaction helper; headers that carry credentials
// are never logged at all.
func observe(cfg chainConfig, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		next.ServeHTTP(w, r)
		elapsed := time.Since(start)
		rec, _ := w.(*recorder)
		status, size := http.StatusOK, int64(0)
		if rec != nil {
			status, size = rec.finalStatus(), rec.bytes
		}
		info := requestinfo.From(r.Context())
		route := info.Route
		if route == "" {
			route = "unmatched"
		}
		cfg.metrics.observe(cfg.listener, r.Method, route, status, elapsed)

		level := slog.LevelInfo
		switch {
		case status >= 500:
			level = slog.LevelError
		case info.Route == "GET /healthz" || info.Route == "GET /readyz" || info.Route == "GET /metrics":
			// Probes and scrapes arrive every few seconds; keep them out of the info log.
			level = slog.LevelDebug
		}
		cfg.logger.LogAttrs(r.Context(), level, "request",
			slog.String("listener", cfg.listener),
			slog.String("request_id", info.ID),
			slog.String("method", r.Method),
			slog.String("uri", redact.RequestURI(r.URL)),
			slog.String("route", route),
			slog.Int("status", status),
			slog.Int64("bytes", size),
			slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
			slog.String("client_ip", info.ClientIP.String()),
			slog.String("user_agent", info.UserAgent),
		)
	})
}

// contentSecurityPolicy allows only the server's own resources and no framing: every page
// identityd serves works without inline script or third-party hosts.
const contentSecurityPolicy = "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// headerValue is a one-value header slice with no spare capacity, so that it can be shared
// by every response: a handler that adds a value gets a new slice, never a write into
// this one.
func headerValue(v string) []string { return []string{v}[:1:1] }

// securityHeaders sets the headers every response carries. They are assigned with their
// canonical names directly: this runs on every request, and Header.Set would
// canonicalise and allocate each time.
func securityHeaders(hsts bool, next http.Handler) http.Handler {
	set := map[string][]string{
		"Content-Security-Policy":    headerValue(contentSecurityPolicy),
		"X-Content-Type-Options":     headerValue("nosniff"),
		"Referrer-Policy":            headerValue("no-referrer"),
		"X-Frame-Options":            headerValue("DENY"),
		"Cross-Origin-Opener-Policy": headerValue("same-origin"),
	}
	if hsts {
		set["Strict-Transport-Security"] = headerValue("max-age=63072000")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		for k, v := range set {
			h[k] = v
		}
		next.ServeHTTP(w, r)
	})
}

// bodyLimit refuses bodies over limit bytes, or the route's own limit in routes: at once
// when Content-Length says so, and while reading otherwise (handlers see
// *http.MaxBytesError and answer 413).
func bodyLimit(def int64, routes map[string]int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit := def
		if l, ok := routes[r.Method+" "+r.URL.Path]; ok {
			limit = l
		}
		if r.ContentLength > limit {
			// The client may still be sending; do not keep the connection for the rest.
			w.Header().Set("Connection", "close")
			writeProblem(w, http.StatusRequestEntityTooLarge,
				fmt.Sprintf("The request body is larger than the limit of %d bytes.", limit))
			return
		}
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = http.MaxBytesReader(w, r.Body, limit)
		}
		next.ServeHTTP(w, r)
	})
}

// IsBodyTooLarge reports whether err came from reading a body past the limit.
func IsBodyTooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}

// cors answers cross-origin requests from the configured origins only. Credentials are
// never allowed cross-origin: browser apps call the public endpoints with tokens, not
// cookies.
func cors(origins []string, next http.Handler) http.Handler {
	allowed := make(map[string]bool, len(origins))
	for _, o := range origins {
		allowed[o] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		h := w.Header()
		h.Add("Vary", "Origin")
		if origin == "" || !allowed[origin] {
			next.ServeHTTP(w, r)
			return
		}
		h.Set("Access-Control-Allow-Origin", origin)
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h.Add("Vary", "Access-Control-Request-Method")
			h.Add("Vary", "Access-Control-Request-Headers")
			h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, DPoP, X-Request-Id")
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		h.Set("Access-Control-Expose-Headers", "WWW-Authenticate, X-Request-Id")
		next.ServeHTTP(w, r)
	})
}

// rateLimit caps requests per client address in a sliding window, in memory: a guard
// against floods on each replica, not an exact cluster-wide quota.
func rateLimit(cfg chainConfig, next http.Handler) http.Handler {
	limiter := httprate.NewRateLimiter(cfg.rateRequests, cfg.rateWindow,
		// Only the 429 says when to retry; counting headers on every response would cost
		// each request three header writes for information few clients use.
		httprate.WithResponseHeaders(httprate.ResponseHeaders{RetryAfter: "Retry-After"}),
		httprate.WithKeyFuncs(func(r *http.Request) (string, error) {
			return requestinfo.From(r.Context()).ClientIP.String(), nil
		}),
		httprate.WithLimitHandler(func(w http.ResponseWriter, r *http.Request) {
			writeProblem(w, http.StatusTooManyRequests, "Too many requests from this address; retry later.")
		}),
	)
	return limiter.Handler(next)
}

// routed runs the router, records which route matched, and turns the router's own plain
// text 404 and 405 answers into problems.
func routed(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(&unroutedWriter{ResponseWriter: w, r: r}, r)
		// ServeMux records the matched pattern on the request it was given.
		info := requestinfo.From(r.Context())
		info.Route = r.Pattern
		if r.Pattern != "" {
			span := trace.SpanFromContext(r.Context())
			span.SetName(r.Pattern)
			span.SetAttributes(attribute.String("http.route", r.Pattern))
		}
	})
}

// unroutedWriter replaces the body of the router's 404 and 405 answers. It can tell them
// apart from a handler's 404 because the router sets the request's pattern before it
// calls a matched handler, and leaves it empty when nothing matched.
type unroutedWriter struct {
	http.ResponseWriter
	r          *http.Request
	suppressed bool
}

func (u *unroutedWriter) WriteHeader(code int) {
	if u.r.Pattern == "" && (code == http.StatusNotFound || code == http.StatusMethodNotAllowed) {
		u.suppressed = true
		detail := "No such resource."
		if code == http.StatusMethodNotAllowed {
			detail = "This resource does not support the " + strconv.Quote(u.r.Method) + " method."
		}
		writeProblem(u.ResponseWriter, code, detail)
		return
	}
	u.ResponseWriter.WriteHeader(code)
}

func (u *unroutedWriter) Write(b []byte) (int, error) {
	if u.suppressed {
		return len(b), nil
	}
	return u.ResponseWriter.Write(b)
}

// Unwrap exposes the underlying writer to http.ResponseController.
func (u *unroutedWriter) Unwrap() http.ResponseWriter { return u.ResponseWriter }
