package ui

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed assets
var assets embed.FS

// Assets returns the embedded files: index.html, app.js and style.css.
func Assets() fs.FS {
	sub, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(err) // the directory is embedded above
	}
	return sub
}

// ContentSecurityPolicy is sent with every asset: the browser itself
// refuses to load or connect anywhere but the page's origin.
const ContentSecurityPolicy = "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Handler serves the page: GET / answers index.html and GET /ui/NAME
// the asset NAME; anything else under /ui/ is 404. Answers carry
// Cache-Control: no-cache, so a browser revalidates after an upgrade,
// and ContentSecurityPolicy.
func Handler() http.Handler {
	files := http.FileServerFS(Assets())
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("Content-Security-Policy", ContentSecurityPolicy)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if r.URL.Path == "/" {
			http.ServeFileFS(w, r, Assets(), "index.html")
			return
		}
		http.StripPrefix("/ui", files).ServeHTTP(w, r)
	})
}
