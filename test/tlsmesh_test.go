//go:build integration

package test

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ovsmesh/ovsmesh/lab"
	"github.com/ovsmesh/ovsmesh/pki"
	"github.com/ovsmesh/ovsmesh/topo"
)

// TestTLSMesh runs the controller on a lab brought up with TLS (`ovsmesh
// lab up --tls`): OpenFlow over ssl: (the controller's only listener)
// and OVSDB over ssl: to every host's ovsdb-server (pssl:, its SSL
// options from its SSL row), for GRE and for VXLAN.
//
//   - The mesh converges and the guests ping; every switch came up over
//     TLS with its certificate's host, and every OVSDB session is ssl:.
//   - VXLAN also runs a third host, h3, whose certificates are not what
//     the mesh expects. Its ovsdb-server presents a certificate of
//     another CA: refused, logged, counted and retried, the other hosts
//     undisturbed. Its ovs-vswitchd, which ovsmesh therefore does not
//     manage, plays the rogue switch on a bridge of its own: a plain
//     tcp: connection to the ssl: port, a certificate of another CA, an
//     expired certificate, and h1's valid certificate on a bridge
//     reporting h2's DPID. Each is refused with a log line naming it and
//     a counter, while h1's and h2's sessions keep their start times and
//     their guests keep pinging.
//   - A controller certificate re-issued on disk is served to the next
//     connection without a restart.
func TestTLSMesh(t *testing.T) {
	for _, tc := range []struct {
		tunnel, prefix string
		slot           int
		rogue          bool
	}{
		{"gre", "itslg", 242, false},
		{"vxlan", "itslv", 243, true},
	} {
		t.Run(tc.tunnel, func(t *testing.T) {
			hosts := 2
			if tc.rogue {
				hosts = 3
			}
			e := newEnv(t, lab.Options{Prefix: tc.prefix, Slot: tc.slot, Hosts: hosts, Guests: 1, Tunnel: tc.tunnel, TLS: true})
			cfg := e.cfg
			if cfg.TLS.CA == "" || !strings.HasPrefix(cfg.OpenFlow.Listen[0], "ssl:") || len(cfg.OpenFlow.Listen) != 1 {
				t.Fatalf("lab up --tls wrote tls %+v, listen %v", cfg.TLS, cfg.OpenFlow.Listen)
			}
			x := &tlsMesh{e: e, ctlIP: lab.ControllerIP(tc.slot).String()}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			if tc.rogue {
				x.rogue = x.newRogue(ctx, t)
			}
			c := e.startController(t)
			up := []string{"h1", "h2"}
			took := e.waitConnected(t, 60*time.Second, up...)
			meshTook := e.waitMesh(t, 60*time.Second, up, e.hostNames())
			for _, h := range up {
				if _, err := e.lab.VSCtl(ctx, h, "--may-exist", "add-port", lab.MeshBridge, "v-"+h+"g1"); err != nil {
					t.Fatal(err)
				}
			}
			e.pingAll(t, []string{"h1g1", "h2g1"})
			t.Logf("%s over TLS: connected in %v, mesh in %v", tc.tunnel, took.Round(time.Millisecond), meshTook.Round(time.Millisecond))
			for _, h := range up {
				line := x.logLine(t, "switch connected", "cert_host="+h, "dpid="+topo.DPIDFor(h).String(), `tls="TLS 1.`)
				t.Logf("%s", line)
				x.logLine(t, "ovsdb connected", "host="+h, "ovsdb=ssl:")
				ssl, err := e.lab.VSCtl(ctx, h, "get-ssl")
				if err != nil || !strings.Contains(ssl, h+"-cert.pem") || !strings.Contains(ssl, "Bootstrap: false") {
					t.Errorf("%s's SSL row: %q, %v", h, ssl, err)
				}
			}
			if !tc.rogue {
				return
			}
			since := x.sessions(t)
			x.ovsdbRefused(ctx, t)
			x.undisturbed(ctx, t, since)
			for _, rc := range x.rogueCases(t) {
				t.Run(rc.name, func(t *testing.T) {
					x.refuse(ctx, t, rc)
					x.undisturbed(ctx, t, since)
				})
			}
			t.Run("rotation", func(t *testing.T) {
				x.rotation(t)
				x.undisturbed(ctx, t, since)
			})
			if c.exited() {
				t.Fatalf("controller exited: %v", c.err)
			}
		})
	}
}

