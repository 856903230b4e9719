//go:build integration

package test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// chromiumPath returns Debian's chromium, or skips t when it is missing.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	t.Skip("browser test skipped: chromium is not installed (apt-get install chromium, or make deps)")
	return ""
}

// browser is a headless chromium driven over the DevTools protocol. It
// records every URL the page requests and every error it logs.
type browser struct {
	ctx context.Context

	mu     sync.Mutex
	urls   []string
	errors []string // console errors (a refused load, a CSP violation) and uncaught exceptions
}

// newBrowser starts headless chromium with a fresh profile, a 1280×800
// window, and host-name lookups refused except for the page's own host:
// on a machine with no internet chromium would otherwise try Google's
// services and be refused. The browser process is stopped, by chromedp,
// when t ends.
func newBrowser(t *testing.T, chromium, base string) *browser {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	// A fresh profile, removed after the browser stops; chromium's
	// helpers can write into it a moment longer, so removal retries.
	profile, err := os.MkdirTemp("", "ovsmesh-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for os.RemoveAll(profile) != nil && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		if _, err := os.Stat(profile); err == nil {
			t.Errorf("chromium profile %s still there 5 s after the browser stopped", profile)
		}
	})
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 800),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-domain-reliability", true),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE "+u.Hostname()),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
	})
	b := &browser{ctx: bctx}
	start := time.Now()
	// The first action starts the browser, whose life is its context's:
	// no timeout on it (the test's own -timeout bounds it).
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[bool]("true")); err != nil {
		t.Fatalf("start %s: %v", chromium, err)
	}
	err = chromedp.Listen(bctx, func(ev any) {
		b.mu.Lock()
		defer b.mu.Unlock()
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			b.urls = append(b.urls, e.Request.URL)
		case *cdplog.EventEntryAdded:
			if e.Entry.Level == cdplog.EntryLevelError {
				b.errors = append(b.errors, fmt.Sprintf("%s: %s (%s)", e.Entry.Source, e.Entry.Text, e.Entry.URL))
			}
		case *runtime.EventExceptionThrown:
			b.errors = append(b.errors, (&chromedp.ExceptionError{ExceptionDetails: e.ExceptionDetails}).Error())
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("chromium (%s) started headless in %v", chromium, time.Since(start).Round(time.Millisecond))
	return b
}

// navigate loads url within timeout.
func (b *browser) navigate(url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	return chromedp.Do(ctx, chromedp.Navigate(url))
}

// do runs actions within timeout.
func (b *browser) do(timeout time.Duration, actions ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	return chromedp.Do(ctx, actions...)
}

// eval evaluates a JavaScript expression and decodes its JSON value
// into out, within 10 s.
func (b *browser) eval(expr string, out any) error {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](expr))
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, out)
}

// waitPage polls expr, which must return {ok: bool, detail: string},
// until ok or timeout, failing t with the last detail.
func (b *browser) waitPage(t *testing.T, timeout time.Duration, what, expr string) time.Duration {
	t.Helper()
	return poll(t, timeout, what, func() (bool, string) {
		var r struct {
			OK     bool   `json:"ok"`
			Detail string `json:"detail"`
		}
		if err := b.eval(expr, &r); err != nil {
			return false, err.Error()
		}
		return r.OK, r.Detail
	})
}

// requested returns the URLs the page has requested so far.
func (b *browser) requested() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.urls)
}

// checkOnlyFrom fails t if the page requested anything but base's origin.
func (b *browser) checkOnlyFrom(t *testing.T, base string) {
	t.Helper()
	urls := b.requested()
	for _, u := range urls {
		if !strings.HasPrefix(u, base+"/") {
			t.Errorf("the page requested %s, outside %s", u, base)
		}
	}
	if len(urls) == 0 {
		t.Errorf("no request recorded")
	}
}

// checkNoErrors fails t for every error the page logged or threw.
func (b *browser) checkNoErrors(t *testing.T) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range b.errors {
		t.Errorf("the page logged an error: %s", e)
	}
}

// screenshot saves a PNG of the viewport as name in the artifacts
// directory ($OVSMESH_ARTIFACTS, else /tmp/ovsmesh-artifacts, kept after
// the test) and returns its path.
func (b *browser) screenshot(t *testing.T, name string) (string, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	dir := os.Getenv("OVSMESH_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "ovsmesh-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot (%d KB) saved as test artifact %s", len(png)/1024, path)
	return path, png
}

// listenLoopback listens on a free 127.0.0.1 port for a test server.
func listenLoopback(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// jsString renders s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// jsList renders ss as a JavaScript array literal.
func jsList(ss []string) string {
	b, _ := json.Marshal(ss)
	return string(b)
}
