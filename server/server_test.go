package server_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/identityd/identityd/admintokens"
	"github.com/identityd/identityd/audit"
	"github.com/identityd/identityd/audit/audittest"
	"github.com/identityd/identityd/config"
	"github.com/identityd/identityd/server"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
	"github.com/identityd/identityd/syncbuf"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// testConfig loads a dev configuration on dbURL, with extra settings as KEY=value.
func testConfig(t *testing.T, dbURL string, extra ...string) *config.Config {
	t.Helper()
	env := append([]string{
		"IDENTITYD_DATABASE_URL=" + dbURL,
		"IDENTITYD_ENCRYPTION_KEYS=" + base64.StdEncoding.EncodeToString(audittest.Key),
		"IDENTITYD_DATA_DIR=" + t.TempDir(),
		"IDENTITYD_DATABASE_CONNECT_TIMEOUT=5s",
		"IDENTITYD_SHUTDOWN_TIMEOUT=10s",
	}, extra...)
	cfg, err := config.Load(config.Sources{Env: env, Dev: true, Serving: true})
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}

func newServer(t *testing.T, cfg *config.Config) (*server.Server, *syncbuf.Buffer) {
	t.Helper()
	logs := &syncbuf.Buffer{}
	s, err := server.New(context.Background(), cfg, slog.New(slog.NewJSONHandler(logs, nil)), "test")
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	t.Cleanup(s.Close)
	return s, logs
}

func adminToken(t *testing.T, url string) string {
	t.Helper()
	db := storetest.Open(t, url)
	secret, _, err := admintokens.New(db, time.Now, audittest.NewLog(t, db)).Create(context.Background(), "test", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

func get(t *testing.T, h http.Handler, path, token string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest("GET", path, nil)
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestServerAnswersHealthReadinessMetricsAndStatus(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, url string) {
		s, _ := newServer(t, testConfig(t, url))
		public, admin := s.Handlers()
		token := adminToken(t, url)
		for name, h := range map[string]http.Handler{"public": public, "admin": admin} {
			for _, path := range []string{"/healthz", "/readyz"} {
				if w := get(t, h, path, ""); w.Code != http.StatusOK {
					t.Errorf("%s %s: %d %s", name, path, w.Code, w.Body)
				}
			}
		}
		if w := get(t, public, "/metrics", ""); w.Code != http.StatusNotFound {
			t.Errorf("metrics exposed on the public listener: %d", w.Code)
		}
		w := get(t, admin, "/v1/status", token)
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"backend":"`+strings.SplitN(url, ":", 2)[0]) {
			t.Fatalf("status: %d %s", w.Code, w.Body)
		}
		m := get(t, admin, "/metrics", "").Body.String()
		for _, want := range []string{
			`identityd_http_requests_total{listener="public",method="GET",route="GET /healthz",status="200"} 1`,
			`identityd_http_requests_total{listener="admin",method="GET",route="GET /v1/status",status="200"} 1`,
			`identityd_http_request_duration_seconds_bucket{listener="admin",method="GET",route="GET /v1/status"`,
			`identityd_db_connections_open{backend=`,
			`identityd_password_hash_slots `,
			`identityd_password_derivations_total `,
			`go_goroutines `,
		} {
			if !strings.Contains(m, want) {
				t.Errorf("metrics lack %s", want)
			}
		}
	})
}

func TestReadyzIsUnavailableWhileMigrationsArePending(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, url string) {
		s, _ := newServer(t, testConfig(t, url, "IDENTITYD_MIGRATE_ON_START=false"))
		public, _ := s.Handlers()
		if w := get(t, public, "/healthz", ""); w.Code != http.StatusOK {
			t.Fatalf("healthz: %d", w.Code)
		}
		w := get(t, public, "/readyz", "")
		if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "migrate up") ||
			w.Header().Get("Content-Type") != "application/problem+json" {
			t.Fatalf("readyz with pending migrations: %d %s", w.Code, w.Body)
		}
	})
}

