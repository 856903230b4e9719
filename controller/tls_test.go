package controller

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"errors"
	"math/big"
	"net"
	"net/netip"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/pki"
	"github.com/ovsmesh/ovsmesh/topo"
)

// testPKI is a CA with the controller's files on disk, read by a
// pki.Loader, as `ovsmesh pki init` leaves them.
type testPKI struct {
	dir    string
	ca     *pki.CA
	files  pki.Files
	loader *pki.Loader
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	dir := t.TempDir()
	ca, err := pki.NewCA("test CA", pki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := &testPKI{dir: dir, ca: ca, files: pki.Files{CA: filepath.Join(dir, "ca.pem"),
		Cert: filepath.Join(dir, "controller.pem"), Key: filepath.Join(dir, "controller.key")}}
	if err := pki.WriteFile(p.files.CA, ca.CertPEM(), pki.CertMode, true); err != nil {
		t.Fatal(err)
	}
	p.issueController(t)
	if p.loader, err = pki.NewLoader(p.files, pki.LoaderOptions{}); err != nil {
		t.Fatal(err)
	}
	return p
}

// issueController (re-)issues the controller's certificate in place and
// returns it.
func (p *testPKI) issueController(t *testing.T) *x509.Certificate {
	t.Helper()
	pair, err := p.ca.IssueController("ovsmesh-controller", pki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := pair.WriteFiles(p.files.Cert, p.files.Key, true); err != nil {
		t.Fatal(err)
	}
	return pair.Cert
}

func (p *testPKI) host(t *testing.T, name string, o pki.Options) *pki.KeyPair {
	t.Helper()
	pair, err := p.ca.IssueHost(name, o)
	if err != nil {
		t.Fatal(err)
	}
	return &pair
}

// signed issues a host certificate for name from a template, for
// certificates IssueHost does not make (a server-only one).
func (p *testPKI) signed(t *testing.T, name string, usages []x509.ExtKeyUsage) *pki.KeyPair {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		URIs:      []*url.URL{pki.HostURI(name, topo.DPIDFor(name))},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: usages}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca.Cert, key.Public(), p.ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &pki.KeyPair{Cert: cert, Key: key}
}

// switchTLS is the switch side of TLS: it presents pair (none when nil)
// and, like OVS, checks the controller's certificate against roots
// only (no host name); nil roots check nothing.
func switchTLS(pair *pki.KeyPair, roots *x509.CertPool) *tls.Config {
	c := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: true}
	if pair != nil {
		c.Certificates = []tls.Certificate{pair.TLS()}
	}
	if roots != nil {
		c.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
			cert, err := x509.ParseCertificate(raw[0])
			if err != nil {
				return err
			}
			_, err = cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
			return err
		}
	}
	return c
}

// dialTLSSwitch connects a fake switch to the controller's TLS listener
// with cfg. The client's handshake error, if any, is returned with the
// switch (whose connection is then closed): under TLS 1.3 a client
// learns that the controller refused its certificate only at its first
// read.
func dialTLSSwitch(t *testing.T, addr string, cfg *tls.Config) (*fakeSwitch, tls.ConnectionState, error) {
	t.Helper()
	raw, err := net.DialTimeout("tcp", addr, waitTimeout)
	if err != nil {
		t.Fatalf("dial controller: %v", err)
	}
	c := tls.Client(raw, cfg)
	c.SetDeadline(time.Now().Add(waitTimeout))
	herr := c.Handshake()
	c.SetDeadline(time.Time{})
	return newFakeSwitch(t, c), c.ConnectionState(), herr
}

