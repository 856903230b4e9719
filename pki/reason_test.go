package pki

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

// TestReason labels the refusals of real handshakes (over a pipe, with
// ServerConfig and ClientConfig) and leaves non-TLS errors unlabelled.
func TestReason(t *testing.T) {
	at := Options{NotBefore: t0.Add(-time.Hour)}
	ca := mustCA(t, "ovsmesh CA", Options{NotBefore: t0.Add(-24 * time.Hour)})
	other := mustCA(t, "other CA", Options{NotBefore: t0.Add(-24 * time.Hour)})
	l := mustLoader(t, files(t, t.TempDir(), ca, mustController(t, ca, at)), LoaderOptions{Now: func() time.Time { return t0 }})
	host := mustHost(t, ca, "h1", at)
	foreign := mustHost(t, other, "h1", at)
	serverErr := func(client *tls.Config) error {
		serr, _, _, _ := handshake(t, l.ServerConfig(), client)
		return serr
	}
	clientErr := func(server KeyPair, dial string) error {
		_, cerr, _, _ := handshake(t, &tls.Config{Certificates: []tls.Certificate{server.TLS()}, ClientAuth: tls.RequireAnyClientCert}, l.ClientConfig(dial))
		return cerr
	}
	tls11 := clientWith(&host)
	tls11.MinVersion, tls11.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
	plain := func() error {
		a, b := net.Pipe()
		defer a.Close()
		go func() {
			b.Write([]byte{4, 0, 0, 8, 0, 0, 0, 1}) // an OpenFlow HELLO
			b.Close()
		}()
		return tls.Server(a, l.ServerConfig()).Handshake()
	}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"plaintext", plain(), ReasonPlaintext},
		{"other CA", serverErr(clientWith(&foreign)), ReasonUnknownCA},
		{"no certificate", serverErr(clientWith(nil)), ReasonNoCertificate},
		{"old version", serverErr(tls11), ReasonHandshake},
		{"wrong host", clientErr(host, "h2"), ReasonWrongHost},
		{"server of another CA", clientErr(foreign, "h1"), ReasonUnknownCA},
		{"wrapped", fmt.Errorf("connect: %w", &CertError{Reason: ErrExpired}), ReasonExpired},
		{"identity", fmt.Errorf("x: %w", ErrIdentity), ReasonNoIdentity},
		{"received alert", &net.OpError{Op: "remote error", Err: errors.New("tls: bad certificate")}, ReasonPeerAlert},
		{"connection refused", &net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, ""},
		{"timeout", &net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}, ""},
		{"nil", nil, ""},
	}
	for _, tc := range tests {
		if got := Reason(tc.err); got != tc.want {
			t.Errorf("%s: Reason(%v) = %q, want %q", tc.name, tc.err, got, tc.want)
		}
	}
}
