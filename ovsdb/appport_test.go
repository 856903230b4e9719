package ovsdb

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	libovsdb "github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/ovsmesh/ovsmesh/ovsdb/vswitchd"
	"github.com/ovsmesh/ovsmesh/topo"
)

// natPort is the app port most tests declare.
var natPort = topo.AppPort{Host: "h1", Name: "ext0", App: "nat"}

// appBridge starts an in-process server with bridge br-mesh (and its
// local port) and one tunnel port, and returns a Conn to it.
func appBridge(t *testing.T) *Conn {
	t.Helper()
	c := dialTest(t, startServer(t))
	ctx := context.Background()
	if _, err := c.EnsureBridge(ctx, Bridge{Name: "br-mesh", DatapathType: "netdev", DPID: 1}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, c, "bridge", func(s *snapshot) error {
		if _, ok := s.bridges["br-mesh"]; !ok {
			return errors.New("no bridge")
		}
		return nil
	})
	if _, err := c.SyncTunnelPorts(ctx, "br-mesh", syncPeers("h2")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, c, "tunnel", func(s *snapshot) error {
		if _, ok := s.portByName[topo.TunnelPortName("h2")]; !ok {
			return errors.New("no tunnel")
		}
		return nil
	})
	return c
}

// fakeVswitchd plays ovs-vswitchd's part in the cur_cfg protocol on c's
// server until the test ends: whenever next_cfg is ahead of cur_cfg it
// records whether port watch exists at that moment (a reopen must have
// deleted it and not inserted it yet) and sets cur_cfg to next_cfg.
func fakeVswitchd(t *testing.T, c *Conn, watch string) (applied func() []bool) {
	t.Helper()
	// Catch up first: what was asked before the fake ran is not recorded.
	if s := c.snapshot(); s.root != nil && s.root.NextCfg > s.root.CurCfg {
		mustTransact(t, c, updateOp(vswitchd.OpenvSwitchTable, whereUUID(s.root.UUID), libovsdb.Row{"cur_cfg": s.root.NextCfg}))
		waitFor(t, c, "cur_cfg caught up", func(s *snapshot) error {
			if s.root.CurCfg < s.root.NextCfg {
				return errors.New("not yet")
			}
			return nil
		})
	}
	var mu sync.Mutex
	var seen []bool
	done := make(chan struct{})
	stopped := make(chan struct{})
	t.Cleanup(func() { close(done); <-stopped })
	go func() {
		defer close(stopped)
		for {
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
			s := c.snapshot()
			if s.root == nil || s.root.NextCfg <= s.root.CurCfg {
				continue
			}
			_, exists := s.portByName[watch]
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			err := c.transact(ctx, "fake vswitchd", []libovsdb.Operation{
				updateOp(vswitchd.OpenvSwitchTable, whereUUID(s.root.UUID), libovsdb.Row{"cur_cfg": s.root.NextCfg})})
			cancel()
			if err == nil {
				mu.Lock()
				seen = append(seen, exists)
				mu.Unlock()
			}
		}
	}()
	return func() []bool {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(seen)
	}
}

// plainPortOps adds an operator's port name (one interface of that name
// and type typ, external_ids ids) to bridge.
func plainPortOps(bridge, name, typ string, ids map[string]string) []libovsdb.Operation {
	return []libovsdb.Operation{
		insertOp(vswitchd.InterfaceTable, "pi", libovsdb.Row{"name": name, "type": typ}),
		insertOp(vswitchd.PortTable, "pp", libovsdb.Row{"name": name, "interfaces": uuidSet("pi"), "external_ids": stringMap(ids)}),
		mutateOp(vswitchd.BridgeTable, whereName(bridge), "ports", libovsdb.MutateOperationInsert, uuidSet("pp")),
	}
}

