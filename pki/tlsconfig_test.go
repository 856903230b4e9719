package pki

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ovsmesh/ovsmesh/topo"
)

// clientWith is a switch's side: it presents pair and does not check the
// controller (that is OVS's business, tested in test/tls_test.go).
func clientWith(pair *KeyPair) *tls.Config {
	c := &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}
	if pair != nil {
		c.Certificates = []tls.Certificate{pair.TLS()}
	}
	return c
}

func TestServerConfig(t *testing.T) {
	at := Options{NotBefore: t0.Add(-time.Hour)}
	ca := mustCA(t, "ovsmesh CA", Options{NotBefore: t0.Add(-24 * time.Hour)})
	other := mustCA(t, "other CA", Options{NotBefore: t0.Add(-24 * time.Hour)})
	f := files(t, t.TempDir(), ca, mustController(t, ca, at))
	// The CA file is a bundle: ours and ovs-pki's switchca.
	ovsCA, err := os.ReadFile("testdata/ovs-pki/switchca-cacert.pem")
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(f.CA, append(ca.CertPEM(), ovsCA...), CertMode, true); err != nil {
		t.Fatal(err)
	}
	ovsPair, err := LoadKeyPair("testdata/ovs-pki/h1-cert.pem", "testdata/ovs-pki/h1-privkey.pem")
	if err != nil {
		t.Fatal(err)
	}
	l := mustLoader(t, f, LoaderOptions{Now: func() time.Time { return t0 }})
	host := mustHost(t, ca, "h1", at)
	expired := mustHost(t, ca, "h1", Options{NotBefore: t0.Add(-3 * time.Hour), Validity: time.Hour})
	foreign := mustHost(t, other, "h1", at)
	serverOnly := withUsage(t, ca, "h1", x509.ExtKeyUsageServerAuth, at)
	ctl := mustController(t, ca, at)
	tests := []struct {
		name   string
		client *KeyPair
		want   error  // nil: accepted
		host   string // accepted: the identity's host
		source string
	}{
		{"host certificate", &host, nil, "h1", SourceURI},
		{"ovs-pki certificate", &ovsPair, nil, "h1", SourceCN},
		{"expired", &expired, ErrExpired, "", ""},
		{"other CA", &foreign, ErrUnknownCA, "", ""},
		{"server-only", &serverOnly, ErrKeyUsage, "", ""},
		{"controller certificate as a switch", &ctl, ErrIdentity, "", ""},
		{"no certificate", nil, nil, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			serr, _, st, _ := handshake(t, l.ServerConfig(), clientWith(tc.client))
			switch {
			case tc.client == nil:
				if serr == nil {
					t.Fatal("a client without a certificate was accepted")
				}
			case tc.want != nil:
				if !errors.Is(serr, tc.want) {
					t.Fatalf("server handshake error %v, want %v", serr, tc.want)
				}
			default:
				if serr != nil {
					t.Fatalf("server handshake: %v", serr)
				}
				id, err := PeerIdentity(st)
				if err != nil || id.Host != tc.host || id.Source != tc.source || id.DPID != topo.DPIDFor(tc.host) {
					t.Fatalf("PeerIdentity = %+v, %v", id, err)
				}
				if st.Version < tls.VersionTLS12 {
					t.Errorf("negotiated %s", tls.VersionName(st.Version))
				}
			}
		})
	}
	t.Run("tls 1.1 refused", func(t *testing.T) {
		c := clientWith(&host)
		c.MinVersion, c.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
		if serr, _, _, _ := handshake(t, l.ServerConfig(), c); serr == nil || !strings.Contains(serr.Error(), "version") {
			t.Fatalf("a TLS 1.1 client: %v, want a protocol version error", serr)
		}
	})
}

