package ovsdb

import (
	"fmt"
	"strings"
	"testing"
	"time"

	libovsdb "github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/ovsmesh/ovsmesh/ovsdb/vswitchd"
	"github.com/ovsmesh/ovsmesh/topo"
)

// TestManagerPublishesDeclaringInterfaces: guests' Interface rows with
// attached-mac and ovsmesh-ips (as libvirt writes the first) reach the
// Mesh decoded; a bad value is logged with its interface and ignored
// without holding back the other guests; a changed row is published
// again; ovsmesh's own tunnel ports never are.
func TestManagerPublishesDeclaringInterfaces(t *testing.T) {
	hosts := threeHosts()
	env := startManager(t, hosts)
	env.waitMesh(t, hosts)
	c := env.conns["h1"]
	guest := func(tag, name string, ids map[string]string) []libovsdb.Operation {
		return []libovsdb.Operation{
			insertOp(vswitchd.InterfaceTable, "i"+tag, libovsdb.Row{"name": name, "external_ids": stringMap(ids)}),
			insertOp(vswitchd.PortTable, "p"+tag, libovsdb.Row{"name": name, "interfaces": uuidSet("i" + tag)}),
			mutateOp(vswitchd.BridgeTable, whereName("br-mesh"), "ports", libovsdb.MutateOperationInsert, uuidSet("p"+tag)),
		}
	}
	var ops []libovsdb.Operation
	ops = append(ops, guest("a", "vnet0", map[string]string{topo.AttachedMACKey: "52:54:00:00:00:01", topo.IPsKey: "10.0.1.5, 10.0.1.6"})...)
	ops = append(ops, guest("b", "vnet1", map[string]string{topo.AttachedMACKey: "not-a-mac", topo.IPsKey: "10.0.1.7"})...)
	ops = append(ops, guest("c", "vnet2", map[string]string{topo.AttachedMACKey: "52:54:00:00:00:03", topo.IPsKey: "10.0.1.8,10.0.1.300"})...)
	ops = append(ops, guest("d", "vnet3", map[string]string{"iface-id": "no port security keys"})...)
	mustTransact(t, c, ops...)

	var got []topo.Iface
	eventually(t, 5*time.Second, "h1's declaring interfaces published", func() error {
		var ok bool
		got, ok = env.mesh.Interfaces("h1")
		if !ok || len(got) != 3 {
			return fmt.Errorf("published %v: %+v", ok, got)
		}
		return nil
	})
	want := []string{
		"vnet0 mac=52:54:00:00:00:01 ips=[10.0.1.5 10.0.1.6] problems=[]",
		`vnet1 mac= ips=[10.0.1.7] problems=[attached-mac: "not-a-mac" is not a MAC address ovsmesh-ips without a valid attached-mac: the addresses are not used]`,
		`vnet2 mac=52:54:00:00:00:03 ips=[10.0.1.8] problems=[ovsmesh-ips: "10.0.1.300" is not an IPv4 address]`,
	}
	for i, g := range got {
		if s := fmt.Sprintf("%s mac=%s ips=%v problems=%v", g.Name, g.MAC, g.IPs, g.Problems); s != want[i] {
			t.Errorf("interface %d: %s\nwant %s", i, s, want[i])
		}
	}
	for _, w := range []string{`interface=vnet1 problems="attached-mac: \"not-a-mac\" is not a MAC address`, `interface=vnet2 problems="ovsmesh-ips: \"10.0.1.300\"`} {
		if !strings.Contains(env.logs.String(), w) {
			t.Errorf("no warning with %s in:\n%s", w, env.logs.String())
		}
	}
	if n := strings.Count(env.logs.String(), "interface=vnet1"); n != 1 {
		t.Errorf("vnet1's problem logged %d times, want once", n)
	}
	if hs, _ := env.mesh.Interfaces("h2"); len(hs) != 0 {
		t.Errorf("h2 declares %+v, want nothing (its ports are tunnels only)", hs)
	}

	// The hypervisor fixes vnet1; vnet0 goes away.
	mustTransact(t, c,
		updateOp(vswitchd.InterfaceTable, whereName("vnet1"), libovsdb.Row{"external_ids": stringMap(map[string]string{
			topo.AttachedMACKey: "52:54:00:00:00:02", topo.IPsKey: "10.0.1.7", topo.PortSecurityKey: "false"})}))
	mustTransact(t, c, removePortOps(c.snapshot(), c.snapshot().portByName["vnet0"])...)
	eventually(t, 5*time.Second, "the change published", func() error {
		got, _ = env.mesh.Interfaces("h1")
		if len(got) != 2 || got[0].Name != "vnet1" || got[0].MAC.String() != "52:54:00:00:00:02" || !got[0].Disabled {
			return fmt.Errorf("%+v", got)
		}
		return nil
	})
}
