package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
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
	"golang.org/x/net/html"

	"github.com/identityd/identityd/store/storetest"
)

// serverPolicy is the Content-Security-Policy the server's middleware sets on every
// response (server.contentSecurityPolicy).
const serverPolicy = "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// get fetches target from a without credentials, as a browser loading the docs does.
func (a *testAPI) get(t testing.TB, target string) reply {
	t.Helper()
	return a.do(t, request{method: http.MethodGet, target: target, header: http.Header{"Authorization": nil}})
}

// references lists the URLs an HTML document refers to, from any attribute that loads
// or links something.
func references(t testing.TB, doc []byte) []string {
	t.Helper()
	root, err := html.Parse(bytes.NewReader(doc))
	if err != nil {
		t.Fatalf("parse HTML: %v", err)
	}
	var refs []string
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			for _, at := range n.Attr {
				switch at.Key {
				case "src", "href", "action", "data", "poster", "srcset", "formaction", "manifest":
					refs = append(refs, at.Val)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(root)
	return refs
}

func TestDocsAreServedFromTheBinaryWithSameOriginAssetsOnly(t *testing.T) {
	a := newAPI(t, storetest.SQLite(t))
	res := a.get(t, "/docs")
	wantStatus(t, res, http.StatusOK, nil)
	if mt, _, _ := mime.ParseMediaType(res.header.Get("Content-Type")); mt != "text/html" {
		t.Errorf("Content-Type = %q, want text/html", res.header.Get("Content-Type"))
	}
	csp := res.header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'self'") || strings.Contains(csp, "unsafe-") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("Content-Security-Policy = %q, want same-origin only, no unsafe sources, no framing", csp)
	}
	if bytes.Contains(bytes.ToLower(res.body), []byte("<script>")) {
		t.Error("the docs page has an inline script, which the policy forbids")
	}
	for _, scheme := range []string{"http://", "https://"} {
		if i := bytes.Index(bytes.ToLower(res.body), []byte(scheme)); i >= 0 {
			t.Errorf("the docs page refers to another host: %s", res.body[i:min(len(res.body), i+60)])
		}
	}

	refs := references(t, res.body)
	wantTypes := map[string]string{".js": "text/javascript", ".css": "text/css"}
	var scripts, styles int
	for _, ref := range refs {
		u, err := url.Parse(ref)
		if err != nil || u.Scheme != "" || u.Host != "" || !strings.HasPrefix(u.Path, "/docs/") {
			t.Errorf("the docs page refers to %q; want a same-origin /docs/ path", ref)
			continue
		}
		asset := a.get(t, ref)
		wantStatus(t, asset, http.StatusOK, nil)
		want := wantTypes[filepath.Ext(u.Path)]
		if mt, _, _ := mime.ParseMediaType(asset.header.Get("Content-Type")); want == "" || mt != want {
			t.Errorf("%s: Content-Type %q, want %q", ref, asset.header.Get("Content-Type"), want)
		}
		if asset.header.Get("Content-Security-Policy") == "" {
			t.Errorf("%s: no Content-Security-Policy", ref)
		}
		if len(asset.body) == 0 {
			t.Errorf("%s: empty", ref)
		}
		switch filepath.Ext(u.Path) {
		case ".js":
			scripts++
		case ".css":
			styles++
		}
	}
	if scripts < 2 || styles < 1 {
		t.Errorf("the docs page loads %d scripts and %d stylesheets (%v); want Swagger UI's bundle, its starter and its stylesheet", scripts, styles, refs)
	}

	for _, target := range []string{"/docs/index.html", "/docs/"} {
		res := a.get(t, target)
		if res.status != http.StatusMovedPermanently || res.header.Get("Location") != "/docs" {
			t.Errorf("GET %s: %d to %q, want 301 to /docs", target, res.status, res.header.Get("Location"))
		}
	}
	for _, target := range []string{"/docs/nope.js", "/docs/swagger-ui/nope.css"} {
		if res := a.get(t, target); res.status != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", target, res.status)
		}
	}
}

// docsHost is the name the browser test reaches the server by, mapped to loopback in
// the browser, so that the page runs as it does on a real host rather than on
// "localhost", which Swagger UI treats specially.
const docsHost = "identityd.test"

// chromium finds the Debian chromium binary, or skips the test (fails it where a
// browser is required).
func chromium(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	if os.Getenv("IDENTITYD_TEST_REQUIRE_BROWSER") == "1" {
		t.Fatal("chromium is required (IDENTITYD_TEST_REQUIRE_BROWSER=1) but not installed")
	}
	t.Skip("chromium not installed; skipping the browser test")
	return ""
}

// pageRecord collects what the browser reports about the pages it loads.
type pageRecord struct {
	origin string // scheme://host:port of the server

	mu         sync.Mutex
	console    []string
	violations []string
	foreign    []string // requests to any other origin
}

// cspReporter runs in every document before the page's own scripts and reports each
// Content-Security-Policy violation on the console, so that the test sees violations
// however the browser chooses to log them.
const cspReporter = `document.addEventListener("securitypolicyviolation", function (e) {
  console.error("csp-violation: " + e.violatedDirective + " blocked " + e.blockedURI);
});`