// appPortOn returns an error unless s has port name on bridge, marked as
// app's, with one system interface of that name marked too.
func appPortOn(s *snapshot, bridge, name, app string) error {
	p, ok := s.portByName[name]
	switch {
	case !ok:
		return fmt.Errorf("no port %s", name)
	case !slices.Contains(s.bridges[bridge].Ports, p.UUID):
		return fmt.Errorf("port %s not on %s", name, bridge)
	case p.ExternalIDs[OwnerKey] != OwnerValue || p.ExternalIDs[AppKey] != app:
		return fmt.Errorf("port %s external_ids %v", name, p.ExternalIDs)
	case len(p.Interfaces) != 1:
		return fmt.Errorf("port %s has %d interfaces", name, len(p.Interfaces))
	}
	i, ok := s.ifaces[p.Interfaces[0]]
	switch {
	case !ok:
		return fmt.Errorf("interface of %s not in replica", name)
	case i.Name != name || (i.Type != "" && i.Type != "system"):
		return fmt.Errorf("interface %q of type %q", i.Name, i.Type)
	case i.ExternalIDs[OwnerKey] != OwnerValue || i.ExternalIDs[AppKey] != app:
		return fmt.Errorf("interface %s external_ids %v", name, i.ExternalIDs)
	}
	return nil
}

func TestSyncAppPortsCreatesAndIsIdempotent(t *testing.T) {
	c := appBridge(t)
	ctx := context.Background()
	res, status, err := c.SyncAppPorts(ctx, "br-mesh", []topo.AppPort{natPort}, nil)
	if err != nil || fmt.Sprint(res.Created) != "[ext0]" || len(res.Adopted)+len(res.Fixed)+len(res.Removed) > 0 {
		t.Fatalf("SyncAppPorts = %s, %v", res, err)
	}
	if st := status["ext0"]; st != (topo.AppPortStatus{}) {
		t.Errorf("status of a port just created = %+v, want pending", st)
	}
	waitFor(t, c, "ext0 created", func(s *snapshot) error { return appPortOn(s, "br-mesh", "ext0", "nat") })
	if res, _, err := c.SyncAppPorts(ctx, "br-mesh", []topo.AppPort{natPort}, nil); err != nil || res.Changed() {
		t.Errorf("second SyncAppPorts = %s, %v; want no changes", res, err)
	}
	// The tunnel sync leaves the app port alone, and the app port sync
	// the tunnel.
	if res, err := c.SyncTunnelPorts(ctx, "br-mesh", nil); err != nil || fmt.Sprint(res.Removed) != "[om-h2]" {
		t.Fatalf("SyncTunnelPorts(none) = %s, %v; want only om-h2 removed", res, err)
	}
	waitFor(t, c, "om-h2 removed, ext0 kept", func(s *snapshot) error {
		if _, ok := s.portByName[topo.TunnelPortName("h2")]; ok {
			return errors.New("om-h2 still there")
		}
		return appPortOn(s, "br-mesh", "ext0", "nat")
	})
	if got := c.TunnelPorts("br-mesh"); len(got) != 0 {
		t.Errorf("TunnelPorts lists %v", got)
	}
	if _, _, err := c.SyncAppPorts(ctx, "br-none", []topo.AppPort{natPort}, nil); !errors.Is(err, ErrNoBridge) {
		t.Errorf("SyncAppPorts on a missing bridge = %v, want ErrNoBridge", err)
	}
}

