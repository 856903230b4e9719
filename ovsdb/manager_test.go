package ovsdb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	libovsdb "github.com/ovn-kubernetes/libovsdb/ovsdb"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ovsmesh/ovsmesh/ovsdb/vswitchd"
	"github.com/ovsmesh/ovsmesh/topo"
)

var testTargets = []string{"tcp:127.0.0.1:6653"}

// testEnv is a Manager over in-process servers, one per host.
type testEnv struct {
	mesh  *topo.Mesh
	mgr   *Manager
	reg   *prometheus.Registry
	conns map[string]*Conn // test's own view of each host's database
	logs  *syncBuffer
}

// startManager starts a Manager for hosts, with env.mesh as its Publisher
// and AppPorts and with opts applied; a host whose OVSDB is "" gets an
// in-process server.
func startManager(t *testing.T, hosts []topo.Host, opts ...func(*Options)) *testEnv {
	t.Helper()
	env := &testEnv{reg: prometheus.NewRegistry(), conns: map[string]*Conn{}, logs: &syncBuffer{}}
	for i, h := range hosts {
		if h.OVSDB == "" {
			hosts[i].OVSDB = startServer(t)
			env.conns[h.Name] = dialTest(t, hosts[i].OVSDB)
		}
	}
	env.mesh = topo.NewMesh(hosts)
	o := Options{
		Mesh: testMesh(), Targets: testTargets, Hosts: hosts, Publisher: env.mesh, AppPorts: env.mesh,
		Logger:     slog.New(slog.NewTextHandler(env.logs, &slog.HandlerOptions{Level: slog.LevelInfo})),
		Registerer: env.reg, RetryMin: 50 * time.Millisecond, RetryMax: 200 * time.Millisecond,
		ConnectTimeout: time.Second,
	}
	for _, f := range opts {
		f(&o)
	}
	mgr, err := NewManager(o)
	if err != nil {
		t.Fatal(err)
	}
	env.mgr = mgr
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("Run did not return within 5s of cancel")
		}
	})
	return env
}

// waitMesh waits until every host with a test Conn has the full mesh.
func (env *testEnv) waitMesh(t *testing.T, hosts []topo.Host) {
	t.Helper()
	for _, h := range hosts {
		if c, ok := env.conns[h.Name]; ok {
			waitFor(t, c, "full mesh on "+h.Name, func(s *snapshot) error {
				return checkMesh(s, testMesh(), testTargets, h, hosts)
			})
		}
	}
}

func (env *testEnv) counter(t *testing.T, name, host string) float64 {
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
			for _, l := range m.GetLabel() {
				if l.GetName() == "host" && l.GetValue() == host {
					return m.GetCounter().GetValue() + m.GetGauge().GetValue()
				}
			}
		}
	}
	return 0
}

func threeHosts() []topo.Host {
	return []topo.Host{
		testHost("h1", "", "198.18.0.1"),
		testHost("h2", "", "198.18.0.2"),
		testHost("h3", "", "198.18.0.3"),
	}
}

func TestManagerBuildsMeshAndPublishes(t *testing.T) {
	hosts := threeHosts()
	env := startManager(t, hosts)
	env.waitMesh(t, hosts)

	eventually(t, 5*time.Second, "h1 reported connected", func() error {
		if st := env.mesh.OVSDBState("h1"); !st.Connected || st.Since.IsZero() {
			return fmt.Errorf("state %+v", st)
		}
		return nil
	})
	if v := env.counter(t, "ovsmesh_ovsdb_connected", "h2"); v != 1 {
		t.Errorf("ovsmesh_ovsdb_connected{host=h2} = %v, want 1", v)
	}
	// Nobody assigns ofport without ovs-vswitchd: play its part.
	c := env.conns["h1"]
	iface := c.snapshot().ifaceByName[topo.TunnelPortName("h3")]
	mustTransact(t, c, updateOp(vswitchd.InterfaceTable, whereUUID(iface.UUID), libovsdb.Row{"ofport": 7}))
	eventually(t, 5*time.Second, "OFPort of h1's tunnel to h3 published", func() error {
		if p, ok := env.mesh.TunnelOFPort("h1", "h3"); !ok || p != 7 {
			return fmt.Errorf("TunnelOFPort(h1, h3) = %d, %v", p, ok)
		}
		return nil
	})
	mfs, err := env.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	libovsdbMetrics := 0
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), "ovsmesh_ovsdb_libovsdb_") {
			libovsdbMetrics++
		}
	}
	if libovsdbMetrics == 0 {
		t.Error("no ovsmesh_ovsdb_libovsdb_* metrics registered")
	}
	if mtu := env.mgr.OverlayMTU(); mtu != 1450 {
		t.Errorf("OverlayMTU = %d, want 1450", mtu)
	}
}

