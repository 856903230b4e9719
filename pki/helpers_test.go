package pki

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"net"
	"net/url"
	"path/filepath"
	"testing"
	"time"
)

// t0 is the fixed "now" of tests that need one.
var t0 = time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)

func mustCA(t *testing.T, name string, o Options) *CA {
	t.Helper()
	ca, err := NewCA(name, o)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func mustHost(t *testing.T, ca *CA, host string, o Options) KeyPair {
	t.Helper()
	p, err := ca.IssueHost(host, o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mustController(t *testing.T, ca *CA, o Options) KeyPair {
	t.Helper()
	p, err := ca.IssueController("ovsmesh-controller", o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// withUsage issues a host certificate for host whose extended key
// usage is only u.
func withUsage(t *testing.T, ca *CA, host string, u x509.ExtKeyUsage, o Options) KeyPair {
	t.Helper()
	p, err := ca.issue(&x509.Certificate{
		Subject:     pkix.Name{CommonName: host},
		URIs:        []*url.URL{HostURI(host, dpidOf(host))},
		ExtKeyUsage: []x509.ExtKeyUsage{u},
	}, o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// files writes a CA certificate and a key pair into dir and returns
// their Files.
func files(t *testing.T, dir string, ca *CA, p KeyPair) Files {
	t.Helper()
	f := Files{CA: filepath.Join(dir, "ca.pem"), Cert: filepath.Join(dir, "cert.pem"), Key: filepath.Join(dir, "key.pem")}
	if err := WriteFile(f.CA, ca.CertPEM(), CertMode, true); err != nil {
		t.Fatal(err)
	}
	if err := p.WriteFiles(f.Cert, f.Key, true); err != nil {
		t.Fatal(err)
	}
	return f
}

func mustLoader(t *testing.T, f Files, o LoaderOptions) *Loader {
	t.Helper()
	l, err := NewLoader(f, o)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// handshake runs a TLS handshake between server and client configs over
// an in-memory pipe and returns both sides' errors and the server's
// connection state. Each side closes its end when its handshake ends,
// so a refusal on one side ends the other.
func handshake(t *testing.T, server, client *tls.Config) (serverErr, clientErr error, st tls.ConnectionState, clientSt tls.ConnectionState) {
	t.Helper()
	a, b := net.Pipe()
	deadline := time.Now().Add(10 * time.Second)
	a.SetDeadline(deadline)
	b.SetDeadline(deadline)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c := tls.Client(b, client)
		clientErr = c.Handshake()
		if clientErr == nil {
			// TLS 1.3: the server judges the client's certificate after
			// the client is done; a read sees its verdict.
			clientSt = c.ConnectionState()
			var buf [1]byte
			_, err := c.Read(buf[:])
			if err != nil && !errors.Is(err, io.EOF) {
				clientErr = err
			}
		}
		b.Close()
	}()
	s := tls.Server(a, server)
	serverErr = s.Handshake()
	st = s.ConnectionState()
	a.Close()
	<-done
	return serverErr, clientErr, st, clientSt
}
