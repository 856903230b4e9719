package proxyarp

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ovsmesh/ovsmesh/controller"
	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/topo"
)

// TestHijackOfALiveIPFails is the second frame of the issue-11 hijack:
// an attacker on h3 sends a gratuitous ARP claiming the victim's IP
// with its own MAC (the first frame, stealing the victim's MAC, is
// refused by the learning app, so the MAC table still has the victim at
// home). The victim answers the probe: every host keeps answering with
// the victim's MAC, the attacker is held off, the victim never is.
func TestHijackOfALiveIPFails(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	macs := fakeMACs{}
	a, sw := newMesh3(t, Options{Clock: clk, MACs: macs})
	victim := sw["h1"]
	macs[topo.KeyOf(0, macA)] = topo.MACEntry{MAC: macA, DPID: victim.ID, OFPort: 1, Host: "h1"}
	a.PacketIn(ctx, victim, pin(1, garp(macA, ipA)))
	for _, r := range sw {
		r.Take()
	}
	a.PacketIn(ctx, sw["h3"], held(2, ipA, garp(macC, ipA)))
	if got := strings.Join(victim.Take(), "\n"); !strings.Contains(got, "priority=260") || !strings.Contains(got, "packet_out in_port=CONTROLLER actions=output:1") {
		t.Fatalf("the victim was not watched and probed:\n%s", got)
	}
	a.PacketIn(ctx, victim, held(1, ipA, arpFrame(macA, mac("0a:55:00:00:00:01"), 2, macA, ipA, mac("0a:55:00:00:00:01"), ip("0.0.0.0"))))
	clk.Advance(5 * time.Second)
	if b, _ := a.table.Get(ipA); b.MAC.String() != macA.String() || b.Host != "h1" {
		t.Fatalf("the attacker got the IP: %+v", b)
	}
	for h, r := range sw {
		for _, m := range r.Take() {
			if strings.Contains(m, "set_field:02:00:00:00:03:02->eth_src") && strings.Contains(m, "10.0.1.1") {
				t.Errorf("%s answers the victim's IP with the attacker's MAC: %s", h, m)
			}
			if h == "h1" && strings.Contains(m, "priority=250") {
				t.Errorf("the victim was held off: %s", m)
			}
		}
	}
	if value(a.m.conflicts) != 1 {
		t.Errorf("conflicts = %v, want 1", value(a.m.conflicts))
	}
}

// TestRecreatedGuestGetsItsIPBack: a container re-created with its old
// IP and a new MAC behind the same port (the LXC layout: the OVS port
// never flaps) is refused no longer than verify_timeout: the old MAC
// does not answer the probe, the IP moves to the new MAC on every host,
// and a gratuitous ARP tells the other guests at once.
func TestRecreatedGuestGetsItsIPBack(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	macs := fakeMACs{}
	a, sw := newMesh3(t, Options{Clock: clk, MACs: macs})
	h2 := sw["h2"]
	macs[topo.KeyOf(0, macB)] = topo.MACEntry{MAC: macB, DPID: h2.ID, OFPort: 1, Host: "h2"}
	a.PacketIn(ctx, h2, pin(1, garp(macB, ipB)))
	newMAC := mac("02:00:00:00:02:99")
	a.PacketIn(ctx, h2, held(1, ipB, garp(newMAC, ipB)))
	for _, r := range sw {
		r.Take()
	}
	clk.Advance(999 * time.Millisecond)
	if b, _ := a.table.Get(ipB); b.MAC.String() != macB.String() {
		t.Fatalf("changed before the window ended: %+v", b)
	}
	clk.Advance(time.Millisecond)
	if b, _ := a.table.Get(ipB); b.MAC.String() != newMAC.String() || b.OFPort != 1 {
		t.Fatalf("the re-created guest did not get its IP after verify_timeout: %+v", b)
	}
	for h, r := range sw {
		got := strings.Join(r.Take(), "\n")
		if !strings.Contains(got, "set_field:02:00:00:00:02:99->eth_src") {
			t.Errorf("%s's responder for 10.0.2.1 was not repointed:\n%s", h, got)
		}
		announced := strings.Contains(got, "packet_out in_port=CONTROLLER")
		if h != "h2" && !announced {
			t.Errorf("%s's guests were not told of the new MAC:\n%s", h, got)
		}
		if h == "h2" && strings.Contains(got, "actions=output:1,") {
			t.Errorf("the announcement went out of the owner's own port:\n%s", got)
		}
	}
}

// TestIPsPerMACCap: one MAC claiming many IPs fills only its quota, each
// refused claim held off in the datapath.
func TestIPsPerMACCap(t *testing.T) {
	ctx := context.Background()
	a, sw := newMesh3(t, Options{MaxIPsPerMAC: 3, MaxBindings: 4})
	for i := range 6 {
		a.PacketIn(ctx, sw["h1"], pin(1, garp(macA, ip(fmt.Sprintf("10.0.1.%d", 10+i)))))
	}
	if a.table.Len() != 3 || value(a.m.refused.WithLabelValues(reasonIPsPerMAC)) != 3 {
		t.Errorf("table %d, refused{ips_per_mac_cap} %v; want 3 and 3", a.table.Len(), value(a.m.refused.WithLabelValues(reasonIPsPerMAC)))
	}
	if got := strings.Join(sw["h1"].Take(), "\n"); strings.Count(got, "priority=250") != 3 {
		t.Errorf("want 3 hold flows:\n%s", got)
	}
	a.PacketIn(ctx, sw["h2"], pin(1, garp(macB, ipB)))
	a.PacketIn(ctx, sw["h3"], pin(1, garp(macC, ipC)))
	if a.table.Len() != 4 || value(a.m.refused.WithLabelValues(reasonTableFull)) != 1 {
		t.Errorf("table %d, refused{table_cap} %v; want 4 and 1", a.table.Len(), value(a.m.refused.WithLabelValues(reasonTableFull)))
	}
}

