package ovsdb

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/ovn-kubernetes/libovsdb/database/inmemory"
	"github.com/ovn-kubernetes/libovsdb/model"
	libovsdb "github.com/ovn-kubernetes/libovsdb/ovsdb"
	"github.com/ovn-kubernetes/libovsdb/server"

	"github.com/ovsmesh/ovsmesh/config"
	"github.com/ovsmesh/ovsmesh/ovsdb/vswitchd"
	"github.com/ovsmesh/ovsmesh/topo"
)

// startServer runs libovsdb's in-process OVSDB server with the vswitch
// schema on a unix socket in a temp dir, with the Open_vSwitch root row in
// place, and returns its address.
func startServer(t testing.TB) string {
	t.Helper()
	full, err := vswitchd.FullDatabaseModel()
	if err != nil {
		t.Fatal(err)
	}
	dbModel, errs := model.NewDatabaseModel(vswitchd.Schema(), full)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	logger := logr.Discard()
	db := inmemory.NewDatabase(map[string]model.ClientDBModel{DatabaseName: full}, &logger)
	srv, err := server.NewOvsdbServer(db, &logger, dbModel)
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "db.sock")
	served := make(chan error, 1)
	go func() { served <- srv.Serve("unix", sock) }()
	eventually(t, 5*time.Second, "in-process ovsdb server ready", func() error {
		select {
		case err := <-served:
			return fmt.Errorf("serve: %w", err)
		default:
		}
		if !srv.Ready() {
			return fmt.Errorf("not ready")
		}
		return nil
	})
	t.Cleanup(srv.Close)
	addr := "unix:" + sock
	c := dialTest(t, addr)
	mustTransact(t, c, insertOp(vswitchd.OpenvSwitchTable, "root", libovsdb.Row{}))
	return addr
}

// dialTest opens a Conn for the test to inspect and change the database.
func dialTest(t testing.TB, addr string) *Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Dial(ctx, addr, DialOptions{})
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(c.Close)
	return c
}

func mustTransact(t testing.TB, c *Conn, ops ...libovsdb.Operation) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.transact(ctx, "test", ops); err != nil {
		t.Fatal(err)
	}
}

// eventually polls f every 20ms until it returns nil, failing the test
// with what was awaited and f's last error after timeout.
func eventually(t testing.TB, timeout time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s: %v", timeout, what, err)
		}
		<-tick.C
	}
}

// waitFor polls the test Conn's replica until check passes.
func waitFor(t testing.TB, c *Conn, what string, check func(*snapshot) error) {
	t.Helper()
	eventually(t, 5*time.Second, what, func() error { return check(c.snapshot()) })
}

func testMesh() config.Mesh {
	return config.Mesh{Bridge: "br-mesh", DatapathType: "netdev", Tunnel: "vxlan", Key: 5001, UnderlayMTU: 1500}
}

func testHost(name, addr string, ip string) topo.Host {
	return topo.Host{Name: name, OVSDB: addr, TunnelIP: netip.MustParseAddr(ip)}
}

// checkMesh verifies that bridge and tunnels on s are what host self in
// hosts should have.
func checkMesh(s *snapshot, mesh config.Mesh, targets []string, self topo.Host, hosts []topo.Host) error {
	br, ok := s.bridges[mesh.Bridge]
	if !ok {
		return fmt.Errorf("no bridge %s", mesh.Bridge)
	}
	if got, want := br.OtherConfig["datapath-id"], self.DPID().String(); got != want {
		return fmt.Errorf("datapath-id %q, want %q", got, want)
	}
	if br.FailMode == nil || *br.FailMode != "secure" {
		return fmt.Errorf("fail_mode %v, want secure", br.FailMode)
	}
	if br.DatapathType != mesh.DatapathType {
		return fmt.Errorf("datapath_type %q, want %q", br.DatapathType, mesh.DatapathType)
	}
	var gotTargets []string
	for _, id := range br.Controller {
		ctl, ok := s.controllers[id]
		if !ok {
			return fmt.Errorf("controller row %s not in replica", id)
		}
		if ctl.ConnectionMode == nil || *ctl.ConnectionMode != "out-of-band" {
			return fmt.Errorf("controller %s connection_mode %v", ctl.Target, ctl.ConnectionMode)
		}
		gotTargets = append(gotTargets, ctl.Target)
	}
	if fmt.Sprint(gotTargets) != fmt.Sprint(targets) {
		return fmt.Errorf("controllers %v, want %v", gotTargets, targets)
	}
	tunnels := 0
	for _, id := range br.Ports {
		if p, ok := s.ports[id]; ok && isTunnel(p) {
			tunnels++
		}
	}
	if tunnels != len(hosts)-1 {
		return fmt.Errorf("%d tunnel ports on %s, want %d", tunnels, mesh.Bridge, len(hosts)-1)
	}
	for _, peer := range hosts {
		if peer.Name == self.Name {
			continue
		}
		name := topo.TunnelPortName(peer.Name)
		p, ok := s.portByName[name]
		if !ok || !containsStr(br.Ports, p.UUID) {
			return fmt.Errorf("no tunnel port %s on %s", name, mesh.Bridge)
		}
		i, ok := s.ifaceByName[name]
		if !ok {
			return fmt.Errorf("no interface %s", name)
		}
		if i.Type != mesh.Tunnel || i.Options["remote_ip"] != peer.TunnelIP.String() || i.Options["key"] != fmt.Sprint(mesh.Key) {
			return fmt.Errorf("interface %s: type %q options %v", name, i.Type, i.Options)
		}
		if p.ExternalIDs[PeerKey] != peer.Name {
			return fmt.Errorf("port %s external_ids %v", name, p.ExternalIDs)
		}
	}
	return nil
}

func containsStr(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// blackhole returns a tcp: OVSDB address on loopback that accepts
// connections and never answers: an ovsdb-server that hangs. Tests use it
// instead of an address outside the test's own namespaces.
func blackhole(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return "tcp:" + ln.Addr().String()
}
