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
	"fmt"
	"io"
	"math/big"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
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
