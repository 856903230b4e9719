package ovsdb

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"testing"

	libovsdb "github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/ovsmesh/ovsmesh/ovsdb/vswitchd"
	"github.com/ovsmesh/ovsmesh/topo"
)

// syncPeers are h1's peers in the SyncTunnelPorts tests.
func syncPeers(names ...string) []TunnelPort {
	var out []TunnelPort
	for i, n := range names {
		out = append(out, TunnelPort{Name: topo.TunnelPortName(n), Peer: n, Type: "vxlan",
			RemoteIP: netip.AddrFrom4([4]byte{198, 18, 0, byte(i + 2)}), Key: 5001})
	}
	return out
}

func TestSyncTunnelPorts(t *testing.T) {
	want := syncPeers("h2", "h3", "h4")
	tests := []struct {
		name    string
		setup   []libovsdb.Operation // on bridge br-mesh
		want    []TunnelPort
		result  SyncResult
		wantErr error
		present []string // owned ports expected afterwards, besides want's
	}{
		{name: "create all in one go", want: want,
			result: SyncResult{Created: []string{"om-h2", "om-h3", "om-h4"}}},
		{name: "nothing to do", setup: slices.Concat(portOps(want[0], "a"), portOps(want[1], "b"), portOps(want[2], "c")), want: want},
		{name: "fix one, create the rest",
			setup:  tunnelOps("om-h2", "gre", map[string]string{"remote_ip": "198.18.0.9", "key": "7"}, true),
			want:   want,
			result: SyncResult{Created: []string{"om-h3", "om-h4"}, Fixed: []string{"om-h2"}}},
		{name: "remove departed peer",
			setup:  slices.Concat(portOps(want[0], "a"), portOps(syncPeers("h9")[0], "b")),
			want:   want[:1],
			result: SyncResult{Removed: []string{"om-h9"}}},
		{name: "foreign port with a wanted name is left alone",
			setup:   tunnelOps("om-h2", "gre", map[string]string{"remote_ip": "198.18.0.9"}, false),
			want:    want,
			result:  SyncResult{Created: []string{"om-h3", "om-h4"}},
			wantErr: ErrNotOwned},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			c := syncBridge(t)
			if tc.setup != nil {
				mustTransact(t, c, tc.setup...)
				waitFor(t, c, "setup in replica", hasPort("om-h2", true))
			}
			res, err := c.SyncTunnelPorts(ctx, "br-mesh", tc.want)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("SyncTunnelPorts error = %v, want %v", err, tc.wantErr)
			}
			if !sameResult(res, tc.result) {
				t.Fatalf("SyncTunnelPorts = %s, want %s", res, tc.result)
			}
			waitFor(t, c, "owned ports are exactly the wanted ones", ownedPortsAre(tc.want, tc.wantErr != nil))
			if tc.wantErr != nil {
				return
			}
			if res, err := c.SyncTunnelPorts(ctx, "br-mesh", tc.want); err != nil || res.Changed() {
				t.Fatalf("second SyncTunnelPorts = %s, %v; want no changes", res, err)
			}
		})
	}
}

// TestSyncTunnelPortsFallsBackPerPort makes the batched transaction fail
// (a stale snapshot inserts a port that exists by then: the Port name
// index refuses it) and checks that the other ports are still created.
func TestSyncTunnelPortsFallsBackPerPort(t *testing.T) {
	ctx := context.Background()
	c := syncBridge(t)
	want := syncPeers("h2", "h3")
	stale := c.snapshot()
	mustTransact(t, c, portOps(want[0], "a")...)
	waitFor(t, c, "om-h2 in replica", hasPort("om-h2", true))
	res, err := c.syncTunnelPorts(ctx, stale, "br-mesh", want)
	if !errors.Is(err, ErrTransact) {
		t.Fatalf("err = %v, want ErrTransact for om-h2", err)
	}
	if !sameResult(res, SyncResult{Created: []string{"om-h3"}}) {
		t.Fatalf("result = %s, want created [om-h3]", res)
	}
	waitFor(t, c, "om-h3 created", ownedPortsAre(want, false))
}

func TestSyncTunnelPortsNoBridge(t *testing.T) {
	c := dialTest(t, startServer(t))
	if _, err := c.SyncTunnelPorts(context.Background(), "br-none", syncPeers("h2")); !errors.Is(err, ErrNoBridge) {
		t.Fatalf("err = %v, want ErrNoBridge", err)
	}
}

// syncBridge returns a Conn to a fresh server holding bridge br-mesh.
func syncBridge(t *testing.T) *Conn {
	t.Helper()
	c := dialTest(t, startServer(t))
	if _, err := c.EnsureBridge(context.Background(), Bridge{Name: "br-mesh", DatapathType: "netdev", DPID: topo.DPIDFor("h1")}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, c, "bridge in replica", hasBridge("br-mesh"))
	return c
}

// portOps inserts t, owned and correct, on br-mesh; tag keeps the
// uuid-names of several calls in one transaction apart.
func portOps(tun TunnelPort, tag string) []libovsdb.Operation {
	return []libovsdb.Operation{
		insertOp(vswitchd.InterfaceTable, "i"+tag, libovsdb.Row{"name": tun.Name, "type": tun.Type,
			"options": stringMap(tun.options()), "external_ids": stringMap(tun.externalIDs())}),
		insertOp(vswitchd.PortTable, "p"+tag, libovsdb.Row{"name": tun.Name, "interfaces": uuidSet("i" + tag),
			"external_ids": stringMap(tun.externalIDs())}),
		mutateOp(vswitchd.BridgeTable, whereName("br-mesh"), "ports", libovsdb.MutateOperationInsert, uuidSet("p"+tag)),
	}
}

// ownedPortsAre checks that br-mesh's owned ports match want exactly
// (type, remote_ip, key); with foreign, om-h2 may be a foreign port.
func ownedPortsAre(want []TunnelPort, foreign bool) func(*snapshot) error {
	return func(s *snapshot) error {
		have := map[string]TunnelPort{}
		for _, p := range tunnelPorts(s, "br-mesh") {
			have[p.Name] = p
		}
		for _, w := range want {
			if foreign && w.Name == "om-h2" {
				if _, ok := have[w.Name]; ok {
					return fmt.Errorf("foreign om-h2 became owned")
				}
				continue
			}
			h, ok := have[w.Name]
			if !ok || h.Type != w.Type || h.RemoteIP != w.RemoteIP || h.Key != w.Key || h.Peer != w.Peer {
				return fmt.Errorf("port %s is %+v, want %+v", w.Name, h, w)
			}
			delete(have, w.Name)
		}
		if len(have) > 0 {
			return fmt.Errorf("unexpected owned ports %v", have)
		}
		return nil
	}
}

func sameResult(a, b SyncResult) bool {
	norm := func(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }
	return slices.Equal(norm(a.Created), norm(b.Created)) && slices.Equal(norm(a.Fixed), norm(b.Fixed)) &&
		slices.Equal(norm(a.Removed), norm(b.Removed))
}