// tlsMesh is one TestTLSMesh lab.
type tlsMesh struct {
	e     *env
	ctlIP string
	rogue *rogue
}

// rogue is h3's certificates: the lab's CA signs h1Again (a second
// valid certificate for h1) and expired; another CA signs foreign.
type rogue struct {
	ca                        *pki.CA
	foreign, expired, h1Again pki.KeyPair
	dir                       string
}

// newRogue gives h3 a certificate of another CA in its SSL row, which
// its ovsdb-server presents to the controller (and its ovs-vswitchd to
// any controller). The CA file stays the lab's, so h3 still trusts the
// controller and the refusals are the controller's.
func (x *tlsMesh) newRogue(ctx context.Context, t *testing.T) *rogue {
	t.Helper()
	h3, err := x.e.lab.Host("h3")
	if err != nil {
		t.Fatal(err)
	}
	f := x.e.lab.PKIFiles()
	ca, err := pki.LoadCA(f.CA, filepath.Join(filepath.Dir(f.CA), "ca.key"))
	if err != nil {
		t.Fatal(err)
	}
	other, err := pki.NewCA("rogue CA", pki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := &rogue{ca: ca, dir: h3.Dir}
	if r.foreign, err = other.IssueHost("h3", pki.Options{}); err != nil {
		t.Fatal(err)
	}
	if r.expired, err = ca.IssueHost("h3", pki.Options{NotBefore: time.Now().Add(-48 * time.Hour), Validity: 24 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	if r.h1Again, err = ca.IssueHost("h1", pki.Options{}); err != nil {
		t.Fatal(err)
	}
	x.setSSL(ctx, t, "foreign", r.foreign)
	return r
}

// setSSL writes pair into h3's directory under name and points h3's SSL
// row at it, with the lab's CA.
func (x *tlsMesh) setSSL(ctx context.Context, t *testing.T, name string, pair pki.KeyPair) {
	t.Helper()
	h3, err := x.e.lab.Host("h3")
	if err != nil {
		t.Fatal(err)
	}
	cert, key := filepath.Join(h3.Dir, "rogue-"+name+"-cert.pem"), filepath.Join(h3.Dir, "rogue-"+name+"-privkey.pem")
	if err := pair.WriteFiles(cert, key, true); err != nil {
		t.Fatal(err)
	}
	if _, err := x.e.lab.VSCtl(ctx, "h3", "set-ssl", key, cert, h3.TLSFiles().CA); err != nil {
		t.Fatal(err)
	}
}

// logLine waits up to 30s for a controller log line holding every one of
// subs and returns it.
func (x *tlsMesh) logLine(t *testing.T, subs ...string) string {
	t.Helper()
	var line string
	poll(t, 30*time.Second, fmt.Sprintf("a controller log line with %q", subs), func() (bool, string) {
		for l := range strings.Lines(x.e.current().log()) {
			ok := true
			for _, s := range subs {
				ok = ok && strings.Contains(l, s)
			}
			if ok {
				line = strings.TrimSpace(l)
				return true, ""
			}
		}
		return false, tail(x.e.current().log(), 5)
	})
	return line
}

// metric returns the sum of a counter's series on /metrics whose labels
// include every pair of labels.
func (x *tlsMesh) metric(t *testing.T, name string, labels map[string]string) float64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	sum, _, err := lab.MetricSum(ctx, x.e.api+"/metrics", name, labels)
	if err != nil {
		t.Fatalf("read metrics: %v", err)
	}
	return sum
}

// sessions returns when h1's and h2's OpenFlow sessions began.
func (x *tlsMesh) sessions(t *testing.T) map[string]time.Time {
	t.Helper()
	var sws []struct {
		DPID  string    `json:"dpid"`
		Since time.Time `json:"since"`
	}
	if err := x.e.getJSON("/api/v1/switches", &sws); err != nil {
		t.Fatal(err)
	}
	out := map[string]time.Time{}
	for _, h := range []string{"h1", "h2"} {
		for _, sw := range sws {
			if sw.DPID == topo.DPIDFor(h).String() {
				out[h] = sw.Since
			}
		}
		if out[h].IsZero() {
			t.Fatalf("no session of %s in %+v", h, sws)
		}
	}
	return out
}

// undisturbed checks that h1's and h2's sessions are the ones that began
// at since, both hosts' OVSDB sessions are up, and the guests ping.
func (x *tlsMesh) undisturbed(ctx context.Context, t *testing.T, since map[string]time.Time) {
	t.Helper()
	for h, at := range x.sessions(t) {
		if !at.Equal(since[h]) {
			t.Errorf("%s's session began at %v, was %v: it was disturbed", h, at, since[h])
		}
	}
	x.e.waitConnected(t, 5*time.Second, "h1", "h2")
	for _, p := range [][2]string{{"h1g1", "h2g1"}, {"h2g1", "h1g1"}} {
		g, err := x.e.lab.Guest(p[1])
		if err != nil {
			t.Fatal(err)
		}
		if ok, msg := x.e.ping(ctx, p[0], g.IP, 3); !ok {
			t.Errorf("guests no longer ping: %s", msg)
		}
	}
	if n := x.metric(t, "ovsmesh_ovsdb_disconnects_total", map[string]string{"host": "h1"}) + x.metric(t, "ovsmesh_ovsdb_disconnects_total", map[string]string{"host": "h2"}); n != 0 {
		t.Errorf("h1's or h2's OVSDB session dropped %v times", n)
	}
}

// ovsdbRefused checks that h3's ovsdb-server, whose certificate is of
// another CA, is refused, logged with the reason, counted and retried.
func (x *tlsMesh) ovsdbRefused(ctx context.Context, t *testing.T) {
	t.Helper()
	poll(t, 30*time.Second, "h3's ovsdb-server refused twice (a retry) for unknown_ca", func() (bool, string) {
		n := x.metric(t, "ovsmesh_ovsdb_tls_refused_total", map[string]string{"host": "h3", "reason": "unknown_ca"})
		return n >= 2, fmt.Sprintf("%v refusals", n)
	})
	line := x.logLine(t, "ovsdb connect failed; host reported down", "host=h3", "tls refused (unknown_ca)", `issuer \"rogue CA\"`)
	t.Logf("OVSDB: %s", line)
	t.Logf("OVSDB: ovsmesh_ovsdb_tls_refused_total{host=h3,reason=unknown_ca} %v, connect errors %v",
		x.metric(t, "ovsmesh_ovsdb_tls_refused_total", map[string]string{"host": "h3", "reason": "unknown_ca"}),
		x.metric(t, "ovsmesh_ovsdb_connect_errors_total", map[string]string{"host": "h3"}))
	var rows []apiHost
	if err := x.e.getJSON("/api/v1/hosts", &rows); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.Name == "h3" && r.OVSDBConnected {
			t.Error("h3 reported connected")
		}
	}
}

// rogueCase is one way a switch on h3 tries the ssl: port.
type rogueCase struct {
	name   string
	target string       // the controller target: "tcp" or "ssl"
	pair   *pki.KeyPair // the certificate to put in h3's SSL row; nil keeps it
	dpid   string       // the bridge's datapath ID
	reason string       // ovsmesh_tls_refused_total's reason
	log    []string     // more of the refusal's log line
}

func (x *tlsMesh) rogueCases(t *testing.T) []rogueCase {
	r := x.rogue
	h1, h2, h3 := topo.DPIDFor("h1").String(), topo.DPIDFor("h2").String(), topo.DPIDFor("h3").String()
	return []rogueCase{
		{name: "plain tcp to the ssl port", target: "tcp", dpid: h3, reason: pki.ReasonPlaintext,
			log: []string{"first record does not look like a TLS handshake"}},
		{name: "certificate of another CA", target: "ssl", dpid: h3, reason: pki.ReasonUnknownCA,
			log: []string{`issuer \"rogue CA\"`, "not signed by the configured CA"}},
		{name: "expired certificate", target: "ssl", pair: &r.expired, dpid: h3, reason: pki.ReasonExpired,
			log: []string{"certificate has expired: valid until"}},
		{name: "h1's certificate on h2's DPID", target: "ssl", pair: &r.h1Again, dpid: h2, reason: "identity",
			log: []string{"cert_host=h1", "dpid=" + h2, "cert_dpid=" + h1}},
	}
}

// refuse points a bridge br-rogue on h3 at the controller as rc says,
// waits for the refusal's counter and log line, and removes the bridge.
func (x *tlsMesh) refuse(ctx context.Context, t *testing.T, rc rogueCase) {
	t.Helper()
	if rc.pair != nil {
		x.setSSL(ctx, t, strings.ReplaceAll(rc.name, " ", "-"), *rc.pair)
	}
	h3, err := x.e.lab.Host("h3")
	if err != nil {
		t.Fatal(err)
	}
	logStart := fileSize(h3.LogFile(lab.Vswitchd))
	before := x.metric(t, "ovsmesh_tls_refused_total", map[string]string{"reason": rc.reason})
	target := fmt.Sprintf("%s:%s:%d", rc.target, x.ctlIP, lab.OpenFlowPort)
	if _, err := x.e.lab.VSCtl(ctx, "h3", "add-br", "br-rogue", "--", "set", "bridge", "br-rogue", "datapath_type=netdev",
		"fail_mode=secure", "protocols=OpenFlow13", "other-config:datapath-id="+rc.dpid,
		"--", "set-controller", "br-rogue", target, "--", "set", "controller", "br-rogue", "connection_mode=out-of-band"); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if _, err := x.e.lab.VSCtl(context.Background(), "h3", "--if-exists", "del-br", "br-rogue"); err != nil {
			t.Errorf("remove br-rogue: %v", err)
		}
	}()
	took := poll(t, 30*time.Second, fmt.Sprintf("ovsmesh_tls_refused_total{reason=%q} to grow", rc.reason), func() (bool, string) {
		n := x.metric(t, "ovsmesh_tls_refused_total", map[string]string{"reason": rc.reason})
		return n > before, fmt.Sprintf("%v", n)
	})
	line := x.logLine(t, append([]string{"switch refused", "reason=" + rc.reason, "remote=" + h3.MgmtIP.String() + ":"}, rc.log...)...)
	t.Logf("refused in %v: %s", took.Round(time.Millisecond), line)
	t.Logf("ovs-vswitchd on h3 logged:\n%s", ovsTLSLines(h3.LogFile(lab.Vswitchd), logStart))
	if s := x.sessionsOf(t, rc.dpid); rc.dpid != topo.DPIDFor("h2").String() && s {
		t.Errorf("a refused switch (%s) has a session", rc.dpid)
	}
}

