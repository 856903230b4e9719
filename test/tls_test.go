//go:build integration

package test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/lab"
	"github.com/ovsmesh/ovsmesh/pki"
	"github.com/ovsmesh/ovsmesh/topo"
)

// TestTLS checks package pki against real Open vSwitch 3.1 (OpenSSL 3)
// on a one-host lab, with no ovsmesh controller: a Go TLS listener made
// by pki's ServerConfig stands in for the controller's ssl: listener.
//   - key types: for each pki.KeyType, a CA, controller and host
//     certificate of that type; ovs-vswitchd (set-ssl, set-controller
//     ssl:...) must complete the handshake, its certificate must name h1
//     and the DPID the bridge reports in FEATURES_REPLY; what OVS logs is
//     logged here (docs/security.md records the finding);
//   - refusals: a host certificate of another CA, an expired one and a
//     server-only one are refused by the listener with pki's typed
//     errors; a controller certificate of another CA is refused by OVS;
//   - key type change: a running ovs-vswitchd keeps presenting its
//     ECDSA certificate after set-ssl names Ed25519 files (logged: the
//     finding in docs/security.md); a new ECDSA pair is taken;
//   - an ovs-pki host certificate (CN "h1 id:UUID") is accepted by a
//     listener whose CA file bundles ovs-pki's switchca;
//   - rotation in place: host files replaced at the same paths are
//     picked up with no change to the SSL row when the certificate is
//     written before the key (the other order is logged);
//   - OVSDB over TLS: an ovsdb-server with a pssl: remote and the host
//     certificate answers list_dbs through pki's ClientConfig, which
//     refuses it when it expects another host or another CA.
func TestTLS(t *testing.T) {
	if err := lab.CheckPrereqs(); err != nil {
		if errors.Is(err, lab.ErrPrereq) {
			t.Skipf("integration test skipped: %v", err)
		}
		t.Fatal(err)
	}
	o := lab.Options{Dir: t.TempDir(), Prefix: "ittls", Slot: 236, Hosts: 1, Guests: 0}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if err := lab.Down(ctx, o.Dir, nil); err != nil {
			t.Errorf("cleanup: lab down %s: %v", o.Prefix, err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	l, err := lab.Up(ctx, o)
	if err != nil {
		t.Fatalf("lab up: %v", err)
	}
	h, err := l.Host("h1")
	if err != nil {
		t.Fatal(err)
	}
	x := &tlsLab{t: t, l: l, h: h, ctlIP: lab.ControllerIP(o.Slot).String()}
	// The DPID ovsmesh pins on h1, which IssueHost binds in the certificate.
	if _, err := l.VSCtl(ctx, "h1", "add-br", "br-tls", "--", "set", "bridge", "br-tls", "datapath_type=netdev",
		"fail_mode=secure", "protocols=OpenFlow13", "other-config:datapath-id="+topo.DPIDFor("h1").String()); err != nil {
		t.Fatal(err)
	}

	t.Run("key types", func(t *testing.T) {
		port := 16653
		// "" is what OVS and Go agree on (TLS 1.3); with "TLSv1.2" the
		// listener offers nothing newer, as an older peer would.
		for _, proto := range []string{"", "TLSv1.2"} {
			for _, kt := range pki.KeyTypes() {
				port++
				t.Run(strings.Trim(proto+"/"+string(kt), "/"), func(t *testing.T) {
					set := x.newSet(t, proto+string(kt), pki.Options{KeyType: kt})
					// A fresh ovs-vswitchd: OpenSSL keeps one certificate
					// per key type in a context, so one loaded earlier
					// would still be there (see "key type change" below).
					res := x.connect(ctx, t, set, port, set.host, connOpts{restart: true, tls12: proto != ""})
					t.Logf("%s %s: handshake err=%v %s identity=%+v features dpid=%s; ovs-vswitchd logged:\n%s",
						proto, kt, res.err, res.tls, res.id, res.dpid, res.ovsLog)
					if res.err != nil {
						t.Errorf("%s: OVS did not complete a TLS handshake with the listener: %v", kt, res.err)
						return
					}
					if proto != "" && !strings.HasPrefix(res.tls, "TLS 1.2 ") {
						t.Errorf("ssl_protocols=%s, negotiated %s", proto, res.tls)
					}
					if res.id.Host != "h1" || res.id.Source != pki.SourceURI || res.id.DPID != res.dpid {
						t.Errorf("%s: certificate identity %+v, FEATURES_REPLY dpid %s: want h1 with the bridge's DPID", kt, res.id, res.dpid)
					}
				})
			}
		}
	})

	ecdsa := x.newSet(t, "ecdsa", pki.Options{})
	t.Run("refusals", func(t *testing.T) {
		other, err := pki.NewCA("other CA", pki.Options{})
		if err != nil {
			t.Fatal(err)
		}
		otherHost, err := other.IssueHost("h1", pki.Options{})
		if err != nil {
			t.Fatal(err)
		}
		expired, err := ecdsa.ca.IssueHost("h1", pki.Options{NotBefore: time.Now().Add(-48 * time.Hour), Validity: 24 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		serverOnly := issueServerOnly(t, ecdsa.ca, "h1")
		for i, tc := range []struct {
			name string
			host pki.KeyPair
			want error
		}{
			{"host certificate of another CA", otherHost, pki.ErrUnknownCA},
			{"expired host certificate", expired, pki.ErrExpired},
			{"server-only host certificate", serverOnly, pki.ErrKeyUsage},
		} {
			t.Run(tc.name, func(t *testing.T) {
				res := x.connect(ctx, t, ecdsa, 16700+i, tc.host, connOpts{restart: i == 0})
				t.Logf("%s: listener: %v; ovs-vswitchd logged:\n%s", tc.name, res.err, res.ovsLog)
				var ce *pki.CertError
				if !errors.Is(res.err, tc.want) || !errors.As(res.err, &ce) {
					t.Errorf("handshake error %v, want a *pki.CertError wrapping %v", res.err, tc.want)
				}
			})
		}
		t.Run("controller certificate of another CA", func(t *testing.T) {
			// OVS checks the controller against ecdsa's CA; the listener
			// serves a controller certificate of other.
			otherSet := x.newSet(t, "other-ctl", pki.Options{})
			res := x.connectWith(ctx, t, ecdsa, otherSet.loader, 16710, ecdsa.host, connOpts{})
			t.Logf("listener: %v; ovs-vswitchd logged:\n%s", res.err, res.ovsLog)
			if res.err == nil {
				t.Errorf("OVS accepted a controller certificate of a CA it does not trust")
			}
			if !strings.Contains(res.ovsLog, "certificate verify failed") {
				t.Errorf("ovs-vswitchd did not log the failed verification")
			}
		})
	})

	t.Run("key type change", func(t *testing.T) {
		// ovs-vswitchd runs with ecdsa's certificates (loaded above); an
		// Ed25519 set is put in its place without a restart.
		ed := x.newSet(t, "ed-change", pki.Options{KeyType: pki.Ed25519})
		res := x.connect(ctx, t, ed, 16720, ed.host, connOpts{})
		t.Logf("ECDSA to Ed25519 without restart: listener: %v %s; ovs-vswitchd logged:\n%s", res.err, res.tls, res.ovsLog)
		// A new ECDSA set (same key type) replaces the old one in place.
		rot := x.newSet(t, "ecdsa-rotated", pki.Options{})
		res = x.connect(ctx, t, rot, 16721, rot.host, connOpts{})
		t.Logf("ECDSA rotated without restart: listener: %v %s identity %+v", res.err, res.tls, res.id)
		if res.err != nil {
			t.Errorf("a re-issued certificate of the same key type was not picked up by a running ovs-vswitchd: %v", res.err)
		}
	})

	t.Run("ovs-pki host certificate", func(t *testing.T) {
		// A host certificate made by ovs-pki (RSA, CN "h1 id:UUID", from
		// its switchca), accepted by a listener whose CA file bundles
		// switchca with ovsmesh's CA.
		dir := filepath.Join(x.h.Dir, "ovs-pki")
		for _, argv := range [][]string{
			{"ovs-pki", "init", "--dir=" + filepath.Join(dir, "pki"), "-l", filepath.Join(dir, "log")},
			{"ovs-pki", "req+sign", "h1", "switch", "--dir=" + filepath.Join(dir, "pki"), "-l", filepath.Join(dir, "log")},
		} {
			cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
			cmd.Dir = x.h.Dir
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
			}
		}
		host, err := pki.LoadKeyPair(filepath.Join(x.h.Dir, "h1-cert.pem"), filepath.Join(x.h.Dir, "h1-privkey.pem"))
		if err != nil {
			t.Fatal(err)
		}
		switchCA, err := os.ReadFile(filepath.Join(dir, "pki", "switchca", "cacert.pem"))
		if err != nil {
			t.Fatal(err)
		}
		set := x.newSet(t, "bundle", pki.Options{})
		if err := pki.WriteFile(set.path("ca.pem"), append(set.ca.CertPEM(), switchCA...), pki.CertMode, true); err != nil {
			t.Fatal(err)
		}
		// The listener's CA bundle; OVS checks the controller against
		// ca.pem of set too, which now holds both.
		res := x.connect(ctx, t, set, 16730, host, connOpts{restart: true})
		t.Logf("ovs-pki certificate: listener: %v %s identity %+v features dpid %s", res.err, res.tls, res.id, res.dpid)
		if res.err != nil || res.id.Host != "h1" || res.id.Source != pki.SourceCN || res.id.DPID != res.dpid {
			t.Errorf("an ovs-pki host certificate: %v, identity %+v, FEATURES_REPLY dpid %s", res.err, res.id, res.dpid)
		}
	})

	t.Run("rotation in place", func(t *testing.T) {
		// The host's files are replaced at the same paths, with no
		// change to the SSL row: ovs-vswitchd must notice by itself.
		set := x.newSet(t, "inplace", pki.Options{})
		const tag = "inplace"
		res := x.connect(ctx, t, set, 16740, set.host, connOpts{restart: true, tag: tag})
		if res.err != nil || !res.cert.Equal(set.host.Cert) {
			t.Fatalf("first connection: %v", res.err)
		}
		cert, key := set.path("h1-cert-"+tag+".pem"), set.path("h1-privkey-"+tag+".pem")
		current := set.host
		for i, order := range []string{"certificate, then key", "key, then certificate"} {
			next, err := set.ca.IssueHost("h1", pki.Options{})
			if err != nil {
				t.Fatal(err)
			}
			keyPEM, err := next.KeyPEM()
			if err != nil {
				t.Fatal(err)
			}
			writes := []func() error{
				func() error { return pki.WriteFile(cert, next.CertPEM(), pki.CertMode, true) },
				func() error { return pki.WriteFile(key, keyPEM, pki.KeyMode, true) },
			}
			if i == 1 {
				writes[0], writes[1] = writes[1], writes[0]
			}
			for _, w := range writes {
				if err := w(); err != nil {
					t.Fatal(err)
				}
				// A unixctl request is answered after a pass of
				// ovs-vswitchd's main loop, which re-checks the SSL files.
				if _, err := x.l.AppCtl(ctx, "h1", "version"); err != nil {
					t.Fatal(err)
				}
			}
			res := x.connect(ctx, t, set, 16741+i, pki.KeyPair{}, connOpts{tag: tag, keepFiles: true})
			switch {
			case res.err != nil:
				t.Errorf("%s: %v", order, res.err)
			case res.cert.Equal(next.Cert):
				t.Logf("%s: ovs-vswitchd presents the new certificate", order)
				current = next
			case res.cert.Equal(current.Cert):
				t.Logf("%s: ovs-vswitchd still presents the previous certificate", order)
			default:
				t.Errorf("%s: ovs-vswitchd presents a certificate of neither pair", order)
			}
			if i == 0 && !res.cert.Equal(next.Cert) {
				t.Errorf("certificate then key, replaced in place: not picked up")
			}
		}
	})

	t.Run("ovsdb over tls", func(t *testing.T) {
		addr := x.startTLSOVSDB(ctx, t, ecdsa, 6641)
		dbs, err := listDBs(addr, ecdsa.loader.ClientConfig("h1"))
		if err != nil || !slices.Contains(dbs, "Open_vSwitch") {
			t.Fatalf("list_dbs over ssl:%s = %v, %v; want Open_vSwitch", addr, dbs, err)
		}
		if _, err := listDBs(addr, ecdsa.loader.ClientConfig("h2")); !errors.Is(err, pki.ErrWrongHost) {
			t.Errorf("dialling h1's ovsdb-server as h2: %v, want pki.ErrWrongHost", err)
		}
		other := x.newSet(t, "other-ovsdb", pki.Options{})
		if _, err := listDBs(addr, other.loader.ClientConfig("h1")); !errors.Is(err, pki.ErrUnknownCA) {
			t.Errorf("ovsdb-server's certificate checked against another CA: %v, want pki.ErrUnknownCA", err)
		}
	})
}

// issueServerOnly issues a host certificate whose extended key usage is
// TLS server only, which a switch must not be able to use as a client.
func issueServerOnly(t *testing.T, ca *pki.CA, host string) pki.KeyPair {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: host},
		URIs:         []*url.URL{pki.HostURI(host, topo.DPIDFor(host))},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return pki.KeyPair{Cert: cert, Key: key}
}

// tlsLab is the one-host lab of TestTLS.
type tlsLab struct {
	t     *testing.T
	l     *lab.Lab
	h     lab.Host
	ctlIP string
}

// certSet is a CA with a controller and a host certificate, written
// under the host's directory (so ovs-vswitchd can read them).
type certSet struct {
	dir    string
	ca     *pki.CA
	ctl    pki.KeyPair
	host   pki.KeyPair // for h1
	loader *pki.Loader // the controller's files
}

func (x *tlsLab) newSet(t *testing.T, name string, o pki.Options) *certSet {
	t.Helper()
	dir := filepath.Join(x.h.Dir, "tls-"+name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	ca, err := pki.NewCA("test CA "+name, o)
	if err != nil {
		t.Fatal(err)
	}
	ctl, err := ca.IssueController("ovsmesh-controller", o)
	if err != nil {
		t.Fatal(err)
	}
	host, err := ca.IssueHost("h1", o)
	if err != nil {
		t.Fatal(err)
	}
	s := &certSet{dir: dir, ca: ca, ctl: ctl, host: host}
	if err := pki.WriteFile(s.path("ca.pem"), ca.CertPEM(), pki.CertMode, true); err != nil {
		t.Fatal(err)
	}
	if err := ctl.WriteFiles(s.path("controller.pem"), s.path("controller.key"), true); err != nil {
		t.Fatal(err)
	}
	if s.loader, err = pki.NewLoader(pki.Files{CA: s.path("ca.pem"), Cert: s.path("controller.pem"), Key: s.path("controller.key")}, pki.LoaderOptions{}); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *certSet) path(name string) string { return filepath.Join(s.dir, name) }

// connectResult is what one ssl: controller connection attempt gave.
type connectResult struct {
	err    error             // the listener's handshake error, or no connection
	tls    string            // the TLS version and cipher suite negotiated
	cert   *x509.Certificate // the switch's certificate
	id     pki.Identity      // the switch's certificate identity
	dpid   flows.DPID        // from FEATURES_REPLY
	ovsLog string            // ovs-vswitchd's log lines written meanwhile
}

// connect puts hostPair (signed by whatever CA) on h1 with set's CA as
// the CA OVS checks the controller against, points br-tls at a Go TLS
// listener on port serving set's controller certificate, and waits up
// to 15s for OVS's first connection and its handshake.
func (x *tlsLab) connect(ctx context.Context, t *testing.T, set *certSet, port int, hostPair pki.KeyPair, o connOpts) connectResult {
	return x.connectWith(ctx, t, set, set.loader, port, hostPair, o)
}

// connOpts tune connect.
type connOpts struct {
	restart   bool   // restart ovs-vswitchd once its SSL row is set
	tls12     bool   // the listener speaks TLS 1.2 at most
	tag       string // names the host's files; "" uses the port
	keepFiles bool   // leave the host's files and the SSL row as they are
}

// connectWith is connect with the listener serving ctl's files.
func (x *tlsLab) connectWith(ctx context.Context, t *testing.T, set *certSet, ctl *pki.Loader, port int, hostPair pki.KeyPair, o connOpts) connectResult {
	t.Helper()
	tag := o.tag
	if tag == "" {
		tag = strconv.Itoa(port)
	}
	cert, key := set.path("h1-cert-"+tag+".pem"), set.path("h1-privkey-"+tag+".pem")
	if !o.keepFiles {
		if err := hostPair.WriteFiles(cert, key, true); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := net.Listen("tcp", net.JoinHostPort(x.ctlIP, strconv.Itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	logStart := fileSize(x.h.LogFile(lab.Vswitchd))
	if !o.keepFiles {
		if _, err := x.l.VSCtl(ctx, "h1", "set-ssl", key, cert, set.path("ca.pem")); err != nil {
			t.Fatal(err)
		}
	}
	if o.restart {
		if err := x.l.Restart(ctx, "h1", lab.Vswitchd); err != nil {
			t.Fatal(err)
		}
		logStart = fileSize(x.h.LogFile(lab.Vswitchd))
	}
	target := fmt.Sprintf("ssl:%s:%d", x.ctlIP, port)
	if _, err := x.l.VSCtl(ctx, "h1", "set-controller", "br-tls", target, "--", "set", "controller", "br-tls", "connection_mode=out-of-band"); err != nil {
		t.Fatal(err)
	}
	defer x.l.VSCtl(context.Background(), "h1", "del-controller", "br-tls")
	res := connectResult{}
	cfg := ctl.ServerConfig()
	if o.tls12 {
		perConn := cfg.GetConfigForClient
		cfg.GetConfigForClient = func(h *tls.ClientHelloInfo) (*tls.Config, error) {
			c, err := perConn(h)
			if c != nil {
				c.MaxVersion = tls.VersionTLS12
			}
			return c, err
		}
	}
	res.err = x.accept(raw.(*net.TCPListener), cfg, &res)
	// What OVS logs about a refusal can come a moment after the
	// listener gave up on the connection.
	deadline := time.Now().Add(2 * time.Second)
	for {
		res.ovsLog = ovsTLSLines(x.h.LogFile(lab.Vswitchd), logStart)
		if strings.Contains(res.ovsLog, ": connected") || strings.Contains(res.ovsLog, "connection dropped") || strings.Contains(res.ovsLog, "SSL_") || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	return res
}

// accept takes one connection within 15s, handshakes with cfg and, when that works, reads the switch's
// FEATURES_REPLY.
func (x *tlsLab) accept(ln *net.TCPListener, cfg *tls.Config, res *connectResult) error {
	deadline := time.Now().Add(15 * time.Second)
	ln.SetDeadline(deadline)
	c, err := ln.Accept()
	if err != nil {
		return fmt.Errorf("no connection from ovs-vswitchd: %w", err)
	}
	defer c.Close()
	c.SetDeadline(deadline)
	tc := tls.Server(c, cfg)
	if err := tc.Handshake(); err != nil {
		return err
	}
	cs := tc.ConnectionState()
	res.tls = tls.VersionName(cs.Version) + " " + tls.CipherSuiteName(cs.CipherSuite)
	res.cert = cs.PeerCertificates[0]
	if res.id, err = pki.PeerIdentity(cs); err != nil {
		return err
	}
	res.dpid, err = featuresDPID(tc)
	return err
}

// featuresDPID says HELLO (OpenFlow 1.3) and FEATURES_REQUEST and
// returns the datapath_id of the FEATURES_REPLY (OpenFlow 1.3.5 §7.3.1).
func featuresDPID(rw io.ReadWriter) (flows.DPID, error) {
	hello := []byte{4, 0, 0, 8, 0, 0, 0, 1}
	feat := []byte{4, 5, 0, 8, 0, 0, 0, 2}
	if _, err := rw.Write(append(hello, feat...)); err != nil {
		return 0, err
	}
	r := bufio.NewReader(rw)
	for {
		var hdr [8]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return 0, fmt.Errorf("read OpenFlow header: %w", err)
		}
		body := make([]byte, int(binary.BigEndian.Uint16(hdr[2:4]))-8)
		if _, err := io.ReadFull(r, body); err != nil {
			return 0, fmt.Errorf("read OpenFlow body: %w", err)
		}
		if hdr[1] == 6 && len(body) >= 8 { // OFPT_FEATURES_REPLY
			return flows.DPID(binary.BigEndian.Uint64(body[:8])), nil
		}
	}
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// ovsTLSLines returns the lines of an OVS log after offset that mention
// SSL, TLS or the connection.
func ovsTLSLines(path string, offset int64) string {
	data, err := os.ReadFile(path)
	if err != nil || int64(len(data)) < offset {
		return fmt.Sprintf("(log %s unreadable: %v)", path, err)
	}
	var out []string
	for _, line := range strings.Split(string(data[offset:]), "\n") {
		l := strings.ToLower(line)
		if strings.Contains(l, "ssl") || strings.Contains(l, "tls") || strings.Contains(l, "rconn") || strings.Contains(l, "connect") {
			out = append(out, "  "+line)
		}
	}
	return strings.Join(out, "\n")
}

// startTLSOVSDB starts a second ovsdb-server in h1's namespace, on its
// own database, with a pssl: remote on the management address and
// set's files, and registers its stop by pid.
func (x *tlsLab) startTLSOVSDB(ctx context.Context, t *testing.T, set *certSet, port int) string {
	t.Helper()
	dir := filepath.Join(set.dir, "db")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := set.host.WriteFiles(filepath.Join(dir, "cert.pem"), filepath.Join(dir, "privkey.pem"), true); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "conf.db")
	if out, err := exec.CommandContext(ctx, "ovsdb-tool", "create", db, "/usr/share/openvswitch/vswitch.ovsschema").CombinedOutput(); err != nil {
		t.Fatalf("ovsdb-tool create: %v: %s", err, out)
	}
	pidFile := filepath.Join(dir, "ovsdb.pid")
	addr := net.JoinHostPort(x.h.MgmtIP.String(), strconv.Itoa(port))
	argv := []string{"ip", "netns", "exec", x.h.NS, "env", "OVS_RUNDIR=" + dir, "ovsdb-server", db,
		fmt.Sprintf("--remote=pssl:%d:%s", port, x.h.MgmtIP),
		"--private-key=" + filepath.Join(dir, "privkey.pem"), "--certificate=" + filepath.Join(dir, "cert.pem"),
		"--ca-cert=" + set.path("ca.pem"),
		"--pidfile=" + pidFile, "--log-file=" + filepath.Join(dir, "ovsdb.log"), "--unixctl=" + filepath.Join(dir, "ovsdb.ctl"), "--detach"}
	if out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v: %s", strings.Join(argv, " "), err, out)
	}
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 1 {
		t.Fatalf("pid file %s: %q", pidFile, data)
	}
	t.Cleanup(func() {
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if !strings.Contains(string(cmdline), dir) {
			return // gone, or the pid was reused
		}
		syscall.Kill(pid, syscall.SIGTERM)
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err != nil {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Errorf("ovsdb-server pid %d still running 10s after SIGTERM", pid)
	})
	return addr
}

// listDBs sends the OVSDB list_dbs request (RFC 7047 §4.1.1) over a TLS
// connection made with cfg and returns the answer.
func listDBs(addr string, cfg *tls.Config) ([]string, error) {
	d := &net.Dialer{Timeout: 5 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", addr, cfg)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, `{"id":1,"method":"list_dbs","params":[]}`); err != nil {
		return nil, err
	}
	var resp struct {
		Result []string `json:"result"`
		Error  any      `json:"error"`
	}
	if err := json.NewDecoder(c).Decode(&resp); err != nil {
		return nil, err
	}
	if resp.Error != nil {
		return nil, fmt.Errorf("list_dbs: %v", resp.Error)
	}
	return resp.Result, nil
}