func TestManagerRepairsDrift(t *testing.T) {
	hosts := threeHosts()
	env := startManager(t, hosts)
	env.waitMesh(t, hosts)
	c := env.conns["h2"]
	tests := []struct {
		name  string
		drift func(s *snapshot) []libovsdb.Operation
	}{
		{"delete tunnel port", func(s *snapshot) []libovsdb.Operation {
			return removePortOps(s, s.portByName[topo.TunnelPortName("h1")])
		}},
		{"edit tunnel options", func(s *snapshot) []libovsdb.Operation {
			i := s.ifaceByName[topo.TunnelPortName("h3")]
			return []libovsdb.Operation{updateOp(vswitchd.InterfaceTable, whereUUID(i.UUID),
				libovsdb.Row{"options": stringMap(map[string]string{"remote_ip": "198.18.9.9", "key": "1"})})}
		}},
		{"standalone fail mode and foreign DPID", func(s *snapshot) []libovsdb.Operation {
			br := s.bridges["br-mesh"]
			return append([]libovsdb.Operation{updateOp(vswitchd.BridgeTable, whereUUID(br.UUID), libovsdb.Row{"fail_mode": "standalone"})},
				setMapKeysOps(vswitchd.BridgeTable, whereUUID(br.UUID), "other_config", br.OtherConfig, map[string]string{"datapath-id": "0000000000000042"})...)
		}},
		{"controller removed", func(s *snapshot) []libovsdb.Operation {
			br := s.bridges["br-mesh"]
			return []libovsdb.Operation{updateOp(vswitchd.BridgeTable, whereUUID(br.UUID), libovsdb.Row{"controller": uuidSet()})}
		}},
		{"controller in-band", func(s *snapshot) []libovsdb.Operation {
			br := s.bridges["br-mesh"]
			return []libovsdb.Operation{updateOp(vswitchd.ControllerTable, whereUUID(br.Controller[0]), libovsdb.Row{"connection_mode": "in-band"})}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Writes before h2 has converged are not repairs.
			eventually(t, 5*time.Second, "h2 converged", func() error {
				if !env.mesh.OVSDBState("h2").Converged {
					return errors.New("not converged")
				}
				return nil
			})
			before := env.mesh.OVSDBState("h2").Repairs
			mustTransact(t, c, tc.drift(c.snapshot())...)
			env.waitMesh(t, hosts)
			eventually(t, 5*time.Second, "repair counted in topo state", func() error {
				if got := env.mesh.OVSDBState("h2").Repairs; got <= before {
					return fmt.Errorf("Repairs = %d, was %d", got, before)
				}
				return nil
			})
		})
	}
	if v := env.counter(t, "ovsmesh_ovsdb_repairs_total", "h2"); v < float64(len(tests)) {
		t.Errorf("ovsmesh_ovsdb_repairs_total{host=h2} = %v, want >= %d", v, len(tests))
	}
}

