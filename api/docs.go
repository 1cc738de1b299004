package api

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed docs/index.html docs/init.js docs/swagger-ui/swagger-ui-bundle.js docs/swagger-ui/swagger-ui.css
var docsFS embed.FS

// docsPolicy is the server's Content-Security-Policy plus data: images, which Swagger UI's
// stylesheet uses for its icons. Scripts stay same-origin only.
const docsPolicy = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// registerDocs serves interactive API docs (Swagger UI, vendored by
// scripts/vendor-swagger-ui.sh) at /docs, from the binary: no CDN, no network.
func registerDocs(mux *http.ServeMux) {
	sub, err := fs.Sub(docsFS, "docs")
	if err != nil {
		panic(err) // the embedded directory exists; Sub fails only on an invalid name
	}
	files := http.StripPrefix("/docs/", http.FileServerFS(sub))
	index, err := fs.ReadFile(sub, "index.html")
	if err != nil {
		panic(err)
	}
	mux.HandleFunc("GET /docs", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Security-Policy", docsPolicy)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write(index)
	})
	mux.HandleFunc("GET /docs/{file...}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("file") == "index.html" || r.PathValue("file") == "" {
			http.Redirect(w, r, "/docs", http.StatusMovedPermanently)
			return
		}
		w.Header().Set("Content-Security-Policy", docsPolicy)
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	})
}
