package server_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/identityd/identityd/server"
	"github.com/identityd/identityd/store/storetest"
	"github.com/identityd/identityd/syncbuf"
)

// loadClients is how many clients the load run keeps busy at once.
const loadClients = 64

// loadDuration is how long each phase of the load run lasts: IDENTITYD_LOAD_DURATION
// (60s for the figures in the README), or a short run that CI makes on every change.
func loadDuration(t *testing.T) time.Duration {
	v := os.Getenv("IDENTITYD_LOAD_DURATION")
	if v == "" {
		return 2 * time.Second
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		t.Fatalf("IDENTITYD_LOAD_DURATION=%q: want a positive duration such as 60s", v)
	}
	return d
}

// loadResult is what one phase measured.
type loadResult struct {
	name      string
	latencies []time.Duration
	errors    int
	firstErr  error
	elapsed   time.Duration
}

func (r *loadResult) String() string {
	slices.Sort(r.latencies)
	pct := func(p float64) time.Duration {
		if len(r.latencies) == 0 {
			return 0
		}
		return r.latencies[min(len(r.latencies)-1, int(p*float64(len(r.latencies))))]
	}
	return fmt.Sprintf("%-13s %7d done  %8.0f/s  p50 %8v  p99 %8v  errors %d", r.name, len(r.latencies),
		float64(len(r.latencies))/r.elapsed.Seconds(), pct(0.50).Round(10*time.Microsecond),
		pct(0.99).Round(10*time.Microsecond), r.errors)
}

