package main

import (
	"log/slog"
	"maps"
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/ovsmesh/ovsmesh/ovsdb"
	"github.com/ovsmesh/ovsmesh/topo"
)

// TestPersistingMeshBatch checks that the controller's publisher takes a
// pass's OFPorts in one call and writes the host's record once, and is
// found by the OVSDB side as a batch and app port publisher.
func TestPersistingMeshBatch(t *testing.T) {
	var hosts []topo.Host
	for i, name := range []string{"h1", "h2", "h3", "h4"} {
		hosts = append(hosts, topo.Host{Name: name, OVSDB: "unix:/nothing", TunnelIP: netip.AddrFrom4([4]byte{198, 18, 0, byte(i + 1)})})
	}
	mesh := topo.NewMesh(hosts)
	st, err := openState(filepath.Join(t.TempDir(), "state.db"), mesh, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.close()
	var pub ovsdb.Publisher = persistingMesh{mesh, st.hosts}
	bp, ok := pub.(ovsdb.BatchPublisher)
	if !ok {
		t.Fatal("persistingMesh is not an ovsdb.BatchPublisher")
	}
	if _, ok := pub.(ovsdb.AppPortPublisher); !ok {
		t.Error("persistingMesh is not an ovsdb.AppPortPublisher")
	}
	writes := 0
	cancel := st.hosts.Watch(func(topo.ChangeOp, topo.HostRecord) { writes++ })
	defer cancel()

	bp.SetTunnelOFPorts("h1", map[string]int32{"h2": 2, "h3": 3, "h4": 4})
	if writes != 1 {
		t.Errorf("%d host record writes for one pass, want 1", writes)
	}
	rec, ok := st.hosts.Get("h1")
	if want := map[string]int32{"h2": 2, "h3": 3, "h4": 4}; !ok || !maps.Equal(rec.Tunnels, want) || rec.DPID != topo.DPIDFor("h1") {
		t.Errorf("h1 record = %+v, %v; want tunnels %v", rec, ok, want)
	}
	// A later pass: one tunnel gone, one renumbered.
	bp.SetTunnelOFPorts("h1", map[string]int32{"h3": 0, "h4": 9})
	rec, _ = st.hosts.Get("h1")
	if want := map[string]int32{"h2": 2, "h4": 9}; !maps.Equal(rec.Tunnels, want) || writes != 2 {
		t.Errorf("h1 record = %v after %d writes; want %v after 2", rec.Tunnels, writes, want)
	}
	if p, ok := mesh.TunnelOFPort("h1", "h4"); !ok || p != 9 {
		t.Errorf("mesh TunnelOFPort(h1, h4) = %d, %v", p, ok)
	}
}
