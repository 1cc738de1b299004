package ui_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/identityd/identityd/ui"
)

func TestTheOperatorsLogoIsServedAsAnInertImage(t *testing.T) {
	dir := t.TempDir()
	svg := filepath.Join(dir, "logo.svg")
	if err := os.WriteFile(svg, []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), 0o600); err != nil {
		t.Fatal(err)
	}
	logo, err := ui.LoadLogo(svg)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(logo.URL, ui.LogoPath+"?v=") {
		t.Errorf("URL %q", logo.URL)
	}
	w := httptest.NewRecorder()
	logo.ServeHTTP(w, httptest.NewRequest(http.MethodGet, logo.URL, nil))
	if w.Header().Get("Content-Type") != "image/svg+xml" || !strings.Contains(w.Header().Get("Content-Security-Policy"), "sandbox") {
		t.Errorf("headers %v", w.Header())
	}
	for name, content := range map[string][]byte{
		"logo.gif":  []byte("GIF89a"),
		"large.png": bytes.Repeat([]byte{1}, 1<<20+1),
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, content, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := ui.LoadLogo(p); err == nil {
			t.Errorf("%s was accepted", name)
		}
	}
	if _, err := ui.LoadLogo(filepath.Join(dir, "missing.png")); err == nil {
		t.Error("a missing file was accepted")
	}
}