func TestLosingPostgresMakesReadyzFailAndEverythingRecovers(t *testing.T) {
	base := storetest.FreshPostgresURL(t)
	proxy := storetest.NewProxy(t, storetest.PostgresAddr(t, base))
	url := storetest.PostgresURLVia(t, base, proxy)
	s, logs := newServer(t, testConfig(t, url))
	public, admin := s.Handlers()
	token := adminToken(t, url)
	if w := get(t, public, "/readyz", ""); w.Code != http.StatusOK {
		t.Fatalf("readyz before: %d", w.Code)
	}

	proxy.Cut()
	w := get(t, public, "/readyz", "")
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
		t.Fatalf("readyz with the database gone: %d %s", w.Code, w.Body)
	}
	if w := get(t, public, "/healthz", ""); w.Code != http.StatusOK {
		t.Fatalf("healthz must not depend on the database: %d", w.Code)
	}
	w = get(t, admin, "/v1/status", token)
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" ||
		w.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("status with the database gone: %d %s", w.Code, w.Body)
	}
	if strings.Contains(w.Body.String(), "EOF") || strings.Contains(w.Body.String(), "pgx") || strings.Contains(w.Body.String(), proxy.Addr) {
		t.Errorf("503 body leaks driver details: %s", w.Body)
	}

	proxy.Restore()
	deadline := time.Now().Add(20 * time.Second)
	for get(t, public, "/readyz", "").Code != http.StatusOK || get(t, admin, "/v1/status", token).Code != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatalf("did not recover after the database came back; log:\n%s", logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// serve runs s on its listeners until the returned stop is called; stop returns Serve's
// error.
func serve(t *testing.T, s *server.Server) (stop func() error) {
	t.Helper()
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				err = fmt.Errorf("Serve did not return after shutdown began")
			}
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

func TestShutdownDrainsInFlightRequests(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, url string) {
		cfg := testConfig(t, url, "IDENTITYD_PUBLIC_ADDR=127.0.0.1:18080", "IDENTITYD_ADMIN_ADDR=127.0.0.1:18081")
		cfg.PublicAddr, cfg.AdminAddr = "127.0.0.1:0", "127.0.0.2:0" // any free ports, two listeners
		s, _ := newServer(t, cfg)
		token := adminToken(t, url)
		stop := serve(t, s)
		adminAddr := s.Addrs()[1].String()

		// A request whose body is still arriving when shutdown begins.
		conn, err := net.Dial("tcp", adminAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		body := `{"name":"in flight","ttl":"1h"}`
		fmt.Fprintf(conn, "POST /v1/admin-tokens HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"+
			"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", token, len(body), body[:10])
		time.Sleep(200 * time.Millisecond) // let the server start reading it

		stopped := make(chan error, 1)
		go func() { stopped <- stop() }()
		time.Sleep(300 * time.Millisecond)
		select {
		case err := <-stopped:
			t.Fatalf("Serve returned (%v) with a request in flight", err)
		default:
		}
		if _, err := net.DialTimeout("tcp", adminAddr, time.Second); err == nil {
			t.Error("new connections still accepted after shutdown began")
		}

		if _, err := io.WriteString(conn, body[10:]); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("in-flight request got no answer: %v", err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			b, _ := io.ReadAll(resp.Body)
			t.Fatalf("in-flight request: %d %s", resp.StatusCode, b)
		}
		if err := <-stopped; err != nil {
			t.Fatalf("shutdown: %v", err)
		}
	})
}

func TestOneAddressCanServeBothListeners(t *testing.T) {
	url := storetest.SQLiteURL(t)
	cfg := testConfig(t, url)
	cfg.PublicAddr, cfg.AdminAddr = "127.0.0.1:0", "127.0.0.1:0"
	s, _ := newServer(t, cfg)
	serve(t, s)
	if n := len(s.Addrs()); n != 1 {
		t.Fatalf("%d listeners, want one shared", n)
	}
	token := adminToken(t, url)
	base := "http://" + s.Addrs()[0].String()
	for path, want := range map[string]int{"/healthz": 200, "/v1/status": 200, "/metrics": 200, "/docs": 200, "/nope": 404} {
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s: %d, want %d", path, resp.StatusCode, want)
		}
	}
}

