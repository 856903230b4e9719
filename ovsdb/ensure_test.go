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

func TestEnsureBridge(t *testing.T) {
	want := Bridge{Name: "br-mesh", DatapathType: "netdev", DPID: topo.DPIDFor("h1"), Controllers: []string{"tcp:127.0.0.1:6653", "tcp:127.0.0.1:6633"},
		PacketInRate: 1000, PacketInBurst: 250}
	tests := []struct {
		name  string
		setup func(root string) []libovsdb.Operation // run before EnsureBridge
		check func(*snapshot) error
	}{
		{name: "create missing bridge"},
		{
			name: "adopt bridge with drift",
			setup: func(root string) []libovsdb.Operation {
				return []libovsdb.Operation{insertOp(vswitchd.InterfaceTable, "i", libovsdb.Row{"name": "eth9"}),
					insertOp(vswitchd.PortTable, "p", libovsdb.Row{"name": "eth9", "interfaces": uuidSet("i")}),
					insertOp(vswitchd.ControllerTable, "c1", libovsdb.Row{"target": "tcp:127.0.0.1:6653"}),
					insertOp(vswitchd.ControllerTable, "c2", libovsdb.Row{"target": "tcp:127.0.0.1:9999"}),
					insertOp(vswitchd.BridgeTable, "b", libovsdb.Row{
						"name": "br-mesh", "datapath_type": "system", "fail_mode": "standalone",
						"protocols":    stringSet("OpenFlow10"),
						"other_config": stringMap(map[string]string{"datapath-id": "0000000000000001", "keep": "me"}),
						"ports":        uuidSet("p"), "controller": uuidSet("c1", "c2"),
					}),
					mutateOp(vswitchd.OpenvSwitchTable, whereUUID(root), "bridges", libovsdb.MutateOperationInsert, uuidSet("b")),
				}
			},
			check: func(s *snapshot) error {
				br := s.bridges["br-mesh"]
				if !slices.Contains(br.Protocols, "OpenFlow10") || !slices.Contains(br.Protocols, "OpenFlow13") {
					return fmt.Errorf("protocols %v, want OpenFlow10 kept and OpenFlow13 added", br.Protocols)
				}
				if br.OtherConfig["keep"] != "me" {
					return fmt.Errorf("other_config %v lost a foreign key", br.OtherConfig)
				}
				if p, ok := s.portByName["eth9"]; !ok || !slices.Contains(br.Ports, p.UUID) {
					return fmt.Errorf("foreign port eth9 was detached")
				}
				return nil
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			c := dialTest(t, startServer(t))
			if tc.setup != nil {
				mustTransact(t, c, tc.setup(c.snapshot().root.UUID)...)
				waitFor(t, c, "setup bridge in replica", hasBridge("br-mesh"))
			}
			changed, err := c.EnsureBridge(ctx, want)
			if err != nil || !changed {
				t.Fatalf("EnsureBridge = %v, %v; want true, nil", changed, err)
			}
			self := topo.Host{Name: "h1"}
			waitFor(t, c, "bridge converged", func(s *snapshot) error {
				if err := checkMesh(s, testMesh(), want.Controllers, self, []topo.Host{self}); err != nil {
					return err
				}
				for _, id := range s.bridges["br-mesh"].Controller {
					ctl := s.controllers[id]
					if !optEqual(ctl.ControllerRateLimit, 1000) || !optEqual(ctl.ControllerBurstLimit, 250) {
						return fmt.Errorf("controller %s: rate/burst limits %v/%v, want 1000/250", ctl.Target, ctl.ControllerRateLimit, ctl.ControllerBurstLimit)
					}
				}
				if tc.check != nil {
					return tc.check(s)
				}
				return nil
			})
			if changed, err := c.EnsureBridge(ctx, want); err != nil || changed {
				t.Fatalf("second EnsureBridge = %v, %v; want false, nil (idempotent)", changed, err)
			}
		})
	}
}

func TestEnsureBridgeWithoutRoot(t *testing.T) {
	c := dialTest(t, startServer(t))
	s := c.snapshot()
	mustTransact(t, c, libovsdb.Operation{Op: libovsdb.OperationDelete, Table: vswitchd.OpenvSwitchTable, Where: whereUUID(s.root.UUID)})
	waitFor(t, c, "root row gone from replica", func(s *snapshot) error {
		if s.root != nil {
			return fmt.Errorf("still there")
		}
		return nil
	})
	_, err := c.EnsureBridge(context.Background(), Bridge{Name: "br-mesh", DatapathType: "netdev"})
	if !errors.Is(err, ErrNoRoot) {
		t.Fatalf("err = %v, want ErrNoRoot", err)
	}
}