func TestSyncAppPortsAdoptsAndLeavesAlone(t *testing.T) {
	c := appBridge(t)
	ctx := context.Background()
	// The operator's ports: ext0 on the mesh bridge with a key of their
	// own, ext1 on another bridge, ext2 internal on the mesh bridge, vm1
	// a guest.
	mustTransact(t, c, plainPortOps("br-mesh", "ext0", "", map[string]string{"site": "a"})...)
	if _, err := c.EnsureBridge(ctx, Bridge{Name: "br-ex", DatapathType: "netdev", DPID: 2}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, c, "br-ex", func(s *snapshot) error {
		if _, ok := s.bridges["br-ex"]; !ok {
			return errors.New("no br-ex")
		}
		return nil
	})
	mustTransact(t, c, plainPortOps("br-ex", "ext1", "", nil)...)
	mustTransact(t, c, plainPortOps("br-mesh", "ext2", "internal", nil)...)
	mustTransact(t, c, plainPortOps("br-mesh", "vm1", "", nil)...)
	waitFor(t, c, "operator ports", func(s *snapshot) error {
		for _, n := range []string{"ext0", "ext1", "ext2", "vm1"} {
			if _, ok := s.portByName[n]; !ok {
				return fmt.Errorf("no %s yet", n)
			}
		}
		return nil
	})
	before := c.snapshot()
	want := []topo.AppPort{natPort, {Host: "h1", Name: "ext1", App: "nat"}, {Host: "h1", Name: "ext2", App: "nat"},
		{Host: "h1", Name: "om-h9", App: "nat"}, {Host: "h1", Name: "br-mesh", App: "nat"}}
	res, status, err := c.SyncAppPorts(ctx, "br-mesh", want, nil)
	if err != nil || fmt.Sprint(res.Adopted) != "[ext0]" || len(res.Created)+len(res.Fixed)+len(res.Removed) > 0 {
		t.Fatalf("SyncAppPorts = %s, %v; want only ext0 adopted", res, err)
	}
	for name, want := range map[string]string{
		"ext1":    "port ext1 is on bridge br-ex, not br-mesh: ovsmesh leaves it alone",
		"ext2":    "not a single system interface",
		"om-h9":   "ovsmesh's tunnel ports",
		"br-mesh": "mesh bridge's own port",
	} {
		if st := status[name]; !strings.Contains(st.Error, want) || st.Up() || retryable(st) {
			t.Errorf("status[%s] = %+v, want an error containing %q", name, st, want)
		}
	}
	waitFor(t, c, "ext0 adopted", func(s *snapshot) error {
		if err := appPortOn(s, "br-mesh", "ext0", "nat"); err != nil {
			return err
		}
		if p := s.portByName["ext0"]; p.UUID != before.portByName["ext0"].UUID || p.ExternalIDs["site"] != "a" {
			return fmt.Errorf("ext0 replaced or its own keys lost: %s %v", p.UUID, p.ExternalIDs)
		}
		return nil
	})
	after := c.snapshot()
	for _, n := range []string{"ext1", "ext2", "vm1"} {
		b, a := before.portByName[n], after.portByName[n]
		if a == nil || a.UUID != b.UUID || !maps.Equal(a.ExternalIDs, b.ExternalIDs) {
			t.Errorf("port %s changed: %+v -> %+v", n, b, a)
		}
	}
	if !slices.Contains(after.bridges["br-ex"].Ports, after.portByName["ext1"].UUID) {
		t.Error("ext1 taken from br-ex")
	}

	// No longer declared: the adopted ext0 goes (it is marked now), the
	// unmarked ports and the tunnel stay.
	res, _, err = c.SyncAppPorts(ctx, "br-mesh", nil, nil)
	if err != nil || fmt.Sprint(res.Removed) != "[ext0]" || len(res.Created)+len(res.Adopted)+len(res.Fixed) > 0 {
		t.Fatalf("SyncAppPorts(none) = %s, %v; want only ext0 removed", res, err)
	}
	waitFor(t, c, "ext0 removed, the rest kept", func(s *snapshot) error {
		if _, ok := s.portByName["ext0"]; ok {
			return errors.New("ext0 still there")
		}
		for _, n := range []string{"ext1", "ext2", "vm1", topo.TunnelPortName("h2")} {
			if _, ok := s.portByName[n]; !ok {
				return fmt.Errorf("%s removed", n)
			}
		}
		return nil
	})
}

