package api_test

import (
	"bytes"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/net/html"

	"github.com/identityd/identityd/store/storetest"
	"github.com/identityd/identityd/ui/uitest"
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

// canaryPage breaks the server's policy twice (an inline script, a data: image), to
// prove that the browser test notices violations.
const canaryPage = `<!DOCTYPE html><html><head><title>canary</title></head><body>
<script>document.title = "inline script ran";</script>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACwAAAAAAQABAAA=" alt="">
</body></html>`

func TestDocsRenderInABrowserWithinTheirContentSecurityPolicy(t *testing.T) {
	b := uitest.NewBrowser(t, docsHost)
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
	tab := b.Tab(t, origin)

	// The canary first: a test that could not see a violation would prove nothing.
	tab.Do(t, chromedp.Navigate(origin+"/canary"))
	for deadline := time.Now().Add(10 * time.Second); tab.Record.Violations() < 2; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			console, _, _ := tab.Record.Take()
			t.Fatalf("the canary's two violations were not both seen; the test cannot see violations. Console:\n%s",
				strings.Join(console, "\n"))
		}
	}
	if title, err := chromedp.Run(tab.Ctx, chromedp.Title()); err != nil || title != "canary" {
		t.Fatalf("canary title %q (%v): the inline script ran despite the policy", title, err)
	}
	tab.Record.Take()

	tab.Do(t, chromedp.Navigate(origin+"/docs"), chromedp.WaitVisible(chromedp.CSS(".opblock")))
	// Open an operation, so that its parameters, responses and schemas render too.
	tab.Do(t,
		chromedp.Click(chromedp.CSS("#operations-Admin_tokens-create-admin-token .opblock-summary")),
		chromedp.WaitVisible(chromedp.CSS("#operations-Admin_tokens-create-admin-token .responses-wrapper")),
	)
	text, err := chromedp.Run(tab.Ctx, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"identityd management API", "/v1/admin-tokens", "/v1/admin-tokens/{id}", "/v1/status"} {
		if !strings.Contains(text, want) {
			t.Errorf("the rendered docs do not show %q", want)
		}
	}
	// Let late loads (fonts, images from stylesheets) report.
	if _, err := chromedp.Run(tab.Ctx, chromedp.Evaluate[bool](
		`new Promise(r => requestAnimationFrame(() => setTimeout(() => r(true), 500)))`, chromedp.EvalAwaitPromise)); err != nil {
		t.Fatal(err)
	}
	tab.Screenshot(t, "docs")
	// Browsers ask for /favicon.ico on their own; the admin listener has none.
	tab.Clean(t, origin+"/favicon.ico")
}
