//go:build unix

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/identityd/identityd/store/storetest"
	"github.com/identityd/identityd/syncbuf"
)

// Bounds for the processes these tests start: generous for a loaded machine, but a hung
// identityd fails its test instead of hanging it.
const (
	startTimeout    = 60 * time.Second
	shutdownTimeout = 10 * time.Second // IDENTITYD_SHUTDOWN_TIMEOUT of every server
	commandTimeout  = 2 * time.Minute
)

// TestBinary runs the identityd binary as an operator would: separate processes, real
// signals, real ports. The binary is built once, into the test's temporary directory.
func TestBinary(t *testing.T) {
	bin := buildBinary(t)

	t.Run("serve --dev refuses a second server on its SQLite file but lets operator commands in", func(t *testing.T) {
		testOneServerPerSQLiteFile(t, bin)
	})
	t.Run("SIGTERM stops the server cleanly and releases its SQLite file", func(t *testing.T) {
		testSIGTERMStopsCleanly(t, bin)
	})
	t.Run("a killed server leaves no stale claim on its SQLite file", func(t *testing.T) {
		testKilledServerLeavesNoClaim(t, bin)
	})
	t.Run("two migrate up at once on PostgreSQL apply each migration once", func(t *testing.T) {
		testConcurrentMigrateUp(t, bin)
	})
	t.Run("serve --dev generates an encryption key once, private, and reuses it", func(t *testing.T) {
		testDevKeyIsGeneratedOnce(t, bin)
	})
	t.Run("SIGKILL under load loses no acknowledged audit event", func(t *testing.T) {
		testKillDuringLoadLosesNoAcknowledgedEvent(t, bin)
	})
}

func buildBinary(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "identityd")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	// The environment, GOFLAGS included, is the one go test runs with.
	cmd := exec.CommandContext(ctx, "go", "build", "-o", path, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return path
}

// binaryEnv is a controlled environment: nothing of the test's own but PATH and a HOME
// of the test's own, then the settings given.
func binaryEnv(t *testing.T, settings ...string) []string {
	return append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, settings...)
}

// sqliteEnv is the environment of a dev server or command on a new data directory
// holding the database.
func sqliteEnv(t *testing.T) (env []string, dataDir string) {
	dataDir = filepath.Join(t.TempDir(), "data")
	return binaryEnv(t,
		"IDENTITYD_DATA_DIR="+dataDir,
		"IDENTITYD_DATABASE_URL=sqlite:"+filepath.Join(dataDir, "identityd.db"),
		"IDENTITYD_SHUTDOWN_TIMEOUT="+shutdownTimeout.String(),
	), dataDir
}

// runBinary runs a command to completion. It may be called from any goroutine.
func runBinary(t *testing.T, bin string, env []string, args ...string) outcome {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env, cmd.Stdout, cmd.Stderr, cmd.SysProcAttr = env, &stdout, &stderr, childAttr()
	err := cmd.Run()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Errorf("identityd %s: %v", strings.Join(args, " "), err)
		return outcome{code: -1, stdout: stdout.String(), stderr: stderr.String()}
	}
	return outcome{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
}

// process is an identityd the test started and has not necessarily waited for.
type process struct {
	cmd            *exec.Cmd
	stdout, stderr *syncbuf.Buffer
	exited         chan struct{} // closed once the process has exited
	public, admin  string        // listen addresses, host:port
}

// startProcess starts identityd with args on two free loopback ports; it is killed when
// the test ends if still running.
func startProcess(t *testing.T, bin string, env []string, args ...string) *process {
	t.Helper()
	p := &process{stdout: &syncbuf.Buffer{}, stderr: &syncbuf.Buffer{}, exited: make(chan struct{}),
		public: freeAddr(t), admin: freeAddr(t)}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = append(append([]string(nil), env...), "IDENTITYD_PUBLIC_ADDR="+p.public, "IDENTITYD_ADMIN_ADDR="+p.admin)
	p.cmd.Stdout, p.cmd.Stderr, p.cmd.SysProcAttr = p.stdout, p.stderr, childAttr()
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
			return
		default:
		}
		_ = p.cmd.Process.Kill()
		select {
		case <-p.exited:
		case <-time.After(30 * time.Second):
			t.Errorf("identityd (pid %d) did not die after SIGKILL", p.cmd.Process.Pid)
		}
	})
	return p
}

