package ui

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// svgNamespace is the one URL the assets may contain: a namespace name,
// which browsers never fetch.
const svgNamespace = "http://www.w3.org/2000/svg"

var (
	urlRE = regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}[^\s"'()]*`)
	refRE = regexp.MustCompile(`(?i)\b(?:src|href)\s*=\s*"([^"]*)"`)
	cssRE = regexp.MustCompile(`(?i)url\(\s*['"]?([^'")]*)|@import`)
)

// TestAssetsLoadNothingFromElsewhere: no asset names another host (no
// CDN, no web font, no analytics), every reference of the page is an
// embedded asset, and the CSS loads nothing but in-page fragments.
func TestAssetsLoadNothingFromElsewhere(t *testing.T) {
	files := Assets()
	names := map[string]bool{}
	err := fs.WalkDir(files, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		names[path] = true
		data, err := fs.ReadFile(files, path)
		if err != nil {
			return err
		}
		for _, u := range urlRE.FindAllString(string(data), -1) {
			if u != svgNamespace {
				t.Errorf("%s names %q: assets must load nothing from another host", path, u)
			}
		}
		if strings.HasSuffix(path, ".css") {
			for _, m := range cssRE.FindAllStringSubmatch(string(data), -1) {
				if m[0] == "@import" || !strings.HasPrefix(m[1], "#") {
					t.Errorf("%s: %q loads something; only url(#fragment) is allowed", path, m[0])
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"index.html", "app.js", "style.css"} {
		if !names[want] {
			t.Errorf("asset %s is not embedded (have %v)", want, names)
		}
	}
	page, _ := fs.ReadFile(files, "index.html")
	refs := refRE.FindAllStringSubmatch(string(page), -1)
	if len(refs) < 2 {
		t.Fatalf("index.html references %v; want at least the script and the style sheet", refs)
	}
	for _, m := range refs {
		ref := m[1]
		switch {
		case strings.HasPrefix(ref, "data:"):
		case strings.HasPrefix(ref, "/ui/") && names[strings.TrimPrefix(ref, "/ui/")]:
		default:
			t.Errorf("index.html references %q: want /ui/ASSET of an embedded file or a data: URL", ref)
		}
	}
}

func TestHandler(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	tests := []struct {
		path   string
		status int
		want   string
	}{
		{"/", 200, "<title>ovsmesh topology</title>"},
		{"/ui/app.js", 200, "/api/v1/topology"},
		{"/ui/style.css", 200, ":root"},
		{"/ui/missing.png", 404, "404 page not found"},
	}
	for _, tt := range tests {
		resp, err := http.Get(srv.URL + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != tt.status || !strings.Contains(string(body), tt.want) {
			t.Errorf("GET %s = %d, want %d with %q; body %.200s", tt.path, resp.StatusCode, tt.status, tt.want, body)
		}
		if tt.status == 200 && (resp.Header.Get("Cache-Control") != "no-cache" || resp.Header.Get("Content-Security-Policy") != ContentSecurityPolicy) {
			t.Errorf("GET %s: Cache-Control %q, Content-Security-Policy %q; want no-cache and %q", tt.path,
				resp.Header.Get("Cache-Control"), resp.Header.Get("Content-Security-Policy"), ContentSecurityPolicy)
		}
	}
}