// TestSweepAgesAbsentAndRemovedHosts: bindings of a switch away longer
// than the aging time, and of a host removed from the configuration,
// are dropped (they used to win every later conflict for ever); a static
// binding only loses its place.
func TestSweepAgesAbsentAndRemovedHosts(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	m, recs := mesh3(t)
	a := New(Options{Mesh: m, Generation: 7, Clock: clk, Aging: time.Minute, Static: []Static{{IP: ipS, MAC: macS}}})
	for _, r := range recs {
		a.SwitchUp(ctx, r)
	}
	a.PacketIn(ctx, recs[0], pin(1, garp(macA, ipA)))
	a.PacketIn(ctx, recs[0], held(2, ipS, garp(macS, ipS)))
	a.PacketIn(ctx, recs[1], pin(1, garp(macB, ipB)))
	a.PacketIn(ctx, recs[2], pin(1, garp(macC, ipC)))
	a.SwitchDown(ctx, recs[0])
	clk.Advance(time.Minute)
	if n := a.sweep(ctx); n != 2 {
		t.Errorf("sweep dropped %d bindings, want h1's two (A dropped, S unplaced)", n)
	}
	if _, ok := a.table.Get(ipA); ok {
		t.Error("a binding of an absent switch survived the aging time")
	}
	if s, ok := a.table.Get(ipS); !ok || !s.Static || s.DPID != 0 {
		t.Errorf("static binding after the sweep: %+v %v; want kept, without a place", s, ok)
	}
	m.SetHosts(m.Hosts()[1:2]) // h3 removed
	if n := a.sweep(ctx); n != 1 {
		t.Errorf("sweep after removing h3 dropped %d, want C's binding", n)
	}
	if _, ok := a.table.Get(ipB); !ok {
		t.Error("a binding of a configured, connected host was dropped")
	}
	if _, ok := a.table.Get(ipC); ok {
		t.Error("a binding of a removed host survived")
	}
}

// TestOwnerSeenOnlyInCounters: the owner's answer to the probe took a
// datapath flow cached before the watch flow existed (seen on OVS: no
// packet-in); the watch flow's counter still shows it, and the claim is
// refused.
func TestOwnerSeenOnlyInCounters(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	a, sw := newMesh3(t, Options{Clock: clk})
	a.PacketIn(ctx, sw["h1"], pin(1, garp(macA, ipA)))
	a.PacketIn(ctx, sw["h3"], held(2, ipA, garp(macC, ipA)))
	b, _ := a.table.Get(ipA)
	sw["h1"].SetStats([]flows.FlowStats{{Table: TableARP, Priority: PrioARPWatch, Cookie: a.plan.watchFlow(b, 0).Cookie, Packets: 1}})
	clk.Advance(time.Second)
	if b, _ := a.table.Get(ipA); b.MAC.String() != macA.String() || value(a.m.conflicts) != 1 {
		t.Errorf("binding %+v, conflicts %v: want A kept and the claim refused", b, value(a.m.conflicts))
	}
}

// TestInspectThroughPortMeters checks that with per-port meters every
// local port's ARP is inspected through its own meter, and that a port
// that goes away takes its inspect flows with it.
func TestInspectThroughPortMeters(t *testing.T) {
	ctx := context.Background()
	m, recs := mesh3(t)
	a := New(Options{Mesh: m, Generation: 7, Clock: newClock(), Meters: controller.Meters{PortPPS: 100}})
	h1 := recs[0]
	if err := a.SwitchUp(ctx, h1); err != nil {
		t.Fatal(err)
	}
	var inspect []string
	for _, l := range h1.Take() {
		if strings.Contains(l, "priority=11,") {
			inspect = append(inspect, l)
		}
	}
	want := []string{
		"add cookie=0x7030000000000, table=30, priority=11,arp,in_port=1,arp_op=1 actions=controller(meter_id=1),goto_table:31",
		"add cookie=0x7030000000000, table=30, priority=11,arp,in_port=1,arp_op=2 actions=controller(meter_id=1),goto_table:31",
		"add cookie=0x7030000000000, table=30, priority=11,arp,in_port=2,arp_op=1 actions=controller(meter_id=2),goto_table:31",
		"add cookie=0x7030000000000, table=30, priority=11,arp,in_port=2,arp_op=2 actions=controller(meter_id=2),goto_table:31",
	}
	if strings.Join(inspect, "\n") != strings.Join(want, "\n") {
		t.Errorf("inspect flows:\n%s\nwant:\n%s", strings.Join(inspect, "\n"), strings.Join(want, "\n"))
	}
	h1.PortList = slices.DeleteFunc(h1.PortList, func(p flows.Port) bool { return p.No == 2 })
	if err := a.PortStatus(ctx, h1, flows.PortStatus{Reason: flows.PortDeleted, Port: flows.Port{No: 2}}); err != nil {
		t.Fatal(err)
	}
	got := h1.Take()
	if len(got) != 2 || !strings.HasPrefix(got[0], "delete_strict table=30,priority=11,arp,in_port=2") {
		t.Errorf("port 2 gone: sent %q, want its two inspect flows deleted", got)
	}
}