// startServer starts `identityd serve` with args and waits until it answers /healthz.
// A port taken by someone else between choosing it and binding it is retried with
// other ports, so the tests do not depend on what else runs on the machine.
func startServer(t *testing.T, bin string, env []string, args ...string) *process {
	t.Helper()
	for attempt := 1; ; attempt++ {
		p := startProcess(t, bin, env, append([]string{"serve"}, args...)...)
		err := p.waitHealthy(startTimeout)
		if err == nil {
			return p
		}
		if attempt < 3 && p.hasExited() && strings.Contains(p.stderr.String(), "address already in use") {
			continue
		}
		t.Fatalf("identityd serve did not become healthy: %v\n--- stderr:\n%s", err, p.stderr)
	}
}

func (p *process) hasExited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

func (p *process) waitHealthy(timeout time.Duration) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(timeout)
	for {
		if p.hasExited() {
			return fmt.Errorf("it exited with %v", p.cmd.ProcessState)
		}
		resp, err := client.Get("http://" + p.public + "/healthz")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no answer from /healthz after %s (last: %v)", timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// wait waits for the process to exit and returns its exit code and how long it took.
func (p *process) wait(t *testing.T, timeout time.Duration) (code int, took time.Duration) {
	t.Helper()
	start := time.Now()
	select {
	case <-p.exited:
		return p.cmd.ProcessState.ExitCode(), time.Since(start)
	case <-time.After(timeout):
		t.Fatalf("identityd (pid %d) still running after %s\n--- stderr:\n%s", p.cmd.Process.Pid, timeout, p.stderr)
		return 0, 0
	}
}

// stop sends SIGTERM and requires a clean exit within the shutdown timeout.
func (p *process) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// The shutdown timeout bounds the drain; the rest is slack for a loaded machine.
	code, took := p.wait(t, shutdownTimeout+20*time.Second)
	if code != 0 {
		t.Fatalf("after SIGTERM identityd exited %d after %s\n--- stderr:\n%s", code, took, p.stderr)
	}
	if took > shutdownTimeout {
		t.Errorf("identityd took %s to stop, more than its shutdown timeout of %s", took, shutdownTimeout)
	}
}

// getStatus calls GET /v1/status on the admin listener with the bearer token, if any.
func getStatus(t *testing.T, admin, token string) (int, []byte) {
	t.Helper()
	return adminGet(t, admin, token, "/v1/status")
}

