package learning

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ovsmesh/ovsmesh/controller"
	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/topo"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestStealingALiveMACFails reproduces the first frame of the issue-11
// hijack and its flap-damping variant: an attacker on h2 sends frames
// with the victim's MAC while the victim on h1 is alive. The victim
// answers the probe; its MAC stays on h1 on every switch, the attacker's
// port is the one held off, and the victim is never held off, however
// often the attacker bounces the MAC between its two ports.
func TestStealingALiveMACFails(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	a, sw := newMesh3(t, Options{Clock: clk, IPs: fakeIPs{macA.String(): netip.MustParseAddr("10.0.1.1")}})
	a.PacketIn(ctx, sw["h1"], copyIn(1, macA, bcast)) // the victim
	for round := range 6 {
		port := flows.OFPort(1 + round%2) // the attacker's two ports on h2
		for _, r := range sw {
			r.Take()
		}
		a.PacketIn(ctx, sw["h2"], copyIn(port, macA, bcast))
		probe := strings.Join(sw["h1"].Take(), "\n")
		if round < 2 && !strings.Contains(probe, "packet_out in_port=CONTROLLER actions=output:1") {
			t.Errorf("round %d: no ARP probe to the victim's port:\n%s", round, probe)
		}
		a.PacketIn(ctx, sw["h1"], copyIn(1, macA, mac("0a:55:00:00:00:01"))) // the victim answers the probe
		clk.Advance(2 * time.Second)
		if e, _ := a.table.Get(topo.KeyOf(0, macA)); e.Host != "h1" || e.OFPort != 1 {
			t.Fatalf("round %d: the attacker got the MAC: %+v", round, e)
		}
		for h, r := range sw {
			for _, m := range r.Take() {
				if h == "h1" && strings.Contains(m, "priority=300") {
					t.Errorf("round %d: the victim was held off: %s", round, m)
				}
				want := map[string]string{"h1": "output:1", "h2": "output:11", "h3": "output:11"}[h] // its port, or the tunnel to h1
				if strings.Contains(m, "dl_dst=02:00:00:00:01:01 actions=output:") && !strings.HasSuffix(m, want) {
					t.Errorf("round %d: %s repointed the victim's MAC: %s", round, h, m)
				}
			}
		}
	}
	if got := testutil.ToFloat64(a.m.refused); got < 2 {
		t.Errorf("mac_moves_refused_total = %v, want every verified steal refused", got)
	}
}

// TestSilentOwnerLosesItsMAC: a guest that really moved (its old port
// still exists, but nothing answers there) is believed after
// verify_timeout.
func TestSilentOwnerLosesItsMAC(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	a, sw := newMesh3(t, Options{Clock: clk, Config: Config{VerifyTimeout: 300 * time.Millisecond}})
	a.PacketIn(ctx, sw["h1"], copyIn(1, macA, bcast))
	a.PacketIn(ctx, sw["h3"], copyIn(2, macA, bcast))
	clk.Advance(299 * time.Millisecond)
	if e, _ := a.table.Get(topo.KeyOf(0, macA)); e.Host != "h1" {
		t.Fatalf("moved before the verification ended: %+v", e)
	}
	clk.Advance(time.Millisecond)
	if e, _ := a.table.Get(topo.KeyOf(0, macA)); e.Host != "h3" || e.OFPort != 2 || e.Moves != 1 {
		t.Fatalf("not moved after a silent verification window: %+v", e)
	}
}

// TestPortAndTableCaps: one port sending random source MACs fills its
// own quota only (then its unknown sources are dropped in the datapath
// for port_limit_hold), and the table cap bounds the whole mesh.
func TestPortAndTableCaps(t *testing.T) {
	ctx := context.Background()
	a, sw := newMesh3(t, Options{Clock: newClock(), Config: Config{MaxMACsPerPort: 3, MaxMACs: 5, PortLimitHold: 30 * time.Second}})
	for i := range 10 {
		a.PacketIn(ctx, sw["h1"], copyIn(1, mac("02:99:00:00:00:0"+string(rune('0'+i))), bcast))
	}
	if got := a.perPort[place{sw["h1"].DPID(), 1}]; got != 3 || a.table.Len() != 3 {
		t.Fatalf("port 1 holds %d MACs (table %d), want its cap of 3", got, a.table.Len())
	}
	if got := strings.Join(sw["h1"].Take(), "\n"); !strings.Contains(got, "hard_timeout=30, priority=60,in_port=1 actions=drop") {
		t.Errorf("no datapath drop of port 1's unknown sources:\n%s", got)
	}
	a.PacketIn(ctx, sw["h1"], copyIn(2, mac("02:88:00:00:00:01"), bcast))
	a.PacketIn(ctx, sw["h2"], copyIn(1, mac("02:88:00:00:00:02"), bcast))
	a.PacketIn(ctx, sw["h3"], copyIn(1, mac("02:88:00:00:00:03"), bcast))
	if a.table.Len() != 5 {
		t.Errorf("table holds %d MACs, want the table cap of 5", a.table.Len())
	}
	if p, g := testutil.ToFloat64(a.m.capped.WithLabelValues(capPort)), testutil.ToFloat64(a.m.capped.WithLabelValues(capGlobal)); p != 7 || g != 1 {
		t.Errorf("capped{port} = %v, capped{table} = %v; want 7 and 1", p, g)
	}
	// A forgotten MAC frees its place in the quota.
	e, _ := a.table.Get(topo.KeyOf(0, mac("02:99:00:00:00:00")))
	a.mu.Lock()
	a.forget(ctx, e)
	a.mu.Unlock()
	if got := a.perPort[place{sw["h1"].DPID(), 1}]; got != 2 {
		t.Errorf("port 1 holds %d after a forget, want 2", got)
	}
}