func TestClientConfig(t *testing.T) {
	at := Options{NotBefore: t0.Add(-time.Hour)}
	ca := mustCA(t, "ovsmesh CA", Options{NotBefore: t0.Add(-24 * time.Hour)})
	other := mustCA(t, "other CA", Options{NotBefore: t0.Add(-24 * time.Hour)})
	ctl := mustController(t, ca, at)
	l := mustLoader(t, files(t, t.TempDir(), ca, ctl), LoaderOptions{Now: func() time.Time { return t0 }})
	host := mustHost(t, ca, "h1", at)
	tests := []struct {
		name   string
		server KeyPair
		dial   string
		want   error
	}{
		{"h1", host, "h1", nil},
		{"any host", host, "", nil},
		{"another host", host, "h2", ErrWrongHost},
		{"expired", mustHost(t, ca, "h1", Options{NotBefore: t0.Add(-3 * time.Hour), Validity: time.Hour}), "h1", ErrExpired},
		{"other CA", mustHost(t, other, "h1", at), "h1", ErrUnknownCA},
		{"client-only", withUsage(t, ca, "h1", x509.ExtKeyUsageClientAuth, at), "h1", ErrKeyUsage},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			server := &tls.Config{Certificates: []tls.Certificate{tc.server.TLS()}, ClientAuth: tls.RequireAnyClientCert}
			serr, cerr, st, _ := handshake(t, server, l.ClientConfig(tc.dial))
			if tc.want != nil {
				if !errors.Is(cerr, tc.want) {
					t.Fatalf("client handshake error %v, want %v", cerr, tc.want)
				}
				return
			}
			if cerr != nil || serr != nil {
				t.Fatalf("handshake: client %v, server %v", cerr, serr)
			}
			if len(st.PeerCertificates) == 0 || !st.PeerCertificates[0].Equal(ctl.Cert) {
				t.Errorf("the server did not see the controller's certificate")
			}
		})
	}
}

func TestNewLoaderErrors(t *testing.T) {
	at := Options{NotBefore: t0.Add(-time.Hour)}
	ca := mustCA(t, "ovsmesh CA", Options{NotBefore: t0.Add(-24 * time.Hour)})
	now := LoaderOptions{Now: func() time.Time { return t0 }}
	tests := []struct {
		name  string
		setup func(dir string) Files
		o     LoaderOptions
		want  string
		is    error
	}{
		{"expired own certificate", func(dir string) Files {
			return files(t, dir, ca, mustController(t, ca, Options{NotBefore: t0.Add(-3 * time.Hour), Validity: time.Hour}))
		}, now, "certificate has expired", ErrExpired},
		{"server-only own certificate", func(dir string) Files {
			return files(t, dir, ca, withUsage(t, ca, "ctl", x509.ExtKeyUsageServerAuth, at))
		}, now, "wanted for TLS client", ErrKeyUsage},
		{"server-only own certificate, server use only", func(dir string) Files {
			return files(t, dir, ca, withUsage(t, ca, "ctl", x509.ExtKeyUsageServerAuth, at))
		}, LoaderOptions{Now: now.Now, Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}, "", nil},
		{"ca file holds a leaf", func(dir string) Files {
			f := files(t, dir, ca, mustController(t, ca, at))
			f.CA = f.Cert
			return f
		}, now, "is not a CA certificate", nil},
		{"key of another certificate", func(dir string) Files {
			f := files(t, dir, ca, mustController(t, ca, at))
			other := files(t, t.TempDir(), ca, mustController(t, ca, at))
			f.Key = other.Key
			return f
		}, now, "does not belong to certificate", nil},
		{"missing file", func(dir string) Files {
			f := files(t, dir, ca, mustController(t, ca, at))
			f.Cert = filepath.Join(dir, "missing.pem")
			return f
		}, now, "no such file", nil},
		{"no files", func(string) Files { return Files{} }, now, "ca, cert and key are all required", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewLoader(tc.setup(t.TempDir()), tc.o)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || tc.is != nil && !errors.Is(err, tc.is) {
				t.Fatalf("NewLoader: %v, want %q (%v)", err, tc.want, tc.is)
			}
		})
	}
}