func TestTracesAreExportedOverOTLPWhenConfigured(t *testing.T) {
	var (
		mu    sync.Mutex
		spans = map[string]string{} // name → trace id
	)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req collectortrace.ExportTraceServiceRequest
		if r.URL.Path != "/v1/traces" || proto.Unmarshal(body, &req) != nil {
			http.Error(w, "bad export", http.StatusBadRequest)
			return
		}
		mu.Lock()
		for _, rs := range req.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				for _, sp := range ss.Spans {
					spans[sp.Name] = fmt.Sprintf("%x", sp.TraceId)
				}
			}
		}
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
		out, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
		_, _ = w.Write(out)
	}))
	defer receiver.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.URL)

	cfg := testConfig(t, storetest.SQLiteURL(t))
	cfg.PublicAddr, cfg.AdminAddr = "127.0.0.1:0", "127.0.0.2:0"
	s, _ := newServer(t, cfg)
	stop := serve(t, s)
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	req, _ := http.NewRequest("GET", "http://"+s.Addrs()[0].String()+"/healthz", nil)
	req.Header.Set("traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := stop(); err != nil { // shutdown flushes the exporter
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if got, ok := spans["GET /healthz"]; !ok || got != traceID {
		t.Fatalf("exported spans %v; want GET /healthz in trace %s", spans, traceID)
	}
}

func TestLogFileIsRotatedAndRedacted(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, storetest.SQLiteURL(t),
		"IDENTITYD_LOG_FILE="+filepath.Join(dir, "identityd.log"), "IDENTITYD_LOG_FILE_MAX_SIZE_MB=1",
		"IDENTITYD_LOG_FILE_MAX_BACKUPS=2", "IDENTITYD_LOG_FORMAT=json")
	logger, closer := server.NewLogger(cfg, io.Discard)
	filler := strings.Repeat("x", 1000)
	for range 2500 { // about 2.5 MB: at least two rotations
		logger.Info("filler", slog.String("data", filler), slog.String("client_secret", "hunter2"))
	}
	if err := closer.Close(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		entries, _ := os.ReadDir(dir)
		backups := 0
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), "identityd-") {
				backups++
			}
		}
		if backups >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no rotated log file in %v", entries)
		}
		time.Sleep(100 * time.Millisecond)
	}
	current, err := os.ReadFile(filepath.Join(dir, "identityd.log"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(current, []byte("hunter2")) || !bytes.Contains(current, []byte(`"client_secret":"[REDACTED]"`)) {
		t.Fatal("log file holds the secret, or lacks the redaction")
	}
	var line map[string]any
	if err := json.Unmarshal(bytes.SplitN(current, []byte("\n"), 2)[0], &line); err != nil {
		t.Fatalf("log line is not JSON: %v", err)
	}
}

func TestSlowClientsAreCutOffByTheReadTimeout(t *testing.T) {
	cfg := testConfig(t, storetest.SQLiteURL(t), "IDENTITYD_HTTP_READ_TIMEOUT=1s")
	cfg.PublicAddr, cfg.AdminAddr = "127.0.0.1:0", "127.0.0.2:0"
	s, _ := newServer(t, cfg)
	serve(t, s)
	conn, err := net.Dial("tcp", s.Addrs()[0].String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Headers that never end, a byte at a time, as a slowloris attack sends them.
	start := time.Now()
	if _, err := io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\n"); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 1)
	for {
		if _, err := io.WriteString(conn, "X"); err != nil {
			break // the server closed the connection
		}
		if _, err := conn.Read(buf); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatal("the server kept a connection whose headers never ended")
			}
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Fatalf("connection cut after %v, want about the 1s read timeout", elapsed)
	}
}

func TestStartsStopsConfigurationChangesAndMigrationsAreAuditedAndSealed(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, url string) {
		dataDir := "IDENTITYD_DATA_DIR=" + t.TempDir()
		for _, limit := range []string{"1200", "99"} {
			cfg := testConfig(t, url, dataDir, "IDENTITYD_RATE_LIMIT_REQUESTS="+limit)
			cfg.PublicAddr, cfg.AdminAddr = "127.0.0.1:0", "127.0.0.2:0"
			s, logs := newServer(t, cfg)
			stop := serve(t, s)
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			s.Close()
			if strings.Contains(logs.String(), `"msg":"could not record`) {
				t.Errorf("audit records failed while running:\n%s", logs.String())
			}
		}
		db := storetest.Open(t, url)
		log := audittest.NewLog(t, db)
		count := func(typ string) []audit.Event {
			page, err := log.Query(context.Background(), audit.Filter{Type: typ}, 100, "")
			if err != nil {
				t.Fatal(err)
			}
			return page.Events
		}
		_, latest, err := newMigratorFor(t, db).Version(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n := len(count(audit.TypeMigrationApplied)); int64(n) != latest {
			t.Errorf("%d migration.applied events, want %d", n, latest)
		}
		if len(count(audit.TypeSystemStarted)) != 2 || len(count(audit.TypeSystemStopped)) != 2 {
			t.Errorf("starts and stops: %d, %d; want 2 each", len(count(audit.TypeSystemStarted)), len(count(audit.TypeSystemStopped)))
		}
		changed := count(audit.TypeSystemConfigChanged)
		if len(changed) != 1 {
			t.Fatalf("%d system.config.changed events, want 1", len(changed))
		}
		var d struct {
			Changed map[string]audit.SettingChange `json:"changed"`
		}
		if err := json.Unmarshal(changed[0].Details, &d); err != nil {
			t.Fatal(err)
		}
		if len(d.Changed) != 1 || d.Changed["rate_limit_requests"] != (audit.SettingChange{From: "1200", To: "99"}) {
			t.Fatalf("recorded changes %+v, want rate_limit_requests 1200 → 99 only", d.Changed)
		}
		rep, err := log.Verify(context.Background())
		if err != nil || !rep.OK || rep.Pending != 0 {
			t.Fatalf("after two clean runs: %+v %v (problem %+v)", rep, err, rep.Problem)
		}
	})
}

