// Package uitest drives pages in headless Chromium for tests: it finds the browser, starts
// it so that it reaches the test's server and nothing else, gives each simulated person a
// browser context of their own (their own cookies), records what pages log — Content
// Security Policy violations above all, and requests to other origins — and keeps
// screenshots as test artifacts.
package uitest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Environment variables the package reads.
const (
	// EnvRequireBrowser makes a missing Chromium fail tests instead of skipping them.
	EnvRequireBrowser = "IDENTITYD_TEST_REQUIRE_BROWSER"
	// EnvArtifacts names the directory screenshots are kept in.
	EnvArtifacts = "IDENTITYD_TEST_ARTIFACTS"
)

// Chromium returns the path of the Debian chromium binary, or skips the test — fails it
// where a browser is required.
func Chromium(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	if os.Getenv(EnvRequireBrowser) == "1" {
		t.Fatalf("chromium is required (%s=1) but not installed", EnvRequireBrowser)
	}
	t.Skip("chromium not installed; skipping the browser test")
	return ""
}

// Browser is a headless Chromium for one test, closed when the test ends.
type Browser struct {
	// root is the browser's first context, which started the process; tabs open in
	// browser contexts of their own beside it.
	root context.Context
}

// NewBrowser starts Chromium with host resolving to loopback and every other name to
// nothing, so that a page can reach the test's server only, under a real-looking name.
func NewBrowser(t testing.TB, host string) *Browser {
	t.Helper()
	bin := Chromium(t)
	profile, err := os.MkdirTemp("", "identityd-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(profile) })
	alloc, cancel := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(bin),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.UserDataDir(profile),
		chromedp.Flag("host-resolver-rules", "MAP "+host+" 127.0.0.1, MAP * ~NOTFOUND"),
		chromedp.Flag("no-proxy-server", true),
		chromedp.WindowSize(1280, 900),
	)
	t.Cleanup(cancel)
	root, cancelRoot := chromedp.NewContext(alloc)
	t.Cleanup(cancelRoot)
	if err := chromedp.Do(root); err != nil {
		t.Fatalf("uitest: start chromium: %v", err)
	}
	return &Browser{root: root}
}

// Tab is a page in a browser context of its own, as a separate person's browser.
type Tab struct {
	// Ctx runs chromedp actions in the tab.
	Ctx context.Context
	// Record collects what the tab's pages report.
	Record *Recorder
}

// Tab opens a tab in a new browser context (its own cookies and storage), whose pages
// report Content Security Policy violations to Record; origin is the server's
// scheme://host:port, requests elsewhere are recorded as foreign.
func (b *Browser) Tab(t testing.TB, origin string) *Tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.root, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	rec := &Recorder{origin: origin}
	if err := chromedp.Listen(ctx, rec.observe); err != nil {
		t.Fatalf("uitest: listen: %v", err)
	}
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument,
		page.AddScriptToEvaluateOnNewDocumentParams{Source: CSPReporter}); err != nil {
		t.Fatalf("uitest: add the violation reporter: %v", err)
	}
	return &Tab{Ctx: ctx, Record: rec}
}

// Do runs actions in the tab, with a deadline, and fails the test on an error, showing
// what the page logged.
func (tab *Tab) Do(t testing.TB, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab.Ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		console, _, _ := tab.Record.Take()
		t.Fatalf("uitest: %v\nconsole:\n%s", err, strings.Join(console, "\n"))
	}
}

// Screenshot keeps a full-page screenshot of the tab as name.png among the test's
// artifacts (EnvArtifacts, or the test's temporary directory).
func (tab *Tab) Screenshot(t testing.TB, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab.Ctx, 30*time.Second)
	defer cancel()
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Errorf("uitest: screenshot %s: %v", name, err)
		return
	}
	dir := os.Getenv(EnvArtifacts)
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// CSPReporter runs in every document before the page's own scripts and reports each
// Content Security Policy violation on the console, so that the test sees violations
// however the browser chooses to log them.
const CSPReporter = `document.addEventListener("securitypolicyviolation", function (e) {
  console.error("csp-violation: " + e.violatedDirective + " blocked " + e.blockedURI);
});`

// Recorder collects what a tab's pages report.
type Recorder struct {
	origin string

	mu         sync.Mutex
	console    []string
	violations []string
	foreign    []string // requests to any other origin
}

func (r *Recorder) observe(ev any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		var parts []string
		for _, arg := range ev.Args {
			if arg.Type == runtime.RemoteObjectTypeString {
				var s string
				if err := json.Unmarshal(arg.Value, &s); err == nil {
					parts = append(parts, s)
					continue
				}
			}
			parts = append(parts, arg.Description+string(arg.Value))
		}
		msg := "console." + string(ev.Type) + ": " + strings.Join(parts, " ")
		r.console = append(r.console, msg)
		if strings.Contains(msg, "csp-violation") {
			r.violations = append(r.violations, msg)
		}
	case *runtime.EventExceptionThrown:
		msg := "exception: " + ev.ExceptionDetails.Text
		if ev.ExceptionDetails.Exception != nil {
			msg += " " + ev.ExceptionDetails.Exception.Description
		}
		r.console = append(r.console, msg)
	case *cdplog.EventEntryAdded:
		msg := fmt.Sprintf("log %s/%s: %s %s", ev.Entry.Source, ev.Entry.Level, ev.Entry.Text, ev.Entry.URL)
		r.console = append(r.console, msg)
		if strings.Contains(ev.Entry.Text, "Content Security Policy") {
			r.violations = append(r.violations, msg)
		}
	case *network.EventRequestWillBeSent:
		u, err := url.Parse(ev.Request.URL)
		if err != nil || (u.Scheme != "data" && u.Scheme != "blob" && u.Scheme+"://"+u.Host != r.origin) {
			r.foreign = append(r.foreign, ev.Request.URL)
		}
	}
}

// Violations is how many Content Security Policy violations were recorded so far.
func (r *Recorder) Violations() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.violations)
}

// Take returns what was recorded and starts afresh.
func (r *Recorder) Take() (console, violations, foreign []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	console, violations, foreign = r.console, r.violations, r.foreign
	r.console, r.violations, r.foreign = nil, nil, nil
	return console, violations, foreign
}

// Clean fails the test for every violation, foreign request and error the tab's pages
// reported since the last Take, and starts afresh. Console messages about ignore (such as
// a favicon the server does not have) are let through.
func (tab *Tab) Clean(t testing.TB, ignore ...string) {
	t.Helper()
	console, violations, foreign := tab.Record.Take()
	for _, v := range violations {
		t.Errorf("Content-Security-Policy violation: %s", v)
	}
	for _, u := range foreign {
		t.Errorf("a page made a request to another origin: %s", u)
	}
	for _, m := range console {
		if strings.HasPrefix(m, "exception:") || strings.HasPrefix(m, "console.error:") || strings.Contains(m, "/error:") {
			ignored := false
			for _, s := range ignore {
				ignored = ignored || strings.Contains(m, s)
			}
			if !ignored {
				t.Errorf("a page logged an error: %s", m)
			}
		}
	}
}
