package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ovsmesh/ovsmesh/apps"
	"github.com/ovsmesh/ovsmesh/controller"
	"github.com/ovsmesh/ovsmesh/controller/controllertest"
	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/pki"
	"github.com/ovsmesh/ovsmesh/topo"
)

// lockedBuffer is a bytes.Buffer for a slog handler and a test reading
// it concurrently.
type lockedBuffer struct {
	mu chan struct{}
	b  bytes.Buffer
}

func newLockedBuffer() *lockedBuffer { return &lockedBuffer{mu: make(chan struct{}, 1)} }

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu <- struct{}{}
	defer func() { <-b.mu }()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu <- struct{}{}
	defer func() { <-b.mu }()
	return b.b.String()
}

// TestTLSDaemon assembles the daemon with a tls section, an ssl: and a
// tcp: listener, as `ovsmesh controller` does: the tcp: listener is
// warned about; a switch with h1's certificate and DPID comes up over
// TLS; h1's certificate on a bridge reporting h2's DPID is refused and
// counted; a controller certificate re-issued on disk is served to the
// next switch without a restart; a reload that changes the tls paths
// reports them as needing a restart and keeps the running ones.
func TestTLSDaemon(t *testing.T) {
	dir := t.TempDir()
	ca, err := pki.NewCA("ovsmesh CA", pki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := func(name string) string { return filepath.Join(dir, name) }
	if err := pki.WriteFile(p("ca.pem"), ca.CertPEM(), pki.CertMode, false); err != nil {
		t.Fatal(err)
	}
	issueCtl := func() pki.KeyPair {
		t.Helper()
		ctl, err := ca.IssueController("ovsmesh-controller", pki.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := ctl.WriteFiles(p("controller.pem"), p("controller.key"), true); err != nil {
			t.Fatal(err)
		}
		return ctl
	}
	issueCtl()
	hostTLS := func(host string) *tls.Config {
		t.Helper()
		pair, err := ca.IssueHost(host, pki.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: true, Certificates: []tls.Certificate{pair.TLS()}}
	}
	sslAddr, tcpAddr := freeAddr(t), freeAddr(t)
	doc := func(ctlName string) string {
		return fmt.Sprintf(`state: %s
tls:
  ca: %s
  cert: %s
  key: %s
openflow:
  listen: ["ssl:%[5]s", "tcp:%[6]s"]
  targets: ["ssl:%[5]s"]
hosts:
  - name: h1
    ovsdb: unix:/nonexistent/h1.sock
    tunnel_ip: 198.18.0.1
    tls: {cert: /etc/openvswitch/h1-cert.pem, key: /etc/openvswitch/h1-privkey.pem, ca: /etc/openvswitch/ovsmesh-ca.pem}
  - name: h2
    ovsdb: unix:/nonexistent/h2.sock
    tunnel_ip: 198.18.0.2
`, p("state.db"), p("ca.pem"), p(ctlName), p("controller.key"), sslAddr, tcpAddr)
	}
	cfgPath := p("ovsmesh.yaml")
	if err := os.WriteFile(cfgPath, []byte(doc("controller.pem")), 0o644); err != nil {
		t.Fatal(err)
	}
	f := controllerFlags{config: cfgPath}
	registry, err := apps.NewRegistry(builtins...)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig(f, registry)
	if err != nil {
		t.Fatal(err)
	}
	logs := newLockedBuffer()
	log := slog.New(slog.NewTextHandler(logs, nil))
	reg := prometheus.NewRegistry()
	n, err := assemble(cfg, registry, reg, log)
	if err != nil {
		t.Fatal(err)
	}
	defer n.close()
	for _, want := range []string{
		`msg="openflow.listen has a tcp: listener next to tls: switches connect there without a certificate" listener=tcp:` + tcpAddr,
		`msg="tls: controller certificate loaded"`,
	} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("assemble's log lacks %q:\n%s", want, logs)
		}
	}
	if err := n.ctl.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- n.ctl.Serve(ctx) }()
	defer func() { cancel(); <-served }()

	h1 := &controllertest.OFSwitch{DPID: topo.DPIDFor("h1"), Ports: []flows.Port{{No: 1, Name: "p1"}}, TLS: hostTLS("h1")}
	if err := h1.Dial(sslAddr); err != nil {
		t.Fatal(err)
	}
	defer h1.Close()
	waitFor(t, "h1 to come up over TLS", func() bool {
		return slices.ContainsFunc(n.ctl.Switches(), func(s controller.SwitchInfo) bool { return s.DPID == h1.DPID })
	})

	// h1's certificate, h2's DPID.
	bad := &controllertest.OFSwitch{DPID: topo.DPIDFor("h2"), TLS: hostTLS("h1")}
	if err := bad.Dial(sslAddr); err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	waitFor(t, "the identity refusal to be counted", func() bool {
		return seriesValue(t, reg, "ovsmesh_tls_refused_total", "reason", "identity") == 1
	})
	if !strings.Contains(logs.String(), "cert_host=h1 dpid="+topo.DPIDFor("h2").String()) {
		t.Errorf("the refusal's log line lacks both identities:\n%s", logs)
	}

	// Rotation: the next handshake serves the re-issued certificate.
	next := issueCtl()
	conn, err := tls.Dial("tcp", sslAddr, hostTLS("h2"))
	if err != nil {
		t.Fatal(err)
	}
	got := conn.ConnectionState().PeerCertificates[0]
	conn.Close()
	if !got.Equal(next.Cert) {
		t.Errorf("after re-issue the controller served serial %v, want %v", got.SerialNumber, next.Cert.SerialNumber)
	}
	waitFor(t, "the re-read to be logged", func() bool {
		return strings.Contains(logs.String(), `msg="tls: changed files re-read; the next connections use them"`)
	})
	if !slices.ContainsFunc(n.ctl.Switches(), func(s controller.SwitchInfo) bool { return s.DPID == h1.DPID }) {
		t.Error("h1 went down with the rotation")
	}

	// Reload: new paths need a restart; the running ones stay.
	if err := next.WriteFiles(p("controller2.pem"), p("controller2.key"), false); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfgPath, []byte(strings.Replace(doc("controller2.pem"), p("controller.key"), p("controller2.key"), 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	r := &reloader{f: f, n: n, level: new(slog.LevelVar), log: log, cfg: cfg}
	rep, err := r.reload(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(rep.RestartRequired, "tls.cert") || !slices.Contains(rep.RestartRequired, "tls.key") {
		t.Errorf("reload report %+v: want tls.cert and tls.key needing a restart", rep)
	}
	if r.cfg.TLS != cfg.TLS {
		t.Errorf("the running configuration's tls section became %+v", r.cfg.TLS)
	}
}