func newMigratorFor(t *testing.T, db *store.DB) *store.Migrator {
	t.Helper()
	m, err := store.NewMigrator(db)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestAWebhookSubscribedThroughTheAPIReceivesSignedEvents(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, url string) {
		type delivery struct {
			id, ts, sig string
			body        []byte
		}
		got := make(chan delivery, 10)
		receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			got <- delivery{r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"), r.Header.Get("webhook-signature"), body}
		}))
		defer receiver.Close()

		cfg := testConfig(t, url, "IDENTITYD_WEBHOOK_ALLOW_PRIVATE_NETWORKS=true")
		cfg.PublicAddr, cfg.AdminAddr = "127.0.0.1:0", "127.0.0.2:0"
		s, _ := newServer(t, cfg)
		serve(t, s)
		admin := "http://" + s.Addrs()[1].String()
		token := adminToken(t, url)
		call := func(method, path, body string) *http.Response {
			req, _ := http.NewRequest(method, admin+path, strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			return resp
		}
		resp := call(http.MethodPost, "/v1/webhooks", `{"url":"`+receiver.URL+`","event_types":["admin.token.created"]}`)
		var hook struct{ ID, Secret string }
		if err := json.NewDecoder(resp.Body).Decode(&hook); err != nil || resp.StatusCode != http.StatusCreated {
			t.Fatalf("create webhook: %d %v", resp.StatusCode, err)
		}
		resp.Body.Close()

		resp = call(http.MethodPost, "/v1/admin-tokens", `{"name":"watched"}`)
		var created struct{ ID string }
		_ = json.NewDecoder(resp.Body).Decode(&created)
		resp.Body.Close()

		// Subscriptions match events as they are sealed, so the setup token's event, sealed
		// just after the subscription was made, may come first; wait for ours.
		var d delivery
		for found := false; !found; {
			select {
			case d = <-got:
			case <-time.After(30 * time.Second):
				t.Fatal("no delivery of the watched token's event arrived")
			}
			var payload struct {
				Type string
				Data struct{ Target struct{ ID string } }
			}
			if err := json.Unmarshal(d.body, &payload); err != nil || payload.Type != "admin.token.created" {
				t.Fatalf("payload %s (%v)", d.body, err)
			}
			found = payload.Data.Target.ID == created.ID
		}
		// The signature, checked as a receiver would: HMAC-SHA256 over id.timestamp.body
		// with the secret's key.
		key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(hook.Secret, "whsec_"))
		mac := hmac.New(sha256.New, key)
		fmt.Fprintf(mac, "%s.%s.%s", d.id, d.ts, d.body)
		if want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)); d.sig != want {
			t.Fatalf("signature %q, want %q", d.sig, want)
		}

		deadline := time.Now().Add(10 * time.Second)
		for {
			resp = call(http.MethodGet, "/v1/webhooks/"+hook.ID+"/deliveries", "")
			var log struct{ Items []struct{ ID, Status string } }
			_ = json.NewDecoder(resp.Body).Decode(&log)
			resp.Body.Close()
			if slices.ContainsFunc(log.Items, func(e struct{ ID, Status string }) bool {
				return e.ID == d.id && e.Status == "succeeded"
			}) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("delivery log: %+v", log.Items)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
}
