package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestPprofLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:6061", ":6061", "198.19.0.1:6061", "localhost:6061", "127.0.0.1"} {
		if err := checkPprofAddr(addr); err == nil {
			t.Errorf("checkPprofAddr(%q) accepted", addr)
		}
	}
	for _, addr := range []string{"127.0.0.1:6061", "[::1]:6061", "127.0.0.2:0"} {
		if err := checkPprofAddr(addr); err != nil {
			t.Errorf("checkPprofAddr(%q) = %v", addr, err)
		}
	}
}

func TestPprofServes(t *testing.T) {
	ln, err := listenPprof("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := pprofServer()
	go srv.Serve(ln)
	defer srv.Close()
	resp, err := http.Get("http://" + ln.Addr().String() + "/debug/pprof/heap?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "heap profile") {
		t.Errorf("GET heap: %s %.80q", resp.Status, body)
	}
}
