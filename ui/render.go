package ui

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io"
	"maps"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// The embedded defaults; an operator's OverrideDir may replace any file by name.
//
//go:embed templates/*.html static/*
var embedded embed.FS

// pages are the pages a View may name, each rendered from templates/<page>.html in the
// layout.
var pages = []string{
	"login", "logout", "consent", "register", "registered", "verify", "forgot_password",
	"reset_password", "account", "error",
}

// layoutFile is the template every page extends.
const layoutFile = "layout.html"

// staticPrefix is where Static is mounted: the start of every asset URL.
const staticPrefix = "/static/"

// staticTypes are the content types of the static files, set rather than sniffed or
// read from the host's MIME tables, so that a browser told nosniff always accepts them.
var staticTypes = map[string]string{
	".css": "text/css; charset=utf-8",
	".svg": "image/svg+xml",
}

// Options configure a Renderer.
type Options struct {
	// Product is the product name (product_name) every page shows.
	Product string
	// LogoURL, when set, is an image shown beside the product name. The pages'
	// Content-Security-Policy allows images only from identityd's own origin.
	LogoURL string
	// OverrideDir is a directory of the operator's files (IDENTITYD_UI_TEMPLATES_DIR), or
	// "" for none: a file in it with the name of an embedded template (login.html,
	// layout.html, …) or static file (style.css, icon.svg) replaces that file. Names
	// starting with "." are ignored, so that editors' and Kubernetes' own files may sit
	// there.
	OverrideDir string
	// PasswordMinLength is the password policy's minimum length (password_min_length),
	// stated in the hint under new-password fields and set as their minlength; 0 leaves
	// both out.
	PasswordMinLength int
}

// Renderer renders identityd's HTML pages and serves their static files. It is safe for
// concurrent use.
type Renderer struct {
	product string
	logoURL string
	pages   map[string]*template.Template
	static  map[string]staticFile
}

// staticFile is one file Static serves.
type staticFile struct {
	data        []byte
	contentType string
	// version is a hash of data: asset URLs carry it, so that a cached copy is never
	// stale.
	version string
}

// NewRenderer parses the embedded templates, with the files of o.OverrideDir in place of
// those they replace, and renders every page with sample data, so that an override that
// does not parse or does not fit the pages' data fails here, naming its file, rather than
// in front of a user.
func NewRenderer(o Options) (*Renderer, error) {
	if strings.TrimSpace(o.Product) == "" {
		return nil, errors.New("ui: renderer: product name is empty")
	}
	files, origin, err := loadFiles(o.OverrideDir)
	if err != nil {
		return nil, err
	}
	r := &Renderer{product: o.Product, logoURL: o.LogoURL, pages: map[string]*template.Template{}, static: map[string]staticFile{}}
	for p, data := range files {
		if name, ok := strings.CutPrefix(p, "static/"); ok {
			sum := sha256.Sum256(data)
			r.static[name] = staticFile{data: data, contentType: staticTypes[path.Ext(name)], version: hex.EncodeToString(sum[:8])}
		}
	}
	funcs := template.FuncMap{
		"static":            r.assetURL,
		"formatTime":        formatTime,
		"isoTime":           isoTime,
		"passwordMinLength": func() int { return o.PasswordMinLength },
	}
	layoutPath := "templates/" + layoutFile
	layout, err := template.New(layoutFile).Funcs(funcs).Parse(string(files[layoutPath]))
	if err != nil {
		return nil, fmt.Errorf("ui: %s: %w", origin[layoutPath], err)
	}
	for _, page := range pages {
		file := page + ".html"
		p := "templates/" + file
		t, err := layout.Clone()
		if err != nil {
			return nil, fmt.Errorf("ui: %s: %w", origin[p], err)
		}
		if _, err := t.New(file).Parse(string(files[p])); err != nil {
			return nil, fmt.Errorf("ui: %s: %w", origin[p], err)
		}
		// The layout defines an empty "content", so a page file without one would render
		// an empty card rather than fail.
		if c := t.Lookup("content"); c == nil || c.Tree == nil || c.Tree.ParseName != file {
			return nil, fmt.Errorf(`ui: %s: does not define "content", the page's body`, origin[p])
		}
		r.pages[page] = t
	}
	for _, v := range sampleViews() {
		if err := r.execute(io.Discard, v); err != nil {
			return nil, fmt.Errorf("ui: %s with %s fails on sample data: %w", origin["templates/"+v.Page+".html"], origin[layoutPath], err)
		}
	}
	return r, nil
}

// loadFiles reads the embedded templates and static files, keyed by their paths
// ("templates/login.html", "static/style.css"), then puts each file of overrideDir in
// place of the one with its name. origin says where each file came from, for errors.
func loadFiles(overrideDir string) (map[string][]byte, map[string]string, error) {
	files, origin := map[string][]byte{}, map[string]string{}
	byName := map[string]string{}
	for _, dir := range []string{"templates", "static"} {
		entries, err := embedded.ReadDir(dir)
		if err != nil {
			return nil, nil, fmt.Errorf("ui: embedded %s: %w", dir, err)
		}
		for _, e := range entries {
			p := dir + "/" + e.Name()
			if dir == "static" && staticTypes[path.Ext(p)] == "" {
				return nil, nil, fmt.Errorf("ui: embedded %s: no content type for %q files", p, path.Ext(p))
			}
			data, err := embedded.ReadFile(p)
			if err != nil {
				return nil, nil, fmt.Errorf("ui: embedded %s: %w", p, err)
			}
			files[p] = data
			origin[p], byName[e.Name()] = "embedded "+p, p
		}
	}
	if overrideDir == "" {
		return files, origin, nil
	}
	entries, err := os.ReadDir(overrideDir)
	if err != nil {
		return nil, nil, fmt.Errorf("ui: templates directory: %w", err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		file := filepath.Join(overrideDir, e.Name())
		p, ok := byName[e.Name()]
		if !ok {
			names := slices.Sorted(maps.Keys(byName))
			return nil, nil, fmt.Errorf("ui: %s: replaces no embedded file; their names are %s", file, strings.Join(names, ", "))
		}
		// ReadFile follows symbolic links, which is how Kubernetes mounts a ConfigMap.
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, nil, fmt.Errorf("ui: %w", err)
		}
		files[p], origin[p] = data, file
	}
	return files, origin, nil
}

