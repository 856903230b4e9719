package main

import (
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"time"
)

// checkPprofAddr returns an error unless addr is "IP:PORT" with a
// loopback IP. Profiles show the controller's memory (flows, MACs,
// tokens in flight) and a CPU profile costs CPU while it runs, so they
// are never served beyond this machine.
func checkPprofAddr(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--pprof %q: %w", addr, err)
	}
	if ip, err := netip.ParseAddr(host); err != nil || !ip.IsLoopback() {
		return fmt.Errorf("--pprof %q: want a loopback address such as 127.0.0.1:6061 (profiles expose the controller's memory)", addr)
	}
	return nil
}

// listenPprof listens on addr for the --pprof server after checking it
// with checkPprofAddr.
func listenPprof(addr string) (net.Listener, error) {
	if err := checkPprofAddr(addr); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--pprof: %w", err)
	}
	return ln, nil
}

// pprofServer serves net/http/pprof's handlers under /debug/pprof/ on
// its own mux (never the API's), with no write timeout: a CPU profile
// or trace streams for as long as its seconds= parameter asks.
func pprofServer() *http.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
}
