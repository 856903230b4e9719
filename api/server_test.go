package api

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// serveTest serves h on 127.0.0.1 with o and returns the address; the
// server is shut down at the end of the test.
func serveTest(t *testing.T, h http.Handler, o ServerOptions) (addr string, accepted *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := &countingListener{Listener: ln}
	srv, limited := NewServer(cl, h, o)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(limited) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String(), &cl.n
}

// countingListener counts the connections accepted.
type countingListener struct {
	net.Listener
	n atomic.Int32
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// TestServerBodyNeverSent: a request that announces a body and never
// sends it must not pin a connection and its goroutine: the server
// closes it within ReadTimeout.
func TestServerBodyNeverSent(t *testing.T) {
	const readTimeout = 300 * time.Millisecond
	tests := []struct {
		name, request string
	}{
		{"POST to a GET route", "POST /api/v1/hosts HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n"},
		{"GET with a body", "GET /api/v1/hosts HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nabc"},
		{"handler reading the body", "PUT /read HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n"},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/hosts", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "[]") })
	mux.HandleFunc("PUT /read", func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusRequestTimeout)
		}
	})
	addr, _ := serveTest(t, mux, ServerOptions{ReadTimeout: readTimeout, ReadHeaderTimeout: readTimeout})
	before := runtime.NumGoroutine()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			start := time.Now()
			if _, err := io.WriteString(conn, tt.request); err != nil {
				t.Fatal(err)
			}
			conn.SetReadDeadline(time.Now().Add(10 * readTimeout))
			// Whatever the server answers, it must then close.
			if _, err := io.Copy(io.Discard, bufio.NewReader(conn)); err != nil {
				t.Fatalf("connection still open %v after a request whose body never came: %v", time.Since(start), err)
			}
			if d := time.Since(start); d > 5*readTimeout {
				t.Errorf("closed after %v, want within about ReadTimeout (%v)", d, readTimeout)
			}
		})
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines after the requests ended, %d before", n, before)
	}
}

// TestServerMaxConns: connections beyond MaxConns wait to be accepted
// until a served one ends (here idle ones dropped by ReadHeaderTimeout).
func TestServerMaxConns(t *testing.T) {
	const headerTimeout = 400 * time.Millisecond
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })
	addr, accepted := serveTest(t, mux, ServerOptions{MaxConns: 2, ReadHeaderTimeout: headerTimeout})
	for range 2 {
		idle, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer idle.Close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for accepted.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the server did not accept the two idle connections")
		}
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	client := &http.Client{Timeout: 10 * headerTimeout}
	resp, err := client.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if d := time.Since(start); d < headerTimeout/2 || !strings.Contains(string(body), "ok") {
		t.Errorf("third connection answered %q after %v; want it held until an idle one was dropped (%v)", body, d, headerTimeout)
	}
}
