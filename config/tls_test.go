package config

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ovsmesh/ovsmesh/pki"
)

// TestTLSErrors holds the TLS cases that need no files; they are part of
// cmd/ovsmesh's bad-config corpus.
func TestTLSErrors(t *testing.T) {
	tests := []struct {
		name, doc, want string
	}{
		{"ssl listen without tls", "openflow:\n  listen: [\"ssl::6653\"]\n", `line 2: openflow.listen[0]: "ssl::6653" needs the tls section (ca, cert and key)`},
		{"unix listen", "openflow:\n  listen: [\"unix:/run/x\"]\n", `line 2: openflow.listen[0]: "unix:/run/x": want tcp:[IP]:PORT or ssl:[IP]:PORT`},
		{"ssl listen port", "openflow:\n  listen: [\"ssl::0\"]\n", `line 2: openflow.listen[0]: "ssl::0": port "0" is not 1..65535`},
		{"ssl target without tls", "openflow:\n  targets: [\"ssl:198.19.0.254:6653\"]\n", `line 2: openflow.targets[0]: "ssl:198.19.0.254:6653" needs the tls section`},
		{"ssl target wildcard", "openflow:\n  targets: [\"ssl::6653\"]\n", `"ssl::6653" is not a controller target of the form tcp:IP:PORT or ssl:IP:PORT`},
		{"ssl ovsdb without tls", "openflow: {targets: ['tcp:198.19.0.254:6653']}\nhosts:\n  - {name: h1, ovsdb: 'ssl:198.19.0.1:6640', tunnel_ip: 198.18.0.1}\n",
			`line 3: hosts[0].ovsdb: "ssl:198.19.0.1:6640" needs the tls section`},
		{"ssl ovsdb wildcard", "openflow: {targets: ['tcp:198.19.0.254:6653']}\nhosts:\n  - {name: h1, ovsdb: 'ssl::6640', tunnel_ip: 198.18.0.1}\n",
			`line 3: hosts[0].ovsdb: "ssl::6640" is not ssl:IP:PORT`},
		{"tls files missing", "tls:\n  ca: /nonexistent/ca.pem\n  cert: /nonexistent/controller.pem\n  key: /nonexistent/controller.key\n",
			"line 2: tls.ca: open /nonexistent/ca.pem: no such file or directory"},
		{"tls partial", "tls:\n  ca: /nonexistent/ca.pem\n", "tls.cert: is required when tls is given (ca, cert and key)"},
		{"tls unknown field", "tls:\n  crt: /etc/ovsmesh/pki/controller.pem\n", "line 2: field crt not found in tls (known: ca, cert, key)"},
		{"host tls relative path", "openflow: {targets: ['tcp:198.19.0.254:6653']}\nhosts:\n  - name: h1\n    ovsdb: tcp:198.19.0.1:6640\n    tunnel_ip: 198.18.0.1\n    tls:\n      cert: h1-cert.pem\n      key: /etc/openvswitch/h1-privkey.pem\n      ca: /etc/openvswitch/ovsmesh-ca.pem\n",
			`line 7: hosts[0].tls.cert: "h1-cert.pem": want an absolute path on the host`},
		{"host tls partial", "openflow: {targets: ['tcp:198.19.0.254:6653']}\nhosts:\n  - name: h1\n    ovsdb: tcp:198.19.0.1:6640\n    tunnel_ip: 198.18.0.1\n    tls:\n      cert: /etc/openvswitch/h1-cert.pem\n",
			"line 7: hosts[0].tls.key: is required when the host's tls is given (cert, key and ca)"},
		{"host tls unknown field", "openflow: {targets: ['tcp:198.19.0.254:6653']}\nhosts:\n  - name: h1\n    ovsdb: tcp:198.19.0.1:6640\n    tunnel_ip: 198.18.0.1\n    tls: {certificate: /etc/openvswitch/h1-cert.pem}\n",
			"line 6: field certificate not found in hosts[0].tls (known: ca, cert, key)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

// pkiFiles writes a CA, a controller pair and extra files into dir:
// ca.pem, controller.pem, controller.key, host.pem (a leaf), expired.pem
// with expired.key, serveronly.pem with serveronly.key, other.key.
func pkiFiles(t *testing.T, dir string) {
	t.Helper()
	ca, err := pki.NewCA("ovsmesh CA", pki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	write := func(p pki.KeyPair, cert, key string) {
		if err := p.WriteFiles(filepath.Join(dir, cert), filepath.Join(dir, key), true); err != nil {
			t.Fatal(err)
		}
	}
	if err := pki.WriteFile(filepath.Join(dir, "ca.pem"), ca.CertPEM(), pki.CertMode, true); err != nil {
		t.Fatal(err)
	}
	ctl, err := ca.IssueController("ovsmesh-controller", pki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	write(ctl, "controller.pem", "controller.key")
	host, err := ca.IssueHost("h1", pki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	write(host, "host.pem", "other.key")
	expired, err := ca.IssueController("old", pki.Options{NotBefore: time.Now().Add(-48 * time.Hour), Validity: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	write(expired, "expired.pem", "expired.key")
	// A server-only certificate, signed by the CA's key by hand.
	key := ctl.Key
	tmpl := &x509.Certificate{SerialNumber: ca.Cert.SerialNumber, Subject: pkix.Name{CommonName: "server-only"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(nil, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	write(pki.KeyPair{Cert: c, Key: key}, "serveronly.pem", "serveronly.key")
}

const tlsGood = `
tls:
  ca: $DIR/ca.pem
  cert: $DIR/controller.pem
  key: $DIR/controller.key
openflow:
  listen: ["ssl::6653", "tcp:127.0.0.1:6633"]
  targets: ["ssl:198.19.255.254:6653"]
hosts:
  - name: h1
    ovsdb: ssl:198.19.0.1:6640
    tunnel_ip: 198.18.0.1
    tls:
      cert: /etc/openvswitch/h1-cert.pem
      key: /etc/openvswitch/h1-privkey.pem
      ca: /etc/openvswitch/ovsmesh-ca.pem
  - name: h2
    ovsdb: tcp:198.19.0.2:6640
    tunnel_ip: 198.18.0.2
`

func TestTLSGood(t *testing.T) {
	dir := t.TempDir()
	pkiFiles(t, dir)
	cfg, err := Parse([]byte(strings.ReplaceAll(tlsGood, "$DIR", dir)))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.TLS.Files() != (pki.Files{CA: dir + "/ca.pem", Cert: dir + "/controller.pem", Key: dir + "/controller.key"}) {
		t.Errorf("tls = %+v", cfg.TLS)
	}
	if cfg.Hosts[0].TLS.Key != "/etc/openvswitch/h1-privkey.pem" || cfg.Hosts[1].TLS.Enabled() {
		t.Errorf("hosts' tls: %+v, %+v", cfg.Hosts[0].TLS, cfg.Hosts[1].TLS)
	}
	if got := cfg.PlainListeners(); !slices.Equal(got, []string{"tcp:127.0.0.1:6633"}) {
		t.Errorf("PlainListeners = %v", got)
	}
	out, err := Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse(out)
	if err != nil {
		t.Fatalf("re-parse: %v\n%s", err, out)
	}
	if back.TLS != cfg.TLS || !reflect.DeepEqual(back.Hosts, cfg.Hosts) {
		t.Errorf("round trip changed tls:\n%s", out)
	}
	// tcp: and ssl: on one port conflict.
	dup := strings.Replace(strings.ReplaceAll(tlsGood, "$DIR", dir), `"tcp:127.0.0.1:6633"`, `"tcp::6653"`, 1)
	if _, err := Parse([]byte(dup)); err == nil || !strings.Contains(err.Error(), `line 7: openflow.listen[1]: "tcp::6653" listens where openflow.listen[0] does`) {
		t.Errorf("tcp and ssl on one port: %v", err)
	}
	// Without tls, nothing of it is written.
	plain, err := Marshal(Default())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(plain), "tls") {
		t.Errorf("Marshal(Default()) mentions tls:\n%s", plain)
	}
}

func TestTLSFileErrors(t *testing.T) {
	dir := t.TempDir()
	pkiFiles(t, dir)
	if err := os.WriteFile(filepath.Join(dir, "empty.pem"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	base := "openflow:\n  listen: [\"ssl::6653\"]\ntls:\n  ca: $DIR/%CA%\n  cert: $DIR/%CERT%\n  key: $DIR/%KEY%\n"
	tests := []struct {
		name, ca, cert, key, extra, want string
	}{
		{"ca is a leaf", "host.pem", "controller.pem", "controller.key", "", `line 4: tls.ca: $DIR/host.pem: certificate "h1" is not a CA certificate`},
		{"ca empty", "empty.pem", "controller.pem", "controller.key", "", "line 4: tls.ca: $DIR/empty.pem: no PEM certificate found"},
		{"cert is a key", "ca.pem", "controller.key", "controller.key", "", "line 5: tls.cert: $DIR/controller.key: no PEM certificate found"},
		{"key is a certificate", "ca.pem", "controller.pem", "controller.pem", "", "line 6: tls.key: $DIR/controller.pem: no PEM private key found"},
		{"key of another certificate", "ca.pem", "controller.pem", "other.key", "", "line 6: tls.key: $DIR/controller.pem and $DIR/other.key: the private key (ecdsa-p256) does not belong to certificate"},
		{"expired", "ca.pem", "expired.pem", "expired.key", "", `line 5: tls.cert: certificate "old" (issuer "ovsmesh CA"): certificate has expired: valid until`},
		{"server-only certificate as an OVSDB client", "ca.pem", "serveronly.pem", "serveronly.key",
			"  targets: ['tcp:198.19.0.254:6653']\nhosts:\n  - {name: h1, ovsdb: 'ssl:198.19.0.1:6640', tunnel_ip: 198.18.0.1}\n",
			"line 8: tls.cert: certificate \"server-only\" (issuer \"ovsmesh CA\"): certificate's extended key usage does not allow this use (wanted for TLS client)"},
		{"server-only certificate for a listener", "ca.pem", "serveronly.pem", "serveronly.key", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := strings.NewReplacer("%CA%", tc.ca, "%CERT%", tc.cert, "%KEY%", tc.key).Replace(base)
			if tc.extra != "" {
				doc = strings.Replace(doc, "tls:\n", tc.extra+"tls:\n", 1)
			}
			doc = strings.ReplaceAll(doc, "$DIR", dir)
			_, err := Parse([]byte(doc))
			want := strings.ReplaceAll(tc.want, "$DIR", dir)
			if want == "" {
				if err != nil {
					t.Fatalf("Parse: %v\n%s", err, doc)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("Parse error = %v, want it to contain %q\n%s", err, want, doc)
			}
		})
	}
}

func TestParseEndpoint(t *testing.T) {
	tests := []struct{ in, scheme, addr, err string }{
		{"tcp::6653", "tcp", ":6653", ""},
		{"ssl::6653", "ssl", ":6653", ""},
		{"ssl:198.19.0.1:6640", "ssl", "198.19.0.1:6640", ""},
		{"ssl:[::1]:6653", "ssl", "[::1]:6653", ""},
		{"unix:/run/db.sock", "unix", "/run/db.sock", ""},
		{"unix:", "", "", "has no socket path"},
		{"pssl:6640", "", "", `unknown scheme "pssl"`},
		{"6653", "", "", "want tcp:[IP]:PORT, ssl:[IP]:PORT or unix:PATH"},
		{"ssl:host:6653", "", "", "ParseAddr"},
		{"ssl::70000", "", "", `port "70000" is not 1..65535`},
		{"ssl:6653", "", "", "missing port"},
	}
	for _, tc := range tests {
		scheme, addr, err := ParseEndpoint(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseEndpoint(%q) error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || scheme != tc.scheme || addr != tc.addr {
			t.Errorf("ParseEndpoint(%q) = %q, %q, %v; want %q, %q", tc.in, scheme, addr, err, tc.scheme, tc.addr)
		}
	}
	// ParseListen stays tcp: only, so callers that ignore the scheme
	// never serve plain TCP on an ssl: address.
	if _, err := ParseListen("ssl::6653"); err == nil {
		t.Error("ParseListen accepted ssl::6653")
	}
}