func TestManagerLeavesForeignPortsAlone(t *testing.T) {
	hosts := threeHosts()
	env := startManager(t, hosts)
	env.waitMesh(t, hosts)
	c := env.conns["h1"]
	// A foreign tunnel-like port and a guest port with a too-large MTU.
	mustTransact(t, c, append(tunnelOps("om-stranger", "gre", map[string]string{"remote_ip": "198.18.7.7"}, false),
		insertOp(vswitchd.InterfaceTable, "g", libovsdb.Row{"name": "vm1", "mtu": 9000}),
		insertOp(vswitchd.PortTable, "gp", libovsdb.Row{"name": "vm1", "interfaces": uuidSet("g")}),
		mutateOp(vswitchd.BridgeTable, whereName("br-mesh"), "ports", libovsdb.MutateOperationInsert, uuidSet("gp")))...)
	eventually(t, 5*time.Second, "MTU warning for vm1", func() error {
		if !strings.Contains(env.logs.String(), "interface=vm1 mtu=9000 overlay_mtu=1450") {
			return fmt.Errorf("no warning yet in logs")
		}
		return nil
	})
	// Wait for a further full pass (a resync is not needed: a drift repair
	// on another port forces one) and check the strangers are intact.
	mustTransact(t, c, removePortOps(c.snapshot(), c.snapshot().portByName[topo.TunnelPortName("h2")])...)
	env.waitMesh(t, hosts)
	s := c.snapshot()
	for _, name := range []string{"om-stranger", "vm1"} {
		if p, ok := s.portByName[name]; !ok || !containsStr(s.bridges["br-mesh"].Ports, p.UUID) {
			t.Errorf("foreign port %s removed or detached", name)
		}
	}
	if i := s.ifaceByName["om-stranger"]; i.Type != "gre" || i.Options["remote_ip"] != "198.18.7.7" {
		t.Errorf("foreign interface modified: %q %v", i.Type, i.Options)
	}
}

func TestManagerReload(t *testing.T) {
	hosts := threeHosts()
	env := startManager(t, hosts)
	env.waitMesh(t, hosts)

	// h3 leaves: its tunnels go away on h1 and h2.
	two := hosts[:2]
	env.mesh.SetHosts(two)
	if err := env.mgr.Reload(two); err != nil {
		t.Fatal(err)
	}
	env.waitMesh(t, two)
	if v := env.counter(t, "ovsmesh_ovsdb_connected", "h3"); v != 0 {
		t.Errorf("series for departed h3 still there: %v", v)
	}

	// h4 joins and h2's tunnel IP moves.
	h4 := testHost("h4", startServer(t), "198.18.0.4")
	env.conns["h4"] = dialTest(t, h4.OVSDB)
	moved := []topo.Host{hosts[0], hosts[1], h4}
	moved[1].TunnelIP = hosts[2].TunnelIP
	env.mesh.SetHosts(moved)
	if err := env.mgr.Reload(moved); err != nil {
		t.Fatal(err)
	}
	env.waitMesh(t, moved)

	if err := env.mgr.Reload([]topo.Host{hosts[0], hosts[0]}); err == nil {
		t.Error("Reload accepted duplicate host names")
	}
}

func TestManagerUnreachableHostDoesNotDelayOthers(t *testing.T) {
	hosts := append(threeHosts()[:2],
		testHost("gone", "unix:"+t.TempDir()+"/nothing.sock", "198.18.0.8"),
		testHost("dark", blackhole(t), "198.18.0.9"),
	)
	start := time.Now()
	env := startManager(t, hosts)
	env.waitMesh(t, hosts)
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("reachable hosts took %v to converge", d)
	}
	for _, name := range []string{"gone"} {
		eventually(t, 5*time.Second, name+" reported down with an error and counted", func() error {
			st := env.mesh.OVSDBState(name)
			if st.Connected || st.LastError == "" || st.Since.IsZero() {
				return fmt.Errorf("state %+v", st)
			}
			if env.counter(t, "ovsmesh_ovsdb_connect_errors_total", name) < 2 {
				return fmt.Errorf("fewer than 2 connect errors: no retries yet")
			}
			return nil
		})
	}
	if st := env.mesh.OVSDBState("dark"); st.Connected {
		t.Errorf("dark reported connected: %+v", st)
	}
}

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