// startTLS runs a controller with a plain and a TLS listener on p's
// files, and connects a plain switch and h1 over TLS to it.
func startTLS(t *testing.T, p *testPKI, opts Options) (tc *testController, app *recorder, plain, h1 *fakeSwitch) {
	t.Helper()
	app = newRecorder("rec")
	opts.TLS = p.loader.ServerConfig()
	tc = startController(t, opts, app)
	plain = tc.connect(t, 0x1a1a, ofPort(1, "eth1", 0))
	app.nextOf(t, 0x1a1a, "up")
	h1, st, err := dialTLSSwitch(t, tc.tlsAddr, switchTLS(p.host(t, "h1", pki.Options{}), p.ca.Pool()))
	if err != nil {
		t.Fatalf("h1's TLS handshake: %v", err)
	}
	if st.Version < tls.VersionTLS12 {
		t.Fatalf("negotiated %s", tls.VersionName(st.Version))
	}
	h1.handshake(topo.DPIDFor("h1"), ofPort(1, "eth1", 0))
	app.nextOf(t, topo.DPIDFor("h1"), "up")
	tc.waitLog(t, "switch connected", "cert_host=h1", "dpid="+topo.DPIDFor("h1").String(), "tls=\"TLS 1.")
	return tc, app, plain, h1
}

// undisturbed checks that the switches already up are still up, in the
// sessions they started with.
func undisturbed(t *testing.T, tc *testController, since map[flows.DPID]time.Time, switches ...*fakeSwitch) {
	t.Helper()
	for _, f := range switches {
		f.echo("a refused connection")
		if f.isClosed() {
			t.Fatal("a connected switch was closed by a refused one")
		}
	}
	for dpid, at := range since {
		if s := tc.session(dpid); s == nil || !s.since.Equal(at) {
			t.Fatalf("switch %s's session changed", dpid)
		}
	}
}