// phase runs op on loadClients goroutines (op receives the client's number) for d and
// times every call.
func phase(name string, d time.Duration, op func(client int) error) *loadResult {
	res := &loadResult{name: name}
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	for c := range loadClients {
		wg.Go(func() {
			var lat []time.Duration
			var errs int
			var first error
			for time.Now().Before(deadline) {
				t0 := time.Now()
				if err := op(c); err != nil {
					errs++
					if first == nil {
						first = err
					}
					continue
				}
				lat = append(lat, time.Since(t0))
			}
			mu.Lock()
			res.latencies = append(res.latencies, lat...)
			res.errors += errs
			if res.firstErr == nil {
				res.firstErr = first
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	return res
}

// loadClient is one of the run's clients: its own connections and, for the code flow, its
// own browser cookies (one signed-in person each).
type loadClient struct {
	http *http.Client
}

func newLoadClient(t *testing.T) *loadClient {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 4, IdleConnTimeout: time.Minute}
	t.Cleanup(tr.CloseIdleConnections)
	return &loadClient{http: &http.Client{Jar: jar, Transport: tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// form posts values to u with HTTP Basic client authentication and decodes a JSON answer.
func (c *loadClient) form(u, id, secret string, values url.Values, into any) error {
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(values.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST %s: %d %s", u, resp.StatusCode, body)
	}
	return json.Unmarshal(body, into)
}

var hiddenField = regexp.MustCompile(`name="(csrf_token|flow)" value="([^"]*)"`)

// signIn signs the client's person in through the sign-in page, as a browser would.
func (c *loadClient) signIn(origin, email, password string) error {
	next := origin + "/login"
	var resp *http.Response
	for hops := 0; ; hops++ {
		var err error
		if resp, err = c.http.Get(next); err != nil {
			return err
		}
		loc, err := resp.Location()
		if err != nil || hops == 3 {
			break
		}
		resp.Body.Close()
		next = loc.String()
	}
	page, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		return fmt.Errorf("sign-in page: %d %v", resp.StatusCode, err)
	}
	values := url.Values{"identifier": {email}, "password": {password}}
	for _, m := range hiddenField.FindAllSubmatch(page, -1) {
		values.Set(string(m[1]), string(m[2]))
	}
	resp, err = c.http.PostForm(origin+"/login", values)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		return fmt.Errorf("sign-in: %d", resp.StatusCode)
	}
	return nil
}

// codeFlow runs the authorization code flow with PKCE for a signed-in person: the
// authorization request (answered with a code, the person being signed in already and
// the app first-party) and the code's exchange at the token endpoint.
func (c *loadClient) codeFlow(origin, id, secret, redirect string) error {
	verifier := base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("%032d", time.Now().UnixNano())))
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"response_type": {"code"}, "client_id": {id}, "redirect_uri": {redirect},
		"scope": {"openid profile email"}, "state": {"state-of-the-app"}, "nonce": {"nonce-of-the-app"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	next := origin + "/oauth2/auth?" + q.Encode()
	for hops := 0; ; hops++ {
		if hops == 5 {
			return errors.New("authorization: too many redirects")
		}
		resp, err := c.http.Get(next)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		loc, err := resp.Location()
		if err != nil {
			return fmt.Errorf("authorization: %d without a redirect", resp.StatusCode)
		}
		if !strings.HasPrefix(loc.String(), redirect+"?") {
			next = loc.String()
			continue
		}
		code := loc.Query().Get("code")
		if code == "" || loc.Query().Get("state") != "state-of-the-app" {
			return fmt.Errorf("authorization: redirected to %s", loc.Redacted())
		}
		var tok struct {
			AccessToken string `json:"access_token"`
			IDToken     string `json:"id_token"`
		}
		if err := c.form(origin+"/oauth2/token", id, secret, url.Values{"grant_type": {"authorization_code"},
			"code": {code}, "redirect_uri": {redirect}, "code_verifier": {verifier}}, &tok); err != nil {
			return err
		}
		if tok.AccessToken == "" || tok.IDToken == "" {
			return errors.New("token: no access or ID token")
		}
		return nil
	}
}

// TestLoadOfSixtyFourClientsOverLoopbackHasNoErrors runs identityd as it is served —
// real listeners, the sealer, the job queue — and keeps 64 clients busy over loopback
// with client_credentials token requests, then introspections of JWT access tokens by a
// resource server, then full authorization code flows with PKCE for signed-in people.
// Every request must succeed; the rates and latencies are logged. CI runs each phase
// for 2 s; IDENTITYD_LOAD_DURATION=60s gives the README's figures.
func TestLoadOfSixtyFourClientsOverLoopbackHasNoErrors(t *testing.T) {
	d := loadDuration(t)
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		_ = ln.Close()
		origin := "http://" + addr
		// One machine's clients all come from 127.0.0.1: the per-address limits, which
		// are for the internet, are raised for them.
		cfg := testConfig(t, dbURL, append(fastHashing, "IDENTITYD_PUBLIC_ADDR="+addr, "IDENTITYD_ISSUER="+origin,
			"IDENTITYD_RATE_LIMIT_REQUESTS=0", "IDENTITYD_UI_POST_LIMIT=10000")...)
		cfg.AdminAddr = "127.0.0.2:0"
		// Warnings and errors only: a line per request would be the run's biggest cost.
		logs := &syncbuf.Buffer{}
		s, err := server.New(t.Context(), cfg, slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn})), "test")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		serve(t, s)
		_, admin := s.Handlers()
		token := adminToken(t, dbURL)

		apiID, apiSecret := registerApp(t, admin, token, map[string]any{"name": "Reports API",
			"grant_types": []string{"client_credentials"}})
		workerID, workerSecret := registerApp(t, admin, token, map[string]any{"name": "Nightly job",
			"grant_types": []string{"client_credentials"}, "scopes": []string{"reports"}, "audience": []string{apiID}})
		redirect := "http://127.0.0.1:9/callback"
		appID, appSecret := registerApp(t, admin, token, map[string]any{"name": "Mail", "first_party": true,
			"grant_types": []string{"authorization_code"}, "redirect_uris": []string{redirect},
			"scopes": []string{"openid", "profile", "email"}})
		if w := call(t, admin, "POST", "/v1/users", token, "application/json",
			`{"email":"ada@example.com","name":"Ada Lovelace","password":"violet kettle drum 42","email_verified":true}`); w.Code != http.StatusCreated {
			t.Fatalf("create user: %d %s", w.Code, w.Body)
		}

		clients := make([]*loadClient, loadClients)
		tokens := make([]string, loadClients)
		for i := range clients {
			clients[i] = newLoadClient(t)
			if err := clients[i].signIn(origin, "ada@example.com", "violet kettle drum 42"); err != nil {
				t.Fatalf("client %d: %v", i, err)
			}
			var tok struct {
				AccessToken string `json:"access_token"`
			}
			if err := clients[i].form(origin+"/oauth2/token", workerID, workerSecret, url.Values{
				"grant_type": {"client_credentials"}, "scope": {"reports"}, "audience": {apiID}}, &tok); err != nil {
				t.Fatal(err)
			}
			tokens[i] = tok.AccessToken
		}

		results := []*loadResult{
			phase("token", d, func(c int) error {
				var tok struct {
					AccessToken string `json:"access_token"`
				}
				return clients[c].form(origin+"/oauth2/token", workerID, workerSecret, url.Values{
					"grant_type": {"client_credentials"}, "scope": {"reports"}, "audience": {apiID}}, &tok)
			}),
			phase("introspection", d, func(c int) error {
				var got struct {
					Active bool `json:"active"`
				}
				if err := clients[c].form(origin+"/oauth2/introspect", apiID, apiSecret,
					url.Values{"token": {tokens[c]}}, &got); err != nil {
					return err
				}
				if !got.Active {
					return errors.New("introspection: a valid token is inactive")
				}
				return nil
			}),
			phase("code flow", d, func(c int) error { return clients[c].codeFlow(origin, appID, appSecret, redirect) }),
		}
		if strings.Contains(logs.String(), `"level":"ERROR"`) {
			t.Errorf("the server logged errors under load:\n%s", logs)
		}
		for _, r := range results {
			t.Logf("%d clients, %v: %s", loadClients, d, r)
			if r.errors > 0 {
				t.Errorf("%s: %d errors, the first: %v", r.name, r.errors, r.firstErr)
			}
			if len(r.latencies) == 0 {
				t.Errorf("%s: nothing completed", r.name)
			}
		}
	})
}