// adminGet calls GET path on the admin listener with the bearer token, if any.
func adminGet(t *testing.T, admin, token, path string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+admin+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

func testOneServerPerSQLiteFile(t *testing.T, bin string) {
	env, dataDir := sqliteEnv(t)
	first := startServer(t, bin, env, "--dev")

	second := startProcess(t, bin, env, "serve", "--dev")
	code, took := second.wait(t, 30*time.Second)
	if code == 0 {
		t.Fatalf("a second server on the same SQLite file exited 0\n--- stderr:\n%s", second.stderr)
	}
	if took > 20*time.Second {
		t.Errorf("the second server took %s to give up; it should know at once", took)
	}
	msg := second.stderr.String()
	for _, want := range []string{
		"another identityd serve (pid " + strconv.Itoa(first.cmd.Process.Pid) + ") is running on " + filepath.Join(dataDir, "identityd.db"),
		"one server per database file",
		"PostgreSQL",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("the second server's stderr does not say %q:\n%s", want, msg)
		}
	}
	if err := first.waitHealthy(5 * time.Second); err != nil {
		t.Fatalf("the first server stopped answering: %v", err)
	}

	// Short-lived operator commands work beside the running server.
	o := runBinary(t, bin, env, "migrate", "status")
	if o.code != 0 || strings.Contains(o.stdout, "pending") || !strings.Contains(o.stdout, "applied") {
		t.Errorf("migrate status beside the server: want every migration applied, got %v", o)
	}
	o = runBinary(t, bin, env, "admin", "token", "create", "--name", "beside the server")
	if o.code != 0 || !tokenLine.MatchString(o.stdout) {
		t.Fatalf("admin token create beside the server: %v", o)
	}
	token := strings.TrimSuffix(o.stdout, "\n")

	// The running server accepts the token the command created.
	status, body := getStatus(t, first.admin, token)
	if status != http.StatusOK {
		t.Fatalf("GET /v1/status with the new token: %d %s", status, body)
	}
	var got struct {
		Database struct {
			Backend             string `json:"backend"`
			SchemaVersion       int64  `json:"schema_version"`
			LatestSchemaVersion int64  `json:"latest_schema_version"`
		} `json:"database"`
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("status body %s: %v", body, err)
	}
	if got.Database.Backend != "sqlite" || got.Database.SchemaVersion < 1 ||
		got.Database.SchemaVersion != got.Database.LatestSchemaVersion {
		t.Errorf("status %s: want backend sqlite at the latest schema", body)
	}
	for _, bad := range []string{"", "idd_admin_" + strings.Repeat("A", 43), token + "x"} {
		if status, body := getStatus(t, first.admin, bad); status != http.StatusUnauthorized {
			t.Errorf("GET /v1/status with token %q: %d %s, want 401", bad, status, body)
		}
	}

	// A client registered beside the server, as the README shows it, is the server's.
	o = runBinary(t, bin, env, "clients", "create", "--name", "My app", "--grant-type", "authorization_code",
		"--grant-type", "refresh_token", "--redirect-uri", "http://127.0.0.1:3000/callback",
		"--scope", "openid,profile,email,offline_access", "--output", "json")
	var created struct {
		ID     string `json:"client_id"`
		Secret string `json:"client_secret"`
	}
	if o.code != 0 || json.Unmarshal([]byte(o.stdout), &created) != nil || created.ID == "" ||
		!strings.HasPrefix(created.Secret, "idd_cs_") {
		t.Fatalf("clients create --output json beside the server: %v", o)
	}
	status, body = adminGet(t, first.admin, token, "/v1/clients/"+created.ID)
	if status != http.StatusOK || !strings.Contains(string(body), `"name":"My app"`) || strings.Contains(string(body), created.Secret) {
		t.Errorf("GET /v1/clients/%s from the server: %d %s", created.ID, status, body)
	}
	// A secret rotated beside the server — the answer to a leaked one — stops working in
	// the server within seconds, although the server had the client cached: its answer to
	// the old secret turns from "wrong grant" (the secret was right) to "wrong client".
	tokenStatus := func(secret string) int {
		req, err := http.NewRequest(http.MethodPost, "http://"+first.public+"/oauth2/token",
			strings.NewReader("grant_type=client_credentials"))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(created.ID, secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := tokenStatus(created.Secret); got != http.StatusBadRequest {
		t.Fatalf("a client_credentials request of an authorization_code client with its secret: %d, want 400", got)
	}
	o = runBinary(t, bin, env, "clients", "rotate-secret", created.ID)
	if o.code != 0 {
		t.Fatalf("clients rotate-secret beside the server: %v", o)
	}
	for deadline := time.Now().Add(5 * time.Second); tokenStatus(created.Secret) != http.StatusUnauthorized; {
		if time.Now().After(deadline) {
			t.Fatal("5s after clients rotate-secret beside the server, the server still takes the old secret")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The server made the first signing keys at start, for both algorithms.
	o = runBinary(t, bin, env, "keys", "list", "--output", "json")
	if o.code != 0 || strings.Count(o.stdout, `"state":"current"`) != 2 || !strings.Contains(o.stdout, `"alg":"ES256"`) ||
		!strings.Contains(o.stdout, `"alg":"RS256"`) {
		t.Errorf("keys list beside the server: %v", o)
	}
	// An immediate rotation beside the server — the answer to a leaked key — takes hold
	// in the server within seconds: the old key leaves its JWKS and the new one is in it.
	// Twice: the server's own key check at start may catch the first.
	for range 2 {
		before := publishedKids(t, first.public)
		o = runBinary(t, bin, env, "keys", "rotate", "--alg", "ES256", "--now")
		kid, ok := strings.CutPrefix(strings.TrimSpace(o.stdout), "ES256: new key ")
		kid, _, _ = strings.Cut(kid, " ")
		if o.code != 0 || !ok {
			t.Fatalf("keys rotate --now beside the server: %v", o)
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			after := publishedKids(t, first.public)
			if slices.Contains(after, kid) && len(after) == len(before) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("5s after keys rotate --now beside the server, its JWKS holds %v (before %v); want %s in place of the old ES256 key",
					after, before, kid)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	first.stop(t)
}

// publishedKids returns the kids in the JWKS a server at public serves.
func publishedKids(t *testing.T, public string) []string {
	t.Helper()
	resp, err := http.Get("http://" + public + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET jwks.json: %d %v", resp.StatusCode, err)
	}
	var kids []string
	for _, k := range set.Keys {
		kids = append(kids, k.Kid)
	}
	return kids
}

func testSIGTERMStopsCleanly(t *testing.T, bin string) {
	env, _ := sqliteEnv(t)
	first := startServer(t, bin, env, "--dev")
	first.stop(t)
	if log := first.stderr.String(); !strings.Contains(log, "identityd stopped") {
		t.Errorf("stderr does not end with \"identityd stopped\":\n%s", log)
	}
	if err := first.waitHealthy(0); err == nil {
		t.Fatal("the stopped server still answers")
	}
	// The claim on the file went with the server.
	second := startServer(t, bin, env, "--dev")
	second.stop(t)
}

func testKilledServerLeavesNoClaim(t *testing.T, bin string) {
	env, _ := sqliteEnv(t)
	first := startServer(t, bin, env, "--dev")
	if err := first.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	first.wait(t, 30*time.Second)
	second := startServer(t, bin, env, "--dev")
	second.stop(t)
}

func testConcurrentMigrateUp(t *testing.T, bin string) {
	env := binaryEnv(t, dbEnv(storetest.FreshPostgresURL(t))...)
	var (
		wg       sync.WaitGroup
		outcomes [2]outcome
	)
	for i := range outcomes {
		wg.Go(func() { outcomes[i] = runBinary(t, bin, env, "migrate", "up") })
	}
	wg.Wait()
	applied := regexp.MustCompile(`^(applied \d+ .+\n)+$`)
	var appliers, idle int
	for _, o := range outcomes {
		switch {
		case o.code != 0:
			t.Errorf("migrate up failed: %v", o)
		case applied.MatchString(o.stdout):
			appliers++
		case o.stdout == "nothing to do\n":
			idle++
		default:
			t.Errorf("migrate up printed neither applied lines nor \"nothing to do\": %v", o)
		}
	}
	if appliers != 1 || idle != 1 {
		t.Errorf("want one process to apply and one to find nothing to do; got:\n%v\n%v", outcomes[0], outcomes[1])
	}
	o := runBinary(t, bin, env, "migrate", "status")
	if o.code != 0 || strings.Contains(o.stdout, "pending") {
		t.Errorf("migrate status afterwards: %v", o)
	}
}

func testDevKeyIsGeneratedOnce(t *testing.T, bin string) {
	env, dataDir := sqliteEnv(t)
	keyPath := filepath.Join(dataDir, "dev-encryption-key")

	first := startServer(t, bin, env, "--dev")
	key, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatalf("serve --dev made no key: %v", err)
	}
	for path, want := range map[string]os.FileMode{keyPath: 0o600, dataDir: 0o700} {
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != want {
			t.Errorf("%s: mode %04o, want %04o", path, info.Mode().Perm(), want)
		}
	}
	first.stop(t)
	if log := first.stderr.String(); !strings.Contains(log, "generated an encryption key") {
		t.Errorf("the first start does not say it generated a key:\n%s", log)
	}

	second := startServer(t, bin, env, "--dev")
	second.stop(t)
	again, err := os.ReadFile(keyPath)
	if err != nil || !bytes.Equal(again, key) {
		t.Errorf("after a restart the key file changed (%v)", err)
	}
	if log := second.stderr.String(); strings.Contains(log, "generated an encryption key") {
		t.Errorf("the restart generated another key:\n%s", log)
	}
	for _, p := range []*process{first, second} {
		if k := strings.TrimSpace(string(key)); strings.Contains(p.stderr.String(), k) || strings.Contains(p.stdout.String(), k) {
			t.Errorf("the server printed its encryption key")
		}
	}
}
