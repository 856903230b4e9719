package ovsdb

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	libovsdb "github.com/ovn-kubernetes/libovsdb/ovsdb"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/ovsmesh/ovsmesh/ovsdb/vswitchd"
	"github.com/ovsmesh/ovsmesh/pki"
	"github.com/ovsmesh/ovsmesh/topo"
)

func TestEnsureSSL(t *testing.T) {
	c := dialTest(t, startServer(t))
	ctx := context.Background()
	want := SSL{PrivateKey: "/etc/openvswitch/h1-privkey.pem", Certificate: "/etc/openvswitch/h1-cert.pem", CACert: "/etc/openvswitch/ovsmesh-ca.pem"}
	check := func(what string, want SSL) {
		t.Helper()
		eventually(t, 5*time.Second, what, func() error {
			rows := c.sslRows()
			if len(rows) != 1 {
				return fmt.Errorf("%d SSL rows", len(rows))
			}
			r := rows[0]
			if r.PrivateKey != want.PrivateKey || r.Certificate != want.Certificate || r.CaCert != want.CACert || r.BootstrapCaCert {
				return fmt.Errorf("SSL row %+v", r)
			}
			return nil
		})
	}
	if changed, err := c.EnsureSSL(ctx, want); err != nil || !changed {
		t.Fatalf("EnsureSSL on an empty database: %v, %v", changed, err)
	}
	check("the SSL row", want)
	// The replica does not monitor Open_vSwitch.ssl: ask the server.
	res, err := c.cli.Transact(ctx, libovsdb.Operation{Op: libovsdb.OperationSelect, Table: vswitchd.OpenvSwitchTable,
		Where: []libovsdb.Condition{}, Columns: []string{"ssl"}})
	if err != nil || len(res) != 1 || len(res[0].Rows) != 1 {
		t.Fatalf("select Open_vSwitch.ssl: %+v, %v", res, err)
	}
	if got := fmt.Sprint(res[0].Rows[0]["ssl"]); !strings.Contains(got, c.sslRows()[0].UUID) {
		t.Fatalf("Open_vSwitch.ssl = %s, want the SSL row %s", got, c.sslRows()[0].UUID)
	}
	if changed, err := c.EnsureSSL(ctx, want); err != nil || changed {
		t.Fatalf("EnsureSSL again: %v, %v; want nothing written", changed, err)
	}
	// Drift: another certificate path and bootstrapping turned on.
	mustTransact(t, c, updateOp(vswitchd.SSLTable, whereUUID(c.sslRows()[0].UUID),
		libovsdb.Row{"certificate": "/tmp/other.pem", "bootstrap_ca_cert": true}))
	eventually(t, 5*time.Second, "the drift in the replica", func() error {
		if r := c.sslRows()[0]; !r.BootstrapCaCert || r.Certificate != "/tmp/other.pem" {
			return fmt.Errorf("SSL row %+v", r)
		}
		return nil
	})
	if changed, err := c.EnsureSSL(ctx, want); err != nil || !changed {
		t.Fatalf("EnsureSSL after drift: %v, %v", changed, err)
	}
	check("the repaired row", want)
}

func TestHostTargets(t *testing.T) {
	tlsHost := topo.Host{Name: "h1", TLS: topo.HostTLS{Cert: "/c", Key: "/k", CA: "/ca"}}
	plain := topo.Host{Name: "h2"}
	tests := []struct {
		targets []string
		h       topo.Host
		want    []string
	}{
		{[]string{"tcp:10.0.0.1:6653", "ssl:10.0.0.1:6654"}, tlsHost, []string{"ssl:10.0.0.1:6654"}},
		{[]string{"tcp:10.0.0.1:6653", "ssl:10.0.0.1:6654"}, plain, []string{"tcp:10.0.0.1:6653"}},
		{[]string{"ssl:10.0.0.1:6654", "ssl:10.0.0.2:6654"}, plain, []string{"ssl:10.0.0.1:6654", "ssl:10.0.0.2:6654"}},
		{[]string{"tcp:10.0.0.1:6653"}, tlsHost, []string{"tcp:10.0.0.1:6653"}},
	}
	for _, tc := range tests {
		if got := hostTargets(tc.targets, tc.h); !slices.Equal(got, tc.want) {
			t.Errorf("hostTargets(%v, tls %v) = %v, want %v", tc.targets, tc.h.TLS.Enabled(), got, tc.want)
		}
	}
}

