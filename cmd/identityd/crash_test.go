//go:build unix

package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/identityd/identityd/store/storetest"
)

// testKillDuringLoadLosesNoAcknowledgedEvent kills identityd with SIGKILL while clients
// create admin tokens as fast as they can, restarts it, and requires that the audit log
// still verifies and holds the event of every creation that was answered 201.
func testKillDuringLoadLosesNoAcknowledgedEvent(t *testing.T, bin string) {
	storetest.EachURL(t, func(t *testing.T, url string) {
		dataDir := filepath.Join(t.TempDir(), "data")
		env := binaryEnv(t, append(dbEnv(url), "IDENTITYD_DATA_DIR="+dataDir,
			"IDENTITYD_SHUTDOWN_TIMEOUT="+shutdownTimeout.String(), "IDENTITYD_RATE_LIMIT_REQUESTS=0")...)
		if o := runBinary(t, bin, env, "migrate", "up"); o.code != 0 {
			t.Fatalf("migrate up: %v", o)
		}
		token := strings.TrimSpace(runBinary(t, bin, env, "admin", "token", "create", "--name", "load").stdout)
		server := startServer(t, bin, env, "--dev")

		var (
			mu    sync.Mutex
			acked []string
			wg    sync.WaitGroup
		)
		stop := make(chan struct{})
		client := &http.Client{Timeout: 5 * time.Second}
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					req, _ := http.NewRequest(http.MethodPost, "http://"+server.admin+"/v1/admin-tokens",
						strings.NewReader(fmt.Sprintf(`{"name":"load %d"}`, i)))
					req.Header.Set("Authorization", "Bearer "+token)
					req.Header.Set("Content-Type", "application/json")
					resp, err := client.Do(req)
					if err != nil {
						return // the server is gone
					}
					var body struct{ ID string }
					_ = json.NewDecoder(resp.Body).Decode(&body)
					_, _ = io.Copy(io.Discard, resp.Body)
					_ = resp.Body.Close()
					if resp.StatusCode == http.StatusCreated {
						mu.Lock()
						acked = append(acked, body.ID)
						mu.Unlock()
					}
				}
			}()
		}
		time.Sleep(1500 * time.Millisecond)
		if err := server.cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		server.wait(t, 30*time.Second)
		close(stop)
		wg.Wait()
		if len(acked) < 20 {
			t.Fatalf("only %d creations were answered before the kill; the load did not load", len(acked))
		}

		// After a restart the sealer catches up on what was recorded before the kill.
		restarted := startServer(t, bin, env, "--dev")
		deadline := time.Now().Add(60 * time.Second)
		for {
			o := runBinary(t, bin, env, "audit", "verify", "--output", "json")
			var rep struct {
				OK      bool
				Pending int64
			}
			_ = json.Unmarshal([]byte(o.stdout), &rep)
			if o.code != 0 || !rep.OK {
				t.Fatalf("audit verify after the kill: %v", o)
			}
			if rep.Pending == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("events still pending a minute after the restart: %v", o)
			}
			time.Sleep(200 * time.Millisecond)
		}
		restarted.stop(t)

		exported := runBinary(t, bin, env, "audit", "export")
		if exported.code != 0 {
			t.Fatalf("audit export: %v", exported)
		}
		recorded := map[string]bool{}
		sc := bufio.NewScanner(strings.NewReader(exported.stdout))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var ev struct {
				Type   string
				Target struct{ ID string }
			}
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				t.Fatalf("export line %q: %v", sc.Text(), err)
			}
			if ev.Type == "admin.token.created" {
				recorded[ev.Target.ID] = true
			}
		}
		for _, id := range acked {
			if !recorded[id] {
				t.Errorf("token %s was answered 201 before the kill but its event is missing", id)
			}
		}
		t.Logf("%d acknowledged creations, all recorded", len(acked))
	})
}