func TestSyncAppPortsFixesAndReopens(t *testing.T) {
	c := appBridge(t)
	ctx := context.Background()
	want := []topo.AppPort{natPort}
	if _, _, err := c.SyncAppPorts(ctx, "br-mesh", want, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, c, "ext0 created", func(s *snapshot) error { return appPortOn(s, "br-mesh", "ext0", "nat") })

	// Retyped by hand: fixed in place.
	i := c.snapshot().ifaceByName["ext0"]
	mustTransact(t, c, updateOp(vswitchd.InterfaceTable, whereUUID(i.UUID), libovsdb.Row{"type": "internal"}))
	waitFor(t, c, "retyped", func(s *snapshot) error {
		if s.ifaceByName["ext0"].Type != "internal" {
			return errors.New("not yet")
		}
		return nil
	})
	if res, _, err := c.SyncAppPorts(ctx, "br-mesh", want, nil); err != nil || fmt.Sprint(res.Fixed) != "[ext0]" {
		t.Fatalf("SyncAppPorts after retype = %s, %v; want ext0 fixed", res, err)
	}
	waitFor(t, c, "ext0 system again", func(s *snapshot) error { return appPortOn(s, "br-mesh", "ext0", "nat") })

	// Without an ovs-vswitchd to apply the removal, a reopen gives up
	// waiting after reopenWait and adds the rows again.
	old := c.snapshot().portByName["ext0"].UUID
	start := time.Now()
	res, _, err := c.SyncAppPorts(ctx, "br-mesh", want, []string{"ext0"})
	if took := time.Since(start); err != nil || fmt.Sprint(res.Reopened) != "[ext0]" || took < reopenWait {
		t.Fatalf("reopen without ovs-vswitchd = %s, %v after %v; want ext0 reopened after %v", res, err, took, reopenWait)
	}
	waitFor(t, c, "ext0 back", func(s *snapshot) error {
		if p, ok := s.portByName["ext0"]; !ok || p.UUID == old {
			return errors.New("not yet")
		}
		return appPortOn(s, "br-mesh", "ext0", "nat")
	})
	i = c.snapshot().ifaceByName["ext0"]

	// OVS could not open it: a reopen removes the rows, waits for
	// ovs-vswitchd to apply that, and adds them again.
	applied := fakeVswitchd(t, c, "ext0")
	const noDev = "could not open network device ext0 (No such device)"
	mustTransact(t, c, updateOp(vswitchd.InterfaceTable, whereUUID(i.UUID), libovsdb.Row{"ofport": -1, "error": stringSet(noDev)}))
	waitFor(t, c, "error set", func(s *snapshot) error {
		if e := s.ifaceByName["ext0"].Error; e == nil {
			return errors.New("not yet")
		}
		return nil
	})
	res, status, err := c.SyncAppPorts(ctx, "br-mesh", want, nil)
	if err != nil || res.Changed() || status["ext0"] != (topo.AppPortStatus{OFPort: -1, Error: noDev}) || !retryable(status["ext0"]) {
		t.Fatalf("SyncAppPorts of a port in error = %s, %+v, %v", res, status["ext0"], err)
	}
	before := c.snapshot()
	old = before.portByName["ext0"].UUID
	cfg := before.root.NextCfg
	res, _, err = c.SyncAppPorts(ctx, "br-mesh", want, []string{"ext0"})
	if err != nil || fmt.Sprint(res.Reopened) != "[ext0]" {
		t.Fatalf("reopen = %s, %v; want ext0 reopened", res, err)
	}
	if got := applied(); !slices.Equal(got, []bool{false}) {
		t.Errorf("ovs-vswitchd applied %d configurations, ext0 present in each: %v; want one, without ext0", len(got), got)
	}
	waitFor(t, c, "ext0 added again", func(s *snapshot) error {
		p, ok := s.portByName["ext0"]
		if !ok || p.UUID == old {
			return errors.New("not yet")
		}
		if e := s.ifaceByName["ext0"].Error; e != nil {
			return fmt.Errorf("error %q kept", *e)
		}
		if s.root.NextCfg != cfg+1 {
			return fmt.Errorf("next_cfg %d, want %d", s.root.NextCfg, cfg+1)
		}
		return appPortOn(s, "br-mesh", "ext0", "nat")
	})
	if _, ok := c.snapshot().portByName[topo.TunnelPortName("h2")]; !ok {
		t.Error("the reopen removed the tunnel")
	}
	// Only owned ports that are right are reopened.
	mustTransact(t, c, plainPortOps("br-mesh", "vm1", "", nil)...)
	waitFor(t, c, "vm1", func(s *snapshot) error {
		if _, ok := s.portByName["vm1"]; !ok {
			return errors.New("not yet")
		}
		return nil
	})
	if res, _, err := c.SyncAppPorts(ctx, "br-mesh", want, []string{"vm1", "ext1"}); err != nil || res.Changed() {
		t.Errorf("reopen of ports that are not owned app ports = %s, %v", res, err)
	}
}

