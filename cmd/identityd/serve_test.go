package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/identityd/identityd/syncbuf"
)

func TestServeOutsideDevRefusesToStartWithoutAnIssuerAndSaysHowToSetOne(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	env := []string{"IDENTITYD_DATA_DIR=" + dir, "IDENTITYD_ENCRYPTION_KEYS=" + newKey(t)}
	o := wantUsage(t, env, "serve")
	want := "issuer (from default): required outside dev mode. Fix: set IDENTITYD_ISSUER to the public https URL, e.g. https://id.example.com."
	if got := lines(o.stderr); len(got) != 2 || got[1] != want {
		t.Errorf("stderr:\n%s\nwant the one problem:\n%s", o.stderr, want)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("a refused serve created the data directory %s (stat: %v)", dir, err)
	}
}

func TestServeRefusesAnHTTPIssuerOffLoopbackEvenInDev(t *testing.T) {
	want := `issuer = "http://id.example.com" (from IDENTITYD_ISSUER): http is allowed only for a loopback host (localhost, 127.0.0.0/8, ::1). Fix: use https://id.example.com.`
	for _, args := range [][]string{{"serve"}, {"serve", "--dev"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			env := []string{"IDENTITYD_DATA_DIR=" + filepath.Join(t.TempDir(), "data"),
				"IDENTITYD_ENCRYPTION_KEYS=" + newKey(t), "IDENTITYD_ISSUER=http://id.example.com"}
			o := wantUsage(t, env, args...)
			if got := lines(o.stderr); len(got) != 2 || got[1] != want {
				t.Errorf("stderr:\n%s\nwant the one problem:\n%s", o.stderr, want)
			}
		})
	}
}

func TestServeGivesUpOnAnUnreachablePostgresAfterTheConnectTimeoutWithoutShowingThePassword(t *testing.T) {
	env := []string{
		"IDENTITYD_DATA_DIR=" + filepath.Join(t.TempDir(), "data"),
		"IDENTITYD_DATABASE_URL=postgres://u:pw@127.0.0.1:1/db",
		"IDENTITYD_DATABASE_CONNECT_TIMEOUT=1s",
		"IDENTITYD_ISSUER=https://id.example.com",
		"IDENTITYD_ENCRYPTION_KEYS=" + newKey(t),
	}
	start := time.Now()
	o := runCLI(t, env, "serve")
	elapsed := time.Since(start)
	if o.code != exitFailure {
		t.Fatalf("want exit %d, got %v", exitFailure, o)
	}
	if elapsed > 15*time.Second {
		t.Errorf("gave up after %s; a 1s connect timeout should end it within a few seconds", elapsed)
	}
	// The driver's reason may span lines; the command's own message starts one.
	_, msg, _ := strings.Cut("\n"+o.stderr, "\nidentityd: ")
	if msg, _, _ = strings.Cut(msg, "\n"); !strings.Contains(msg, "postgres://u@127.0.0.1:1/db unreachable after 1s") {
		t.Errorf("stderr:\n%s\nwant identityd: … naming the database (without its password) as unreachable", o.stderr)
	}
	if strings.Contains(o.stdout+o.stderr, "pw") {
		t.Errorf("output holds the password:\n%v", o)
	}
}

func TestServeDevRunsUntilItsContextEndsThenStopsCleanly(t *testing.T) {
	public, admin := freeAddr(t), freeAddr(t)
	env := []string{
		"IDENTITYD_DATA_DIR=" + filepath.Join(t.TempDir(), "data"),
		"IDENTITYD_PUBLIC_ADDR=" + public,
		"IDENTITYD_ADMIN_ADDR=" + admin,
		"IDENTITYD_SHUTDOWN_TIMEOUT=10s",
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncbuf.Buffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"serve", "--dev"}, env, strings.NewReader(""), &stdout, &stderr) }()

	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case code := <-done:
			t.Fatalf("serve --dev exited %d before answering\n--- stderr:\n%s", code, stderr.String())
		default:
		}
		resp, err := client.Get("http://" + admin + "/healthz")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("serve --dev did not answer /healthz within 60s (last: %v)\n--- stderr:\n%s", err, stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("serve exited %d after its context ended\n--- stderr:\n%s", code, stderr.String())
		}
	case <-time.After(40 * time.Second):
		t.Fatalf("serve still running 40s after its context ended\n--- stderr:\n%s", stderr.String())
	}
	log := stderr.String()
	for _, want := range []string{"identityd started", "identityd stopped"} {
		if !strings.Contains(log, want) {
			t.Errorf("the log does not say %q:\n%s", want, log)
		}
	}
	if stdout.String() != "" {
		t.Errorf("serve wrote to stdout: %q", stdout.String())
	}
}