// TestTLSRefusals: on an ssl: listener, every way a switch can be
// refused closes that connection, is logged with its reason (and both
// identities for a DPID that is not the certificate's), is counted in
// ovsmesh_tls_refused_total{reason}, and leaves the switches already up
// (one plain, h1 over TLS) in their sessions.
func TestTLSRefusals(t *testing.T) {
	p := newTestPKI(t)
	tc, _, plain, h1 := startTLS(t, p, Options{})
	since := map[flows.DPID]time.Time{0x1a1a: tc.session(0x1a1a).since, topo.DPIDFor("h1"): tc.session(topo.DPIDFor("h1")).since}

	other, err := pki.NewCA("other CA", pki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := other.IssueHost("h1", pki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctlPair, err := p.ca.IssueController("ovsmesh-controller", pki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tls11 := switchTLS(p.host(t, "h1", pki.Options{}), nil)
	tls11.MinVersion, tls11.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
	tests := []struct {
		name   string
		cfg    *tls.Config // nil: plaintext OpenFlow
		dpid   flows.DPID  // reported after a TLS handshake the controller accepts
		reason string
		log    []string // more of the log line
	}{
		{name: "plaintext", reason: pki.ReasonPlaintext, log: []string{"first record does not look like a TLS handshake"}},
		{name: "other CA", cfg: switchTLS(&foreign, nil), reason: pki.ReasonUnknownCA, log: []string{`issuer \"other CA\"`}},
		{name: "expired", cfg: switchTLS(p.host(t, "h1", pki.Options{NotBefore: time.Now().Add(-48 * time.Hour), Validity: time.Hour}), nil),
			reason: pki.ReasonExpired, log: []string{"certificate has expired: valid until"}},
		{name: "not yet valid", cfg: switchTLS(p.host(t, "h1", pki.Options{NotBefore: time.Now().Add(48 * time.Hour)}), nil),
			reason: pki.ReasonNotYetValid, log: []string{"not valid yet"}},
		{name: "server-only certificate", cfg: switchTLS(p.signed(t, "h1", []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}), nil),
			reason: pki.ReasonKeyUsage, log: []string{"wanted for TLS client"}},
		{name: "no certificate", cfg: switchTLS(nil, nil), reason: pki.ReasonNoCertificate},
		{name: "controller certificate", cfg: switchTLS(&ctlPair, nil), reason: pki.ReasonNoIdentity, log: []string{"no host identity"}},
		{name: "TLS 1.1", cfg: tls11, reason: pki.ReasonHandshake, log: []string{"version"}},
		{name: "switch distrusts the controller", cfg: switchTLS(p.host(t, "h1", pki.Options{}), other.Pool()), reason: pki.ReasonPeerAlert,
			log: []string{"remote error"}},
		{name: "h1's certificate on h2's bridge", cfg: switchTLS(p.host(t, "h1", pki.Options{}), p.ca.Pool()), dpid: topo.DPIDFor("h2"),
			reason: tlsIdentity, log: []string{"cert_host=h1", "cert_dpid=" + topo.DPIDFor("h1").String(), "dpid=" + topo.DPIDFor("h2").String()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f *fakeSwitch
			if tt.cfg == nil {
				f = dialSwitch(t, tc.tlsAddr)
				f.send(tHello, helloBitmap(1<<ofVersion))
				m := f.expect(tError, "the plaintext refusal")
				if len(m.body) < 4 || binary.BigEndian.Uint16(m.body) != etHelloFailed || binary.BigEndian.Uint16(m.body[2:]) != 1 ||
					!bytes.Contains(m.body, []byte("OpenFlow over TLS only")) {
					t.Errorf("plaintext refusal %v %q, want OFPET_HELLO_FAILED/OFPHFC_EPERM saying why", m, m.body)
				}
			} else {
				var herr error
				f, _, herr = dialTLSSwitch(t, tc.tlsAddr, tt.cfg)
				if tt.dpid != 0 {
					if herr != nil {
						t.Fatalf("TLS handshake: %v", herr)
					}
					f.send(tHello, helloBitmap(1<<ofVersion))
					f.expect(tHello, "controller HELLO")
					req := f.expect(tFeaturesRequest, "FEATURES_REQUEST")
					f.sendXID(tFeaturesReply, req.h.XID, featuresReply(tt.dpid, 0))
				}
			}
			f.waitClosed("a refused switch")
			select {
			case m := <-f.msgs:
				t.Errorf("controller sent %v to a refused switch", m)
			default:
			}
			line := tc.waitLog(t, append([]string{"switch refused", "reason=" + tt.reason, "remote=127.0.0.1:"}, tt.log...)...)
			t.Logf("%s", strings.TrimSpace(line))
			tc.waitMetric(t, "ovsmesh_tls_refused_total", map[string]string{"reason": tt.reason}, 1)
			undisturbed(t, tc, since, plain, h1)
		})
	}
	if n := tc.sum(t, "ovsmesh_tls_refused_total", nil); n != float64(len(tests)) {
		t.Errorf("%v refusals counted, want %d", n, len(tests))
	}
	if n := tc.sum(t, "ovsmesh_switches_refused_total", nil); n != 0 {
		t.Errorf("%v address-policy refusals, want none", n)
	}
}

// TestTLSSlowloris: connections that never start (or never finish) the
// TLS handshake hold their handshake slot for HandshakeTimeout only;
// then they are closed, counted as timeout, and a switch waiting in the
// backlog is served.
func TestTLSSlowloris(t *testing.T) {
	const timeout = 300 * time.Millisecond
	p := newTestPKI(t)
	tc, app, plain, h1 := startTLS(t, p, Options{MaxHandshaking: 2, HandshakeTimeout: timeout})
	var idle []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", tc.tlsAddr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		idle = append(idle, c)
	}
	// Half a ClientHello on the second: a record header promising more.
	idle[1].Write([]byte{22, 3, 1, 0x02, 0x00, 1})
	start := time.Now()
	f, _, err := dialTLSSwitch(t, tc.tlsAddr, switchTLS(p.host(t, "h2", pki.Options{}), nil))
	if err != nil {
		t.Fatalf("TLS handshake after the idle connections: %v", err)
	}
	f.handshake(topo.DPIDFor("h2"), ofPort(1, "eth1", 0))
	app.nextOf(t, topo.DPIDFor("h2"), "up")
	if d := time.Since(start); d < timeout/2 {
		t.Errorf("served after %v, before the idle connections' handshake timed out (%v)", d, timeout)
	}
	for _, c := range idle {
		c.SetReadDeadline(time.Now().Add(waitTimeout))
		if _, err := c.Read(make([]byte, 1)); err == nil {
			// The controller sends nothing; a read returns when it closes.
			t.Error("an idle connection was sent data")
		}
	}
	tc.waitMetric(t, "ovsmesh_tls_refused_total", map[string]string{"reason": tlsTimeout}, 2)
	tc.waitLog(t, "switch refused: TLS", "reason=timeout", "i/o timeout")
	plain.echo("the slowloris")
	h1.echo("the slowloris")
}

// TestTLSRotation: a controller certificate re-issued in place is served
// to the next switch without a restart; switches already up keep their
// sessions.
func TestTLSRotation(t *testing.T) {
	p := newTestPKI(t)
	tc, app, plain, h1 := startTLS(t, p, Options{})
	before := tc.session(topo.DPIDFor("h1")).since
	first := p.loader.Current().Pair.Cert
	next := p.issueController(t)
	f, st, err := dialTLSSwitch(t, tc.tlsAddr, switchTLS(p.host(t, "h2", pki.Options{}), p.ca.Pool()))
	if err != nil {
		t.Fatal(err)
	}
	if got := st.PeerCertificates[0]; !got.Equal(next) || got.Equal(first) {
		t.Fatalf("the controller served serial %v after re-issue, want the new %v", got.SerialNumber, next.SerialNumber)
	}
	f.handshake(topo.DPIDFor("h2"), ofPort(1, "eth1", 0))
	app.nextOf(t, topo.DPIDFor("h2"), "up")
	if p.loader.Loads() != 2 {
		t.Errorf("loads %d, want 2", p.loader.Loads())
	}
	h1.echo("rotation")
	plain.echo("rotation")
	if s := tc.session(topo.DPIDFor("h1")); s == nil || !s.since.Equal(before) {
		t.Error("h1's session changed with the rotation")
	}
}

// TestTLSWithAdmit: the certificate check comes first; the address
// policy still applies to a switch whose certificate matches.
func TestTLSWithAdmit(t *testing.T) {
	p := newTestPKI(t)
	h3 := topo.DPIDFor("h3")
	tc, _, plain, h1 := startTLS(t, p, Options{Admit: func(dpid flows.DPID, _ netip.Addr) error {
		if dpid == h3 {
			return errors.New("h3 is not admitted from here")
		}
		return nil
	}})
	f, _, err := dialTLSSwitch(t, tc.tlsAddr, switchTLS(p.host(t, "h3", pki.Options{}), nil))
	if err != nil {
		t.Fatal(err)
	}
	f.send(tHello, helloBitmap(1<<ofVersion))
	f.expect(tHello, "controller HELLO")
	req := f.expect(tFeaturesRequest, "FEATURES_REQUEST")
	f.sendXID(tFeaturesReply, req.h.XID, featuresReply(h3, 0))
	f.waitClosed("a switch the address policy refuses")
	tc.waitMetric(t, "ovsmesh_switches_refused_total", map[string]string{"reason": "identity"}, 1)
	if n := tc.sum(t, "ovsmesh_tls_refused_total", nil); n != 0 {
		t.Errorf("%v TLS refusals, want none", n)
	}
	plain.echo("admit")
	h1.echo("admit")
}

func TestTLSOptions(t *testing.T) {
	if _, err := New(Options{TLSListen: []string{"127.0.0.1:0"}}); err == nil || !strings.Contains(err.Error(), "need a TLS configuration") {
		t.Errorf("New with TLS listeners and no TLS configuration: %v", err)
	}
	c := serverTLS(&tls.Config{MinVersion: tls.VersionTLS10, GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
		return &tls.Config{MinVersion: tls.VersionTLS11}, nil
	}})
	per, _ := c.GetConfigForClient(nil)
	if c.MinVersion != tls.VersionTLS12 || per.MinVersion != tls.VersionTLS12 {
		t.Errorf("minimum versions %x and %x, want TLS 1.2", c.MinVersion, per.MinVersion)
	}
}