// TestManagerAppPorts runs app ports through the Manager: created when
// declared, status published and counted, a port in error reopened at
// the bounded interval and reported once, a port whose device came back
// under a new ifindex reopened at once, and a change of the declared set
// applied at once (not at the next resync), without counting repairs.
func TestManagerAppPorts(t *testing.T) {
	hosts := threeHosts()
	env := startManager(t, hosts, func(o *Options) {
		o.ResyncInterval = time.Hour // only monitor updates and the watch wake passes
		o.AppPortRetry = 300 * time.Millisecond
	})
	env.waitMesh(t, hosts)
	c := env.conns["h1"]
	fakeVswitchd(t, c, "ext0")
	eventually(t, 5*time.Second, "h1 converged", func() error {
		if !env.mesh.OVSDBState("h1").Converged {
			return errors.New("not converged")
		}
		return nil
	})

	env.mesh.SetAppPorts([]topo.AppPort{natPort})
	waitFor(t, c, "ext0 added on h1", func(s *snapshot) error { return appPortOn(s, "br-mesh", "ext0", "nat") })
	if _, ok := env.conns["h2"].snapshot().portByName["ext0"]; ok {
		t.Error("ext0 added on h2 too")
	}
	eventually(t, 5*time.Second, "pending status published", func() error {
		if st, ok := env.mesh.AppPortStatus("h1", "ext0"); !ok || st.Up() || st.Error != "" || st.Since.IsZero() {
			return fmt.Errorf("AppPortStatus = %+v, %v", st, ok)
		}
		return nil
	})

	// ovs-vswitchd's part: no such device.
	const noDev = "could not open network device ext0 (No such device)"
	i := c.snapshot().ifaceByName["ext0"]
	mustTransact(t, c, updateOp(vswitchd.InterfaceTable, whereUUID(i.UUID), libovsdb.Row{"ofport": -1, "error": stringSet(noDev)}))
	eventually(t, 5*time.Second, "error published", func() error {
		if st, _ := env.mesh.AppPortStatus("h1", "ext0"); st.Error != noDev || st.OFPort != -1 {
			return fmt.Errorf("AppPortStatus = %+v", st)
		}
		return nil
	})
	if v := env.appGauge(t, "ovsmesh_ovsdb_app_port_up", "h1", "ext0"); v != 0 {
		t.Errorf("app_port_up = %v, want 0", v)
	}
	// Reopened: the rows are recreated (a new UUID), again and again while
	// the error lasts; each time ovs-vswitchd fails again.
	seen := map[string]bool{i.UUID: true}
	eventually(t, 5*time.Second, "three retries", func() error {
		s := c.snapshot()
		if i := s.ifaceByName["ext0"]; i != nil && !seen[i.UUID] {
			seen[i.UUID] = true
			mustTransact(t, c, updateOp(vswitchd.InterfaceTable, whereUUID(i.UUID), libovsdb.Row{"ofport": -1, "error": stringSet(noDev)}))
		}
		if len(seen) < 4 {
			return fmt.Errorf("%d rows so far", len(seen))
		}
		return nil
	})
	if v := env.appCounter(t, "ovsmesh_ovsdb_app_port_reopens_total", "h1", "ext0"); v < 3 {
		t.Errorf("app_port_reopens_total = %v, want >= 3", v)
	}
	logs := env.logs.String()
	if n := strings.Count(logs, `msg="app port not up"`); n != 1 {
		t.Errorf("%d 'app port not up' lines, want 1 (once per change):\n%s", n, logs)
	}
	if n := strings.Count(logs, "level=INFO msg=\"app port reopened"); n != 1 {
		t.Errorf("%d reopen lines at info, want 1:\n%s", n, logs)
	}

	// The device appears: up. (The row is up to date once a reopen in
	// flight, if any, has passed.)
	upStatus := func(ofport int32) func() error {
		return func() error {
			if i := c.snapshot().ifaceByName["ext0"]; i != nil && (i.Ofport == nil || *i.Ofport != int(ofport)) {
				mustTransact(t, c, updateOp(vswitchd.InterfaceTable, whereUUID(i.UUID),
					libovsdb.Row{"ofport": int(ofport), "error": stringSet(), "ifindex": 7 + int(ofport)}))
			}
			if st, _ := env.mesh.AppPortStatus("h1", "ext0"); !st.Up() || st.OFPort != ofport {
				return fmt.Errorf("AppPortStatus = %+v", st)
			}
			if v := env.appGauge(t, "ovsmesh_ovsdb_app_port_up", "h1", "ext0"); v != 1 {
				return fmt.Errorf("app_port_up = %v", v)
			}
			return nil
		}
	}
	eventually(t, 5*time.Second, "up published", upStatus(5))
	up, i := c.snapshot().portByName["ext0"].UUID, c.snapshot().ifaceByName["ext0"]
	reopens := env.appCounter(t, "ovsmesh_ovsdb_app_port_reopens_total", "h1", "ext0")
	time.Sleep(600 * time.Millisecond) // two retry intervals: a port that is up is left alone
	if p := c.snapshot().portByName["ext0"]; p == nil || p.UUID != up {
		t.Error("a port that is up was recreated")
	}

	// The device goes (ovs-vswitchd keeps the port, ifindex 0): reported,
	// not reopened. It comes back under a new ifindex: reopened at once,
	// so that ovs-vswitchd lets go of the dead device.
	mustTransact(t, c, updateOp(vswitchd.InterfaceTable, whereUUID(i.UUID), libovsdb.Row{"ifindex": 0}))
	eventually(t, 5*time.Second, "device gone published", func() error {
		if st, _ := env.mesh.AppPortStatus("h1", "ext0"); st.Up() || !strings.Contains(st.Error, "network device ext0 is gone") {
			return fmt.Errorf("AppPortStatus = %+v", st)
		}
		return nil
	})
	time.Sleep(100 * time.Millisecond)
	if p := c.snapshot().portByName["ext0"]; p == nil || p.UUID != up {
		t.Error("a port whose device is gone was recreated")
	}
	mustTransact(t, c, updateOp(vswitchd.InterfaceTable, whereUUID(i.UUID), libovsdb.Row{"ifindex": 9}))
	waitFor(t, c, "ext0 reopened", func(s *snapshot) error {
		if p := s.portByName["ext0"]; p == nil || p.UUID == up {
			return errors.New("not yet")
		}
		return nil
	})
	eventually(t, 5*time.Second, "reopen counted", func() error {
		if v := env.appCounter(t, "ovsmesh_ovsdb_app_port_reopens_total", "h1", "ext0"); v != reopens+1 {
			return fmt.Errorf("app_port_reopens_total = %v, want %v", v, reopens+1)
		}
		return nil
	})
	eventually(t, 5*time.Second, "up again", upStatus(6))

	// Removed from the declared set: gone at once, series forgotten.
	env.mesh.SetAppPorts(nil)
	waitFor(t, c, "ext0 removed", func(s *snapshot) error {
		if _, ok := s.portByName["ext0"]; ok {
			return errors.New("still there")
		}
		return nil
	})
	env.waitMesh(t, hosts)
	eventually(t, 5*time.Second, "series forgotten", func() error {
		if env.hasSeries(t, "ovsmesh_ovsdb_app_port_up", "ext0") {
			return errors.New("ovsmesh_ovsdb_app_port_up{port=ext0} still exported")
		}
		return nil
	})
	if r := env.mesh.OVSDBState("h1").Repairs; r != 0 {
		t.Errorf("Repairs = %d: declaring, retrying and removing app ports counted as drift", r)
	}
}

// appGauge returns the value of the series name{host, port}, or -1.
func (env *testEnv) appGauge(t *testing.T, name, host, port string) float64 {
	t.Helper()
	mfs, err := env.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			l := map[string]string{}
			for _, p := range m.GetLabel() {
				l[p.GetName()] = p.GetValue()
			}
			if l["host"] == host && l["port"] == port {
				return m.GetGauge().GetValue() + m.GetCounter().GetValue()
			}
		}
	}
	return -1
}

func (env *testEnv) appCounter(t *testing.T, name, host, port string) float64 {
	return env.appGauge(t, name, host, port)
}

// hasSeries reports whether name has a series with port=port.
func (env *testEnv) hasSeries(t *testing.T, name, port string) bool {
	return env.appGauge(t, name, "h1", port) != -1
}