func (r *pageRecord) observe(ev any) {
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

// take returns what was recorded and starts afresh.
func (r *pageRecord) take() (console, violations, foreign []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	console, violations, foreign = r.console, r.violations, r.foreign
	r.console, r.violations, r.foreign = nil, nil, nil
	return console, violations, foreign
}

// canaryPage breaks the server's policy twice (an inline script, a data: image), to
// prove that the browser test notices violations.
const canaryPage = `<!DOCTYPE html><html><head><title>canary</title></head><body>
<script>document.title = "inline script ran";</script>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACwAAAAAAQABAAA=" alt="">
</body></html>`

func TestDocsRenderInABrowserWithinTheirContentSecurityPolicy(t *testing.T) {
	bin := chromium(t)
	a := newAPI(t, storetest.SQLite(t))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", serverPolicy) // as the server's middleware does
		if r.URL.Path == "/canary" {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write([]byte(canaryPage))
			return
		}
		a.mux.ServeHTTP(w, r)
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	origin := "http://" + docsHost + ":" + port

	profile, err := os.MkdirTemp("", "identityd-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(profile) })

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(bin),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile),
		// Only the test server resolves; nothing else can be reached even if tried.
		chromedp.Flag("host-resolver-rules", "MAP "+docsHost+" 127.0.0.1, MAP * ~NOTFOUND"),
		chromedp.Flag("no-proxy-server", true),
	)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()

	rec := &pageRecord{origin: origin}
	if err := chromedp.Listen(browser, rec.observe); err != nil {
		t.Fatalf("listen: %v", err)
	}
	if _, err := chromedp.Call(browser, page.AddScriptToEvaluateOnNewDocument,
		page.AddScriptToEvaluateOnNewDocumentParams{Source: cspReporter}); err != nil {
		t.Fatalf("add the violation reporter: %v", err)
	}

	// The canary first: a test that could not see a violation would prove nothing.
	if err := chromedp.Do(browser, chromedp.Navigate(origin+"/canary")); err != nil {
		t.Fatalf("load the canary: %v", err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		rec.mu.Lock()
		n := len(rec.violations)
		rec.mu.Unlock()
		if n >= 2 {
			break
		}
		if time.Now().After(deadline) {
			console, _, _ := rec.take()
			t.Fatalf("the canary's two violations were not both seen; the test cannot see violations. Console:\n%s",
				strings.Join(console, "\n"))
		}
	}
	if title, err := chromedp.Run(browser, chromedp.Title()); err != nil || title != "canary" {
		t.Fatalf("canary title %q (%v): the inline script ran despite the policy", title, err)
	}
	rec.take()

	if err := chromedp.Do(browser,
		chromedp.Navigate(origin+"/docs"),
		chromedp.WaitVisible(chromedp.CSS(".opblock")),
	); err != nil {
		console, _, _ := rec.take()
		t.Fatalf("Swagger UI did not render the operations: %v\nconsole:\n%s", err, strings.Join(console, "\n"))
	}
	// Open an operation, so that its parameters, responses and schemas render too.
	if err := chromedp.Do(browser,
		chromedp.Click(chromedp.CSS("#operations-Admin_tokens-create-admin-token .opblock-summary")),
		chromedp.WaitVisible(chromedp.CSS("#operations-Admin_tokens-create-admin-token .responses-wrapper")),
	); err != nil {
		t.Errorf("could not open the create-admin-token operation: %v", err)
	}
	text, err := chromedp.Run(browser, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"identityd management API", "/v1/admin-tokens", "/v1/admin-tokens/{id}", "/v1/status"} {
		if !strings.Contains(text, want) {
			t.Errorf("the rendered docs do not show %q", want)
		}
	}
	// Let late loads (fonts, images from stylesheets) report.
	if _, err := chromedp.Run(browser, chromedp.Evaluate[bool](
		`new Promise(r => requestAnimationFrame(() => setTimeout(() => r(true), 500)))`, chromedp.EvalAwaitPromise)); err != nil {
		t.Fatal(err)
	}

	shot, err := chromedp.Run(browser, chromedp.FullScreenshot(100))
	if err != nil {
		t.Errorf("screenshot: %v", err)
	} else {
		dir := os.Getenv("IDENTITYD_TEST_ARTIFACTS")
		if dir == "" {
			dir = t.TempDir()
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "docs.png")
		if err := os.WriteFile(path, shot, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", path)
	}

	console, violations, foreign := rec.take()
	for _, m := range console {
		t.Logf("%s", m)
	}
	for _, v := range violations {
		t.Errorf("Content-Security-Policy violation: %s", v)
	}
	for _, u := range foreign {
		t.Errorf("the docs made a request to another origin: %s", u)
	}
	for _, m := range console {
		// Browsers ask for /favicon.ico on their own; the admin listener has none.
		if strings.HasSuffix(m, origin+"/favicon.ico") {
			continue
		}
		if strings.HasPrefix(m, "exception:") || strings.HasPrefix(m, "console.error:") || strings.Contains(m, "/error:") {
			t.Errorf("the docs logged an error: %s", m)
		}
	}
}