// Render writes page v.Page with status, Product and LogoURL filled in. Pages carry CSRF
// tokens and personal data, so no cache may keep them. The page is rendered in full
// before anything is written: when rendering fails, the client gets a plain 500 rather
// than half a page, and the error is returned for the caller to log. A failed write is
// not returned: it means the client has gone, which is nobody's error.
func (r *Renderer) Render(w http.ResponseWriter, status int, v View) error {
	v.Product, v.LogoURL = r.product, r.logoURL
	var buf bytes.Buffer
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	if err := r.execute(&buf, v); err != nil {
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return fmt.Errorf("ui: render %q: %w", v.Page, err)
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
	return nil
}

// execute renders v into w.
func (r *Renderer) execute(w io.Writer, v View) error {
	t, ok := r.pages[v.Page]
	if !ok {
		return fmt.Errorf("no page %q", v.Page)
	}
	return t.ExecuteTemplate(w, layoutFile, v)
}

// assetURL is the URL of static file name, with its version as the query, so that a
// changed file is a new URL and each version may be cached for good.
func (r *Renderer) assetURL(name string) (string, error) {
	f, ok := r.static[name]
	if !ok {
		return "", fmt.Errorf("no static file %q", name)
	}
	return staticPrefix + name + "?v=" + f.version, nil
}

// Static serves the static files, each at its name: mount it under /static/ as one
// would http.FileServer, with http.StripPrefix("/static", r.Static()). A request carrying
// the file's current version (as the pages' URLs do) may be cached for a year; any other
// is revalidated with its ETag, so that it never outlives the file.
func (r *Renderer) Static() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		f, ok := r.static[strings.TrimPrefix(req.URL.Path, "/")]
		if !ok {
			http.NotFound(w, req)
			return
		}
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Content-Type", f.contentType)
		h.Set("ETag", `"`+f.version+`"`)
		if req.URL.Query().Get("v") == f.version {
			h.Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			h.Set("Cache-Control", "no-cache")
		}
		http.ServeContent(w, req, "", time.Time{}, bytes.NewReader(f.data))
	})
}

// timeLayout is how pages show a time: day first and the month in letters, which no
// reader can take for another date, and in UTC, since the server does not know the
// reader's zone.
const timeLayout = "2 Jan 2006, 15:04 UTC"

// formatTime shows t for people: "21 Nov 2026, 14:05 UTC".
func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// isoTime is t for machines, as <time datetime> wants it.
func isoTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// sampleViews are views of every page that between them take each branch of the
// embedded templates: one with everything set and one with nothing.
func sampleViews() []View {
	at := time.Date(2026, 11, 21, 14, 5, 0, 0, time.UTC)
	errs := map[string]string{
		"email": "Enter an email address.", "name": "Use at most 200 characters.",
		"password": "Use at least 8 characters.", "current_password": "That is not your current password.",
		"new_password": "Use at least 8 characters.",
	}
	full := map[string]any{
		"login":  LoginData{Flow: "flow", Identifier: "ada@example.com", RegisterEnabled: true},
		"logout": LogoutData{ReturnTo: "/oauth2/logout?client_id=app"},
		"consent": ConsentData{App: "App", ReturnTo: "/oauth2/auth?client_id=app",
			Scopes: []ScopeRow{{Name: "openid", Description: "Sign you in"}}, Audience: []string{"api"}},
		"register":        RegisterData{Email: "ada@example.com", Name: "Ada", Errors: errs},
		"registered":      RegisteredData{},
		"verify":          VerifyData{Token: "token", Done: true},
		"forgot_password": ForgotData{Email: "ada@example.com", Sent: true},
		"reset_password":  ResetData{Token: "token", Errors: errs},
		"account": AccountData{Email: "ada@example.com", EmailVerified: true, Username: "ada", Name: "Ada", Errors: errs,
			Sessions: []SessionRow{
				{ID: "a", Current: true, Device: "Firefox on Linux", IP: "192.0.2.1", SignedIn: at, LastSeen: at, Methods: "password"},
				{ID: "b", SignedIn: at},
			},
			Apps: []AppRow{{ClientID: "app", Name: "App", Scopes: []ScopeRow{{Name: "email", Description: "See your email"}}, GrantedAt: at},
				{ClientID: "nameless", GrantedAt: at}}},
		"error": ErrorData{Status: http.StatusNotFound, Message: "This page does not exist."},
	}
	empty := map[string]any{
		"login": LoginData{}, "logout": LogoutData{}, "consent": ConsentData{}, "register": RegisterData{}, "registered": RegisteredData{},
		"verify": VerifyData{}, "forgot_password": ForgotData{}, "reset_password": ResetData{},
		"account": AccountData{}, "error": ErrorData{},
	}
	var views []View
	for _, page := range pages {
		views = append(views,
			View{Page: page, Title: "Title", Product: "Product", LogoURL: "/logo.png", CSRF: "csrf", Alert: "Alert",
				Notice: "Notice", SignedIn: &Person{Name: "Ada", Email: "ada@example.com"}, RequestID: "req", Data: full[page]},
			View{Page: page, Data: empty[page]})
	}
	return views
}
