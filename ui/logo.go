package ui

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// LogoPath is where the operator's logo is served.
const LogoPath = "/ui/logo"

// maxLogoBytes bounds a logo: it is held in memory and sent with every first page.
const maxLogoBytes = 1 << 20

// logoTypes are the image types a logo may be, by extension.
var logoTypes = map[string]string{
	".svg": "image/svg+xml", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp",
}

// Logo is the operator's logo (ui_logo_file), read once at start.
type Logo struct {
	data        []byte
	contentType string
	// URL is where pages find it, with a content hash so that browsers may keep it.
	URL string
}

// LoadLogo reads the logo at path, refusing other types and large files with an error
// that says which.
func LoadLogo(path string) (*Logo, error) {
	ct, ok := logoTypes[strings.ToLower(filepath.Ext(path))]
	if !ok {
		return nil, fmt.Errorf("ui: logo %s: use an .svg, .png, .jpg or .webp image", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("ui: logo: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxLogoBytes+1))
	if err != nil {
		return nil, fmt.Errorf("ui: logo %s: %w", path, err)
	}
	if len(data) > maxLogoBytes {
		return nil, fmt.Errorf("ui: logo %s is larger than 1 MiB", path)
	}
	sum := sha256.Sum256(data)
	return &Logo{data: data, contentType: ct, URL: LogoPath + "?v=" + hex.EncodeToString(sum[:8])}, nil
}

// ServeHTTP serves the logo. An SVG could carry script; served as an image, with the
// pages' CSP and nosniff, it runs none, and "sandbox" keeps it inert if opened directly.
func (l *Logo) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", l.contentType)
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	_, _ = w.Write(l.data)
}