// TestRotation: re-issued certificates and a changed CA are picked up by
// the next handshake, a broken file is refused once and the previous
// material stays in use.
func TestRotation(t *testing.T) {
	at := Options{NotBefore: t0.Add(-time.Hour)}
	ca := mustCA(t, "ovsmesh CA", Options{NotBefore: t0.Add(-24 * time.Hour)})
	dir := t.TempDir()
	ctl1 := mustController(t, ca, at)
	f := files(t, dir, ca, ctl1)
	var reloads []error
	l := mustLoader(t, f, LoaderOptions{Now: func() time.Time { return t0 }, OnReload: func(_ Files, err error) { reloads = append(reloads, err) }})
	host := mustHost(t, ca, "h1", at)
	served := func() *x509.Certificate {
		t.Helper()
		serr, cerr, _, cst := handshake(t, l.ServerConfig(), clientWith(&host))
		if serr != nil || cerr != nil {
			t.Fatalf("handshake: server %v, client %v", serr, cerr)
		}
		return cst.PeerCertificates[0]
	}
	if !served().Equal(ctl1.Cert) || l.Loads() != 1 || len(reloads) != 0 {
		t.Fatalf("first handshake: loads %d, reloads %v", l.Loads(), reloads)
	}

	// Re-issued, written atomically (what `ovsmesh pki` does).
	ctl2 := mustController(t, ca, at)
	if err := ctl2.WriteFiles(f.Cert, f.Key, true); err != nil {
		t.Fatal(err)
	}
	if !served().Equal(ctl2.Cert) || l.Loads() != 2 || len(reloads) != 1 || reloads[0] != nil {
		t.Fatalf("after re-issue: loads %d, reloads %v", l.Loads(), reloads)
	}

	// A broken certificate file: refused, ctl2 stays, reported once.
	if err := os.WriteFile(f.Cert, []byte("not a certificate\n"), CertMode); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if !served().Equal(ctl2.Cert) {
			t.Fatal("a broken file replaced the certificate in use")
		}
	}
	if len(reloads) != 2 || reloads[1] == nil || l.Err() == nil || !strings.Contains(l.Err().Error(), "no PEM certificate") {
		t.Fatalf("after a broken file: reloads %v, Err %v", reloads, l.Err())
	}

	// Rewritten in place (cp, an editor), key and certificate together.
	ctl3 := mustController(t, ca, at)
	kp, _ := ctl3.KeyPEM()
	if err := os.WriteFile(f.Key, kp, KeyMode); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.Cert, ctl3.CertPEM(), CertMode); err != nil {
		t.Fatal(err)
	}
	if !served().Equal(ctl3.Cert) || l.Err() != nil {
		t.Fatalf("after an in-place rewrite: Err %v", l.Err())
	}

	// A new CA: hosts of the old one are refused, hosts of the new one
	// accepted, without a restart.
	ca2 := mustCA(t, "ovsmesh CA 2", Options{NotBefore: t0.Add(-24 * time.Hour)})
	if err := WriteFile(f.CA, ca2.CertPEM(), CertMode, true); err != nil {
		t.Fatal(err)
	}
	if serr, _, _, _ := handshake(t, l.ServerConfig(), clientWith(&host)); !errors.Is(serr, ErrUnknownCA) {
		t.Fatalf("a host of the old CA after the CA changed: %v, want ErrUnknownCA", serr)
	}
	host2 := mustHost(t, ca2, "h1", at)
	if serr, _, _, _ := handshake(t, l.ServerConfig(), clientWith(&host2)); serr != nil {
		t.Fatalf("a host of the new CA: %v", serr)
	}
	if l.Loads() != 4 {
		t.Errorf("loads %d, want 4", l.Loads())
	}
}

func TestConfigShortcuts(t *testing.T) {
	ca := mustCA(t, "ovsmesh CA", Options{})
	f := files(t, t.TempDir(), ca, mustController(t, ca, Options{}))
	s, err := ServerConfig(f.CA, f.Cert, f.Key)
	if err != nil || s.GetConfigForClient == nil || s.MinVersion != tls.VersionTLS12 {
		t.Fatalf("ServerConfig: %+v, %v", s, err)
	}
	c, err := ClientConfig(f.CA, f.Cert, f.Key, "h1")
	if err != nil || c.VerifyConnection == nil || c.GetClientCertificate == nil {
		t.Fatalf("ClientConfig: %v", err)
	}
	if _, err := ServerConfig(f.CA, f.Cert, f.CA); err == nil {
		t.Error("ServerConfig with a certificate as the key accepted")
	}
	if _, err := ClientConfig("", f.Cert, f.Key, "h1"); err == nil {
		t.Error("ClientConfig without a CA accepted")
	}
}