func TestEnsureTunnelPort(t *testing.T) {
	tun := TunnelPort{Name: "om-h2", Peer: "h2", Type: "vxlan", RemoteIP: netip.MustParseAddr("198.18.0.2"), Key: 5001}
	tests := []struct {
		name        string
		setup       []libovsdb.Operation // bridge br-mesh exists; "br" names it by condition
		wantChanged bool
		wantErr     error
	}{
		{name: "create", wantChanged: true},
		{
			name:        "fix drifted options and type",
			setup:       tunnelOps("om-h2", "gre", map[string]string{"remote_ip": "198.18.0.9", "key": "7", "dst_port": "1"}, true),
			wantChanged: true,
		},
		{
			name: "recreate when interfaces replaced",
			setup: append(tunnelOps("om-h2", "vxlan", tun.options(), true),
				insertOp(vswitchd.InterfaceTable, "extra", libovsdb.Row{"name": "om-extra"}),
				mutateOp(vswitchd.PortTable, whereName("om-h2"), "interfaces", libovsdb.MutateOperationInsert, uuidSet("extra"))),
			wantChanged: true,
		},
		{name: "already right", setup: tunnelOps("om-h2", "vxlan", tun.options(), true)},
		{
			name:    "not owned is left alone",
			setup:   tunnelOps("om-h2", "gre", map[string]string{"remote_ip": "198.18.0.9"}, false),
			wantErr: ErrNotOwned,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			c := dialTest(t, startServer(t))
			if _, err := c.EnsureBridge(ctx, Bridge{Name: "br-mesh", DatapathType: "netdev", DPID: topo.DPIDFor("h1")}); err != nil {
				t.Fatal(err)
			}
			waitFor(t, c, "bridge in replica", hasBridge("br-mesh"))
			if tc.setup != nil {
				mustTransact(t, c, tc.setup...)
				waitFor(t, c, "setup port in replica", func(s *snapshot) error {
					if _, ok := s.portByName["om-h2"]; !ok {
						return fmt.Errorf("no om-h2")
					}
					return nil
				})
			}
			before := c.snapshot()
			changed, err := c.EnsureTunnelPort(ctx, "br-mesh", tun)
			if !errors.Is(err, tc.wantErr) || changed != tc.wantChanged {
				t.Fatalf("EnsureTunnelPort = %v, %v; want %v, %v", changed, err, tc.wantChanged, tc.wantErr)
			}
			if tc.wantErr != nil {
				if got := c.snapshot().ifaceByName["om-h2"]; got.Type != before.ifaceByName["om-h2"].Type {
					t.Fatalf("foreign port was modified: type %q", got.Type)
				}
				return
			}
			self, peer := topo.Host{Name: "h1"}, topo.Host{Name: "h2", TunnelIP: tun.RemoteIP}
			waitFor(t, c, "tunnel converged", func(s *snapshot) error {
				if _, ok := s.ifaceByName["om-extra"]; ok {
					return fmt.Errorf("stray interface om-extra still there")
				}
				return checkMesh(s, testMesh(), nil, self, []topo.Host{self, peer})
			})
			if changed, err := c.EnsureTunnelPort(ctx, "br-mesh", tun); err != nil || changed {
				t.Fatalf("second EnsureTunnelPort = %v, %v; want false, nil", changed, err)
			}
		})
	}
}

func TestEnsureTunnelPortNoBridge(t *testing.T) {
	c := dialTest(t, startServer(t))
	_, err := c.EnsureTunnelPort(context.Background(), "br-none", TunnelPort{Name: "om-x", Type: "gre"})
	if !errors.Is(err, ErrNoBridge) {
		t.Fatalf("err = %v, want ErrNoBridge", err)
	}
}

func TestRemoveTunnelPort(t *testing.T) {
	tests := []struct {
		name        string
		owned       bool
		wantChanged bool
		wantErr     error
	}{
		{name: "owned is removed", owned: true, wantChanged: true},
		{name: "foreign is kept", owned: false, wantErr: ErrNotOwned},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			c := dialTest(t, startServer(t))
			if _, err := c.EnsureBridge(ctx, Bridge{Name: "br-mesh", DatapathType: "netdev", DPID: topo.DPIDFor("h1")}); err != nil {
				t.Fatal(err)
			}
			waitFor(t, c, "bridge in replica", hasBridge("br-mesh"))
			mustTransact(t, c, tunnelOps("om-h2", "vxlan", nil, tc.owned)...)
			waitFor(t, c, "port in replica", hasPort("om-h2", true))
			changed, err := c.RemoveTunnelPort(ctx, "om-h2")
			if !errors.Is(err, tc.wantErr) || changed != tc.wantChanged {
				t.Fatalf("RemoveTunnelPort = %v, %v; want %v, %v", changed, err, tc.wantChanged, tc.wantErr)
			}
			waitFor(t, c, "port presence", hasPort("om-h2", !tc.owned))
			if !tc.owned {
				return
			}
			if _, ok := c.snapshot().ifaceByName["om-h2"]; ok {
				t.Fatal("interface om-h2 left behind")
			}
			if changed, err := c.RemoveTunnelPort(ctx, "om-h2"); err != nil || changed {
				t.Fatalf("second RemoveTunnelPort = %v, %v; want false, nil", changed, err)
			}
		})
	}
}

// tunnelOps inserts a port with one interface of the same name on bridge
// br-mesh, owned by ovsmesh (peer h2) or not.
func tunnelOps(name, typ string, options map[string]string, owned bool) []libovsdb.Operation {
	ids := map[string]string{}
	if owned {
		ids = map[string]string{OwnerKey: OwnerValue, PeerKey: "h2"}
	}
	return []libovsdb.Operation{
		insertOp(vswitchd.InterfaceTable, "ti", libovsdb.Row{"name": name, "type": typ, "options": stringMap(options), "external_ids": stringMap(ids)}),
		insertOp(vswitchd.PortTable, "tp", libovsdb.Row{"name": name, "interfaces": uuidSet("ti"), "external_ids": stringMap(ids)}),
		mutateOp(vswitchd.BridgeTable, whereName("br-mesh"), "ports", libovsdb.MutateOperationInsert, uuidSet("tp")),
	}
}

func hasBridge(name string) func(*snapshot) error {
	return func(s *snapshot) error {
		if _, ok := s.bridges[name]; !ok {
			return fmt.Errorf("no bridge %s", name)
		}
		return nil
	}
}

func hasPort(name string, want bool) func(*snapshot) error {
	return func(s *snapshot) error {
		if _, ok := s.portByName[name]; ok != want {
			return fmt.Errorf("port %s present=%v, want %v", name, ok, want)
		}
		return nil
	}
}