// tlsFront serves the in-process OVSDB server at unixAddr over TLS on
// loopback with the given server certificate, as ovsdb-server's pssl:
// remote does, and returns the ssl: address.
func tlsFront(t *testing.T, unixAddr string, cert pki.KeyPair) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert.TLS()}, ClientAuth: tls.RequireAnyClientCert})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if err := c.(*tls.Conn).Handshake(); err != nil {
					return
				}
				back, err := net.Dial("unix", strings.TrimPrefix(unixAddr, "unix:"))
				if err != nil {
					return
				}
				defer back.Close()
				go io.Copy(back, c)
				io.Copy(c, back)
			}()
		}
	}()
	return "ssl:" + ln.Addr().String()
}

// TestManagerTLS: hosts whose OVSDB is ssl: are dialled with the
// ClientTLS's configuration for their name. A host with TLS files gets
// its SSL row and the ssl: targets; a plain one the tcp: targets and no
// SSL row. A server whose certificate comes from another CA, or names
// another host, is refused, counted by reason and retried with backoff,
// and the other hosts' sessions are not disturbed.
func TestManagerTLS(t *testing.T) {
	dir := t.TempDir()
	ca, err := pki.NewCA("ovsmesh CA", pki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	other, err := pki.NewCA("other CA", pki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctl, err := ca.IssueController("ovsmesh-controller", pki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	files := pki.Files{CA: filepath.Join(dir, "ca.pem"), Cert: filepath.Join(dir, "ctl.pem"), Key: filepath.Join(dir, "ctl.key")}
	if err := pki.WriteFile(files.CA, ca.CertPEM(), pki.CertMode, false); err != nil {
		t.Fatal(err)
	}
	if err := ctl.WriteFiles(files.Cert, files.Key, false); err != nil {
		t.Fatal(err)
	}
	loader, err := pki.NewLoader(files, pki.LoaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	issue := func(ca *pki.CA, host string) pki.KeyPair {
		p, err := ca.IssueHost(host, pki.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	hostTLS := topo.HostTLS{Cert: "/etc/openvswitch/h1-cert.pem", Key: "/etc/openvswitch/h1-privkey.pem", CA: "/etc/openvswitch/ovsmesh-ca.pem"}
	servers := map[string]string{"h1": startServer(t), "h2": startServer(t), "h3": startServer(t), "h4": startServer(t)}
	hosts := []topo.Host{
		testHost("h1", tlsFront(t, servers["h1"], issue(ca, "h1")), "198.18.0.1"),
		testHost("h2", tlsFront(t, servers["h2"], issue(other, "h2")), "198.18.0.2"),
		testHost("h3", servers["h3"], "198.18.0.3"),
		testHost("h4", tlsFront(t, servers["h4"], issue(ca, "h1")), "198.18.0.4"),
	}
	hosts[0].TLS = hostTLS
	targets := []string{"tcp:127.0.0.1:6653", "ssl:127.0.0.1:6654"}
	reg := prometheus.NewRegistry()
	logs := &syncBuffer{}
	mesh := topo.NewMesh(hosts)
	mgr, err := NewManager(Options{Mesh: testMesh(), Targets: targets, Hosts: hosts, TLS: loader, Publisher: mesh,
		Logger: slog.New(slog.NewTextHandler(logs, nil)), Registerer: reg,
		RetryMin: 50 * time.Millisecond, RetryMax: 200 * time.Millisecond, ConnectTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	// The test's own views, monitoring before the manager writes.
	h1, h3 := dialTest(t, servers["h1"]), dialTest(t, servers["h3"])
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		if t.Failed() {
			t.Logf("log:\n%s", logs)
		}
	}()
	// The mesh of the hosts that connect: h1 over TLS, h3 plain (h2 and
	// h4 are refused, but their tunnels are still wanted by the others).
	waitFor(t, h1, "h1's bridge over TLS, with the ssl: target", func(s *snapshot) error {
		return checkMesh(s, testMesh(), []string{"ssl:127.0.0.1:6654"}, hosts[0], hosts)
	})
	waitFor(t, h3, "h3's bridge, with the tcp: target", func(s *snapshot) error {
		return checkMesh(s, testMesh(), []string{"tcp:127.0.0.1:6653"}, hosts[2], hosts)
	})
	if rows := h1.sslRows(); len(rows) != 1 || rows[0].Certificate != hostTLS.Cert || rows[0].PrivateKey != hostTLS.Key || rows[0].CaCert != hostTLS.CA {
		t.Errorf("h1's SSL rows: %+v", rows)
	}
	if rows := h3.sslRows(); len(rows) != 0 {
		t.Errorf("h3 (no tls) got SSL rows %+v", rows)
	}
	metric := func(name string, labels map[string]string) float64 {
		return gathered(t, reg, name, labels)
	}
	eventually(t, 5*time.Second, "h2 and h4 refused and retried", func() error {
		for _, c := range []struct{ host, reason string }{{"h2", pki.ReasonUnknownCA}, {"h4", pki.ReasonWrongHost}} {
			if n := metric("ovsmesh_ovsdb_tls_refused_total", map[string]string{"host": c.host, "reason": c.reason}); n < 2 {
				return fmt.Errorf("%s refused %v times for %s", c.host, n, c.reason)
			}
		}
		return nil
	})
	for _, want := range []string{
		`msg="ovsdb connect failed; host reported down" host=h2`, `tls refused (unknown_ca)`, `(issuer \"other CA\")`,
		`host=h4`, `tls refused (wrong_host)`, `dialled h4, the certificate names h1`,
	} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q", want)
		}
	}
	for _, h := range []string{"h1", "h3"} {
		if n := metric("ovsmesh_ovsdb_connects_total", map[string]string{"host": h}); n != 1 {
			t.Errorf("%s connected %v times, want once: the refusals disturbed it", h, n)
		}
	}
	if st := mesh.OVSDBState("h2"); st.Connected || !strings.Contains(st.LastError, "tls refused (unknown_ca)") {
		t.Errorf("h2's state %+v", st)
	}

	// Migration on reload: h3 gets TLS files; its SSL row is written and
	// its bridge's target replaced by the ssl: one, on the same session.
	hosts[2].TLS = topo.HostTLS{Cert: "/etc/openvswitch/h3-cert.pem", Key: "/etc/openvswitch/h3-privkey.pem", CA: hostTLS.CA}
	if err := mgr.Reload(hosts); err != nil {
		t.Fatal(err)
	}
	waitFor(t, h3, "h3's bridge with the ssl: target after the reload", func(s *snapshot) error {
		return checkMesh(s, testMesh(), []string{"ssl:127.0.0.1:6654"}, hosts[2], hosts)
	})
	if rows := h3.sslRows(); len(rows) != 1 || rows[0].Certificate != hosts[2].TLS.Cert {
		t.Errorf("h3's SSL rows after the reload: %+v", rows)
	}
	if n := metric("ovsmesh_ovsdb_connects_total", map[string]string{"host": "h3"}); n != 1 {
		t.Errorf("h3 connected %v times, want once: a TLS files change needs no new session", n)
	}
}

// gathered returns the value of the counter or gauge name whose labels
// include labels, 0 when there is none.
func gathered(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if matches(m, labels) {
				if m.Counter != nil {
					return m.GetCounter().GetValue()
				}
				return m.GetGauge().GetValue()
			}
		}
	}
	return 0
}

func matches(m *dto.Metric, labels map[string]string) bool {
	have := map[string]string{}
	for _, l := range m.GetLabel() {
		have[l.GetName()] = l.GetValue()
	}
	for k, v := range labels {
		if have[k] != v {
			return false
		}
	}
	return true
}
