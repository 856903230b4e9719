package api

import (
	"net"
	"net/http"
	"time"

	"golang.org/x/net/netutil"
)

// ServerOptions bound the API's HTTP server. Zero fields take the
// defaults of DefaultServerOptions.
type ServerOptions struct {
	// ReadHeaderTimeout bounds reading a request's headers.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request, body included, so a
	// request that announces a body and never sends it ends.
	ReadTimeout time.Duration
	// WriteTimeout bounds handling a request and writing the answer; it
	// must leave room for a live flow dump of a big switch
	// (Sources.FlowTimeout) and its encoding.
	WriteTimeout time.Duration
	// IdleTimeout bounds how long a kept-alive connection waits for the
	// next request.
	IdleTimeout time.Duration
	// MaxConns bounds the connections served at once; further ones wait
	// to be accepted.
	MaxConns int
}

// DefaultServerOptions are the API server's bounds: headers within 5 s,
// a request within 10 s, an answer within 60 s, idle connections kept
// 60 s, and 64 connections at once.
var DefaultServerOptions = ServerOptions{
	ReadHeaderTimeout: 5 * time.Second,
	ReadTimeout:       10 * time.Second,
	WriteTimeout:      60 * time.Second,
	IdleTimeout:       60 * time.Second,
	MaxConns:          64,
}

// NewServer returns an http.Server for h with o's timeouts, and ln
// wrapped so that at most o.MaxConns connections are served at once;
// serve it with srv.Serve(limited).
func NewServer(ln net.Listener, h http.Handler, o ServerOptions) (srv *http.Server, limited net.Listener) {
	d := DefaultServerOptions
	pick := func(v, def time.Duration) time.Duration {
		if v > 0 {
			return v
		}
		return def
	}
	if o.MaxConns <= 0 {
		o.MaxConns = d.MaxConns
	}
	srv = &http.Server{
		Handler:           h,
		ReadHeaderTimeout: pick(o.ReadHeaderTimeout, d.ReadHeaderTimeout),
		ReadTimeout:       pick(o.ReadTimeout, d.ReadTimeout),
		WriteTimeout:      pick(o.WriteTimeout, d.WriteTimeout),
		IdleTimeout:       pick(o.IdleTimeout, d.IdleTimeout),
	}
	return srv, netutil.LimitListener(ln, o.MaxConns)
}
