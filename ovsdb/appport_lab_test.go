//go:build integration

package ovsdb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ovsmesh/ovsmesh/lab"
	"github.com/ovsmesh/ovsmesh/topo"
)

// TestAppPortsRealOVS runs app ports against real OVS (a 2-host lab,
// userspace datapath): an operator's port is adopted, a port on another
// bridge and an unmarked port are left alone, an external port whose
// device is created after the Manager started comes up without help, one
// whose device is deleted and created again is reopened (ovs-vswitchd
// would keep the dead device) and carries traffic again, and ports no
// longer declared are removed.
//
// Run it as root under the lab lock:
//
//	flock /tmp/ovsmesh-lab.lock go test -tags integration -count=1 -run TestAppPortsRealOVS -v ./ovsdb/
func TestAppPortsRealOVS(t *testing.T) {
	if err := lab.CheckPrereqs(); err != nil {
		if errors.Is(err, lab.ErrPrereq) {
			t.Skipf("needs root and Open vSwitch: %v", err)
		}
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	l, err := lab.Up(ctx, lab.Options{Dir: dir, Prefix: "itap", Slot: 233, Hosts: 2, PreBridge: true})
	if err != nil {
		t.Fatal(err)
	}
	// Two namespaces of the test's own hold the far ends of ext0 and op0.
	far := map[string]string{"ext0": "itap-x0", "op0": "itap-x1"}
	t.Cleanup(func() {
		dctx, dcancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer dcancel()
		for _, ns := range far {
			_ = exec.CommandContext(dctx, "ip", "netns", "del", ns).Run()
		}
		if err := lab.Down(dctx, dir, nil); err != nil {
			t.Errorf("lab down: %v", err)
		}
	})
	h2, err := l.Host("h2")
	if err != nil {
		t.Fatal(err)
	}
	sh := func(ns string, argv ...string) string {
		t.Helper()
		out, err := l.Exec(ctx, ns, argv...)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(out)
	}
	vsctl := func(args ...string) string {
		t.Helper()
		out, err := l.VSCtl(ctx, "h2", args...)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(out)
	}
	// veth makes name in h2 with its peer "eth0" in the far namespace
	// holding 198.18.210.N/24 (N = 1 for ext0, 2 for op0).
	veth := func(name string) {
		t.Helper()
		n := map[string]int{"ext0": 1, "op0": 2}[name]
		ns := far[name]
		_ = exec.CommandContext(ctx, "ip", "netns", "add", ns).Run()
		sh("", "ip", "-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", name, "netns", h2.NS)
		sh("", "ip", "-n", ns, "addr", "add", fmt.Sprintf("198.18.210.%d/24", n), "dev", "eth0")
		sh("", "ip", "-n", ns, "link", "set", "eth0", "up")
		sh("", "ip", "-n", h2.NS, "link", "set", name, "up")
		sh(ns, "ethtool", "-K", "eth0", "tx", "off")
		sh(h2.NS, "ethtool", "-K", name, "tx", "off")
	}
	// The operator's ports on h2: op0 on the mesh bridge (declared:
	// adopted), vm1 on the mesh bridge (not declared: untouched), ext2 on
	// a bridge of its own (declared: left alone).
	veth("op0")
	sh(h2.NS, "ip", "link", "add", "vm1", "type", "veth", "peer", "name", "vm1p")
	sh(h2.NS, "ip", "link", "add", "ext2", "type", "veth", "peer", "name", "ext2p")
	vsctl("add-port", lab.MeshBridge, "op0", "--", "add-port", lab.MeshBridge, "vm1", "--", "set", "Port", "vm1", "external_ids:site=a",
		"--", "add-br", "br-other", "--", "set", "bridge", "br-other", "datapath_type=netdev", "--", "add-port", "br-other", "ext2")
	vm1Before := vsctl("--columns=_uuid,external_ids", "list", "Port", "vm1")

	cfg := l.Config()
	mesh := topo.NewMesh(cfg.TopoHosts())
	ports := []topo.AppPort{{Host: "h2", Name: "ext0", App: "nat"}, {Host: "h2", Name: "op0", App: "nat"}, {Host: "h2", Name: "ext2", App: "nat"}}
	mesh.SetAppPorts(ports)
	logs := &syncBuffer{}
	reg := prometheus.NewRegistry()
	const retry = 2 * time.Second
	mgr, err := NewManager(Options{Mesh: cfg.Mesh, Targets: cfg.OpenFlow.Targets, Hosts: cfg.TopoHosts(), Publisher: mesh, AppPorts: mesh,
		AppPortRetry: retry, Logger: slog.New(slog.NewTextHandler(logs, nil)), Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	env := &testEnv{mesh: mesh, mgr: mgr, reg: reg, logs: logs}
	rctx, rcancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- mgr.Run(rctx) }()
	defer func() {
		rcancel()
		<-done
		t.Logf("manager log:\n%s", logs.String())
	}()
	status := func(name string) topo.AppPortStatus {
		st, _ := mesh.AppPortStatus("h2", name)
		return st
	}

	eventually(t, 10*time.Second, "op0 adopted and up, ext0 missing, ext2 left alone", func() error {
		if ids := vsctl("get", "Port", "op0", "external_ids"); !strings.Contains(ids, `ovsmesh-app=nat`) {
			return fmt.Errorf("op0 external_ids %s", ids)
		}
		if st := status("op0"); !st.Up() {
			return fmt.Errorf("op0: %v", st)
		}
		if st := status("ext0"); st.OFPort != -1 || st.Error != "could not open network device ext0 (No such device)" {
			return fmt.Errorf("ext0: %+v", st)
		}
		if st := status("ext2"); !strings.Contains(st.Error, "is on bridge br-other") {
			return fmt.Errorf("ext2: %+v", st)
		}
		return nil
	})
	if br := vsctl("port-to-br", "ext2"); br != "br-other" {
		t.Errorf("ext2 moved to %s", br)
	}
	if v := env.appGauge(t, "ovsmesh_ovsdb_app_port_up", "h2", "ext0"); v != 0 {
		t.Errorf("app_port_up{ext0} = %v, want 0", v)
	}
	t.Logf("ext0 reported: %s", status("ext0"))

	// The device appears after the port: ovs-vswitchd opens it by itself
	// (it retries failed interfaces when the kernel announces a link).
	start := time.Now()
	veth("ext0")
	eventually(t, 5*time.Second, "ext0 up", func() error {
		if st := status("ext0"); !st.Up() {
			return fmt.Errorf("ext0: %v", st)
		}
		return nil
	})
	t.Logf("ext0 up %v after its device was created, with %v reopens", time.Since(start).Round(time.Millisecond),
		max(env.appGauge(t, "ovsmesh_ovsdb_app_port_reopens_total", "h2", "ext0"), 0))
	if v := env.appGauge(t, "ovsmesh_ovsdb_app_port_reopens_total", "h2", "ext0"); v > 0 {
		t.Errorf("ext0 needed %v reopens to come up", v)
	}
	// Traffic between the far ends of ext0 and op0 through br-int (a
	// NORMAL flow of the test's own: nothing else programs this bridge).
	if _, err := l.OFCtl(ctx, "h2", "add-flow", lab.MeshBridge, "priority=1,actions=NORMAL"); err != nil {
		t.Fatal(err)
	}
	ping := func() error {
		for _, ns := range far {
			_, _ = l.Exec(ctx, ns, "ip", "neigh", "flush", "all")
		}
		res, err := lab.PingNS(ctx, far["ext0"], netip.MustParseAddr("198.18.210.2"), 2)
		if err != nil || !res.OK() {
			return fmt.Errorf("ping across br-int: %+v, %v", res, err)
		}
		return nil
	}
	if err := ping(); err != nil {
		t.Fatal(err)
	}

	// A port whose device never comes: reopened every AppPortRetry (the
	// backstop), reported once, and nothing else on the host disturbed:
	// pings across br-int lose nothing meanwhile and the other ports keep
	// their OpenFlow numbers.
	ofports := func() string {
		return vsctl("get", "Interface", "op0", "ofport", "--", "get", "Interface", "ext0", "ofport",
			"--", "get", "Interface", topo.TunnelPortName("h1"), "ofport")
	}
	before := ofports()
	mesh.SetAppPorts(append(ports, topo.AppPort{Host: "h2", Name: "ext9", App: "nat"}))
	pinged := make(chan error, 1)
	go func() {
		res, err := lab.PingNS(ctx, far["ext0"], netip.MustParseAddr("198.18.210.2"), 50) // 5 s
		if err == nil && res.Received != res.Sent {
			err = fmt.Errorf("%d of %d pings lost", res.Sent-res.Received, res.Sent)
		}
		pinged <- err
	}()
	eventually(t, 3*retry, "ext9 reopened twice", func() error {
		if v := env.appGauge(t, "ovsmesh_ovsdb_app_port_reopens_total", "h2", "ext9"); v < 2 {
			return fmt.Errorf("%v reopens", v)
		}
		return nil
	})
	if err := <-pinged; err != nil {
		t.Errorf("pings across br-int while ext9 was reopened: %v", err)
	}
	if after := ofports(); after != before {
		t.Errorf("ofports of op0, ext0, om-h1 changed from %q to %q", before, after)
	}
	if st := status("ext9"); st.OFPort != -1 || !strings.Contains(st.Error, "ext9") {
		t.Errorf("ext9: %+v", st)
	}
	if n := strings.Count(logs.String(), `msg="app port not up" host=h2 ovsdb=tcp:198.19.233.2:6640 port=ext9`); n != 1 {
		t.Errorf("ext9 reported %d times, want once", n)
	}
	mesh.SetAppPorts(ports)

	// The device is deleted and created again: ovs-vswitchd keeps the
	// port bound to the dead device; ovsmesh sees the new ifindex and
	// reopens the port, and traffic flows again.
	oldPort := vsctl("get", "Port", "ext0", "_uuid")
	sh("", "ip", "-n", far["ext0"], "link", "del", "eth0")
	eventually(t, 5*time.Second, "ext0 reported gone", func() error {
		if st := status("ext0"); st.Up() || !strings.Contains(st.Error, "is gone") {
			return fmt.Errorf("ext0: %+v", st)
		}
		return nil
	})
	t.Logf("ext0 reported: %s", status("ext0"))
	start = time.Now()
	veth("ext0")
	eventually(t, 10*time.Second, "ext0 reopened and up", func() error {
		if v := env.appGauge(t, "ovsmesh_ovsdb_app_port_reopens_total", "h2", "ext0"); v != 1 {
			return fmt.Errorf("%v reopens", v)
		}
		if st := status("ext0"); !st.Up() {
			return fmt.Errorf("ext0: %v", st)
		}
		return nil
	})
	t.Logf("ext0 reopened and up %v after its device came back (%s)", time.Since(start).Round(time.Millisecond), status("ext0"))
	if newPort := vsctl("get", "Port", "ext0", "_uuid"); newPort == oldPort {
		t.Error("ext0 not reopened")
	}
	eventually(t, 5*time.Second, "traffic after the reopen", ping)

	// ext0 no longer declared: removed from the bridge (its device
	// stays); op0 stays; then nothing declared: op0, adopted, goes too.
	mesh.SetAppPorts(ports[1:])
	eventually(t, 5*time.Second, "ext0 removed", func() error {
		if got := vsctl("list-ports", lab.MeshBridge); strings.Contains(got, "ext0") || !strings.Contains(got, "op0") {
			return fmt.Errorf("ports %q", got)
		}
		return nil
	})
	sh(h2.NS, "ip", "link", "show", "ext0")
	mesh.SetAppPorts(nil)
	eventually(t, 5*time.Second, "op0 removed", func() error {
		if got := vsctl("list-ports", lab.MeshBridge); strings.Contains(got, "op0") {
			return fmt.Errorf("ports %q", got)
		}
		return nil
	})
	if got := vsctl("--columns=_uuid,external_ids", "list", "Port", "vm1"); got != vm1Before {
		t.Errorf("vm1 changed:\n%s\nwas\n%s", got, vm1Before)
	}
	if got := vsctl("list-ports", lab.MeshBridge); !strings.Contains(got, "vm1") || !strings.Contains(got, topo.TunnelPortName("h1")) {
		t.Errorf("mesh bridge ports %q: vm1 or the tunnel gone", got)
	}
	if br := vsctl("port-to-br", "ext2"); br != "br-other" {
		t.Errorf("ext2 moved to %s", br)
	}
	if r := mesh.OVSDBState("h2").Repairs; r != 0 {
		t.Errorf("Repairs = %d", r)
	}
}