// sessionsOf reports whether the API lists a session of dpid.
func (x *tlsMesh) sessionsOf(t *testing.T, dpid string) bool {
	t.Helper()
	var sws []struct {
		DPID string `json:"dpid"`
	}
	if err := x.e.getJSON("/api/v1/switches", &sws); err != nil {
		t.Fatal(err)
	}
	for _, sw := range sws {
		if sw.DPID == dpid {
			return true
		}
	}
	return false
}

// rotation re-issues the controller's certificate in place (as `ovsmesh
// pki issue --controller --force` does) and checks that the next TLS
// connection to the controller is served the new one.
func (x *tlsMesh) rotation(t *testing.T) {
	t.Helper()
	f := x.e.lab.PKIFiles()
	next, err := x.rogue.ca.IssueController("ovsmesh-controller", pki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := next.WriteFiles(f.Cert, f.Key, true); err != nil {
		t.Fatal(err)
	}
	client := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: true, Certificates: []tls.Certificate{x.rogue.h1Again.TLS()}}
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", net.JoinHostPort(x.ctlIP, strconv.Itoa(lab.OpenFlowPort)), client)
	if err != nil {
		t.Fatal(err)
	}
	got := c.ConnectionState().PeerCertificates[0]
	c.Close()
	if !got.Equal(next.Cert) {
		t.Fatalf("after re-issue the controller served serial %v, want %v", got.SerialNumber, next.Cert.SerialNumber)
	}
	t.Logf("%s", x.logLine(t, "tls: changed files re-read"))
}