// TestSweepAgesAbsentAndRemovedHosts: a switch that stays away longer
// than the idle timeout takes its MACs with it (no FLOW_REMOVED will
// ever come), and a host removed from the configuration loses its MACs
// at the next sweep; a switch that is back in time keeps them.
func TestSweepAgesAbsentAndRemovedHosts(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	m, recs := mesh3(t)
	a := New(Options{Mesh: m, Generation: 7, Clock: clk, Config: Config{IdleTimeout: 60 * time.Second}})
	for _, r := range recs {
		a.SwitchUp(ctx, r)
	}
	a.PacketIn(ctx, recs[0], copyIn(1, macA, bcast))
	a.PacketIn(ctx, recs[1], copyIn(1, macB, bcast))
	a.PacketIn(ctx, recs[2], copyIn(1, macC, bcast))
	a.SwitchDown(ctx, recs[0])
	a.SwitchDown(ctx, recs[1])
	clk.Advance(30 * time.Second)
	a.SwitchUp(ctx, recs[1]) // back in time
	clk.Advance(31 * time.Second)
	if n := a.sweep(ctx); n != 1 {
		t.Errorf("sweep forgot %d MACs, want h1's one", n)
	}
	if _, ok := a.table.Get(topo.KeyOf(0, macA)); ok {
		t.Error("the absent switch's MAC survived")
	}
	hosts := m.Hosts()
	m.SetHosts(hosts[1:2]) // h1 and h3 removed from the configuration
	if n := a.sweep(ctx); n != 1 || a.table.Len() != 1 {
		t.Errorf("sweep after removing h3 forgot %d MACs, %d left; want C forgotten, B kept", n, a.table.Len())
	}
}

// TestRestoredTableCountsAsAbsent: after a restart, MACs restored for a
// switch that never reconnects age out too.
func TestRestoredTableCountsAsAbsent(t *testing.T) {
	clk := newClock()
	m, _ := mesh3(t)
	table := topo.NewMACTable()
	table.Put(topo.MACEntry{MAC: macA, DPID: topo.DPIDFor("h1"), OFPort: 1, Host: "h1"})
	a := New(Options{Mesh: m, Table: table, Clock: clk, Config: Config{IdleTimeout: 10 * time.Second}})
	clk.Advance(10 * time.Second)
	if n := a.sweep(context.Background()); n != 1 {
		t.Errorf("sweep forgot %d restored MACs of a switch that never came back, want 1", n)
	}
}

func TestJitter(t *testing.T) {
	seen := map[uint16]bool{}
	for i := range 200 {
		j := jitter(300, []byte{2, 0, 0, 0, byte(i >> 8), byte(i)})
		if j < 300 || j > 330 {
			t.Fatalf("jitter = %d, want 300 to 330", j)
		}
		seen[j] = true
	}
	if len(seen) < 10 {
		t.Errorf("200 MACs got only %d distinct idle timeouts", len(seen))
	}
	if jitter(65535, []byte{1}) != 65535 || jitter(5, []byte{1}) != 5 {
		t.Error("jitter overflows or spreads a tiny timeout")
	}
}

// TestOwnerSeenOnlyInCounters: the owner's answer took a datapath flow
// cached before the watch flow existed, so no packet-in came; the watch
// flow's counter still shows it, and the move is refused.
func TestOwnerSeenOnlyInCounters(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	a, sw := newMesh3(t, Options{Clock: clk})
	a.PacketIn(ctx, sw["h1"], copyIn(1, macA, bcast))
	a.PacketIn(ctx, sw["h2"], copyIn(1, macA, bcast))
	e, _ := a.table.Get(topo.KeyOf(0, macA))
	sw["h1"].SetStats([]flows.FlowStats{{Table: TableClassify, Priority: PrioWatch, Cookie: a.plan.watch(e, 0).Cookie, Packets: 1}})
	clk.Advance(time.Second)
	if e, _ := a.table.Get(topo.KeyOf(0, macA)); e.Host != "h1" || testutil.ToFloat64(a.m.refused) != 1 {
		t.Errorf("MAC on %s, refused %v: want it kept on h1 and the move refused", e.Host, testutil.ToFloat64(a.m.refused))
	}
}

// TestUnknownSourcesThroughPortMeters checks that with per-port meters
// the copies of unknown sources and of watched MACs go through their
// port's meter.
func TestUnknownSourcesThroughPortMeters(t *testing.T) {
	p := planner{gen: 1, next: TableL2, meters: controller.Meters{PortPPS: 10}}
	if got := p.unknownSrc(4).String(); !strings.Contains(got, "actions=controller(meter_id=4),goto_table:40") {
		t.Errorf("unknown source flow %s: want the copy through meter 4", got)
	}
	e := topo.MACEntry{MAC: net.HardwareAddr{2, 0, 0, 0, 0, 9}, OFPort: 5}
	if got := p.watch(e, 1).String(); !strings.Contains(got, "controller(meter_id=5)") {
		t.Errorf("watch flow %s: want the copy through meter 5", got)
	}
}
