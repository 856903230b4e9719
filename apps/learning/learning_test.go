package learning

import (
	"context"
	"flag"
	"net"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ovsmesh/ovsmesh/apps"
	"github.com/ovsmesh/ovsmesh/controller/controllertest"
	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/topo"
)

var update = flag.Bool("update", false, "rewrite testdata/*.flows golden files")

var (
	macA  = mac("02:00:00:00:01:01")
	macB  = mac("02:00:00:00:02:01")
	macC  = mac("02:00:00:00:01:02")
	bcast = mac("ff:ff:ff:ff:ff:ff")
	ipB   = netip.MustParseAddr("10.0.2.1")
)

// fakeIPs is a map-backed IPs: MAC (colon form) to its IP.
type fakeIPs map[string]netip.Addr

func (f fakeIPs) Select(keep func(topo.ARPBinding) bool) []topo.ARPBinding {
	var out []topo.ARPBinding
	for m, ip := range f {
		b := topo.ARPBinding{IP: ip, MAC: mac(m)}
		if keep(b) {
			out = append(out, b)
		}
	}
	return out
}

// newMesh3 starts the app on three mesh switches and discards their
// baseline.
func newMesh3(t *testing.T, opts Options) (*App, map[string]*recorder) {
	t.Helper()
	m, recs := mesh3(t)
	opts.Mesh, opts.Generation = m, 7
	a := New(opts)
	byName := map[string]*recorder{}
	for i, r := range recs {
		if err := a.SwitchUp(context.Background(), r); err != nil {
			t.Fatalf("SwitchUp h%d: %v", i+1, err)
		}
		r.Take()
		byName[m.Hosts()[i].Name] = r
	}
	return a, byName
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	controllertest.Golden(t, filepath.Join("testdata", name+".flows"), got, *update)
}

// TestScenarioGolden walks MACs through their life in a 3-host mesh and
// compares every message sent with testdata/mesh3.flows.
func TestScenarioGolden(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	m, recs := mesh3(t)
	a := New(Options{Mesh: m, Generation: 7, Clock: clk, IPs: fakeIPs{macB.String(): ipB}})
	sw := map[string]*recorder{"h1": recs[0], "h2": recs[1], "h3": recs[2]}
	var b strings.Builder
	step := func(title string, fn func()) {
		fn()
		b.WriteString("## " + title + "\n" + controllertest.TakeAll(sw))
	}
	step("switches connect", func() {
		for _, r := range recs {
			a.SwitchUp(ctx, r)
		}
	})
	step("A on h1 port 1 broadcasts (a copy; the datapath flooded it): learned mesh-wide, nothing delivered", func() {
		a.PacketIn(ctx, recs[0], copyIn(1, macA, bcast))
	})
	step("B on h2 port 1 answers A: learned", func() { a.PacketIn(ctx, recs[1], copyIn(1, macB, macA)) })
	step("h1 lost A's flow: reinstalled on h1 only", func() { a.PacketIn(ctx, recs[0], copyIn(1, macA, macB)) })
	step("a frame on h1 port 2 before its unknown-source flow (a table-miss): learned, then delivered", func() {
		a.PacketIn(ctx, recs[0], packetIn(2, macC, macA))
	})
	step("A appears on h3 port 2 while h1 port 1 is up: h3 held off, h1 watched, verification starts", func() {
		clk.Advance(time.Minute)
		a.PacketIn(ctx, recs[2], copyIn(2, macA, macB))
	})
	step("h1 stays silent for verify_timeout: A moves everywhere at once", func() { clk.Advance(time.Second) })
	step("B appears on h3 port 1 while h2 port 1 is up: verification, with an ARP probe for B's IP", func() {
		a.PacketIn(ctx, recs[2], copyIn(1, macB, macA))
	})
	step("B answers on h2 port 1 (its watch flow's copy): B stays, h3 held off for flap_window", func() {
		a.PacketIn(ctx, recs[1], copyIn(1, macB, mac(net.HardwareAddr(flows.ProbeMAC[:]).String())))
	})
	step("A's source flow idles out on h3: forgotten mesh-wide", func() {
		a.FlowRemoved(ctx, recs[2], &flows.FlowRemoved{Cookie: flows.NewCookie(7, ID, 0), Table: TableClassify,
			Priority: PrioKnownSrc, Reason: flows.RemovedIdleTimeout, Match: flows.Match{InPort: 2, EthSrc: macA}})
	})
	step("h2 port 1 goes away: B forgotten, flood groups shrink, its unknown-source flow deleted", func() {
		recs[1].PortList = slices.DeleteFunc(recs[1].PortList, func(p flows.Port) bool { return p.No == 1 })
		a.PortStatus(ctx, recs[1], flows.PortStatus{Reason: flows.PortDeleted, Port: port(1, "g1")})
	})
	step("h1 reconnects: its MACs are replayed with idle timeouts spread by MAC", func() {
		a.SwitchDown(ctx, recs[0])
		a.SwitchUp(ctx, recs[0])
	})
	checkGolden(t, "mesh3", b.String())
	if n := a.table.Len(); n != 1 {
		t.Errorf("MAC table holds %d entries at the end, want C's", n)
	}
}

func TestPacketInDecisions(t *testing.T) {
	ctx := context.Background()
	type want struct {
		host     string
		contains []string // substrings that must appear, in order, in that switch's messages
	}
	tests := []struct {
		name    string
		setup   func(a *App, sw map[string]*recorder)
		host    string
		pi      *flows.PacketIn
		want    []want
		none    []string // switches that must receive nothing
		without map[string]string
		macs    int
	}{
		{
			name: "a copy from a local port installs src and dst here and tunnel dst on peers, and delivers nothing",
			host: "h1", pi: copyIn(1, macA, bcast),
			want: []want{
				{"h1", []string{"priority=200,in_port=1,dl_src=02:00:00:00:01:01 actions=goto_table:40",
					"priority=100,dl_dst=02:00:00:00:01:01 actions=output:1"}},
				{"h2", []string{"priority=100,dl_dst=02:00:00:00:01:01 actions=output:11"}},
				{"h3", []string{"priority=100,dl_dst=02:00:00:00:01:01 actions=output:11"}},
			},
			without: map[string]string{"h1": "packet_out"},
			macs:    1,
		},
		{
			name: "a table-miss (the packet waited) is learned, then delivered through the pipeline",
			host: "h1", pi: packetIn(1, macA, bcast),
			want: []want{{"h1", []string{"in_port=1,dl_src=02:00:00:00:01:01", "barrier", "packet_out in_port=1 actions=TABLE"}}},
			macs: 1,
		},
		{
			name: "a known MAC at the same place is reinstalled on its switch only",
			setup: func(a *App, sw map[string]*recorder) {
				a.PacketIn(ctx, sw["h1"], copyIn(1, macA, bcast))
			},
			host: "h1", pi: copyIn(1, macA, macB),
			want: []want{{"h1", []string{"in_port=1,dl_src=02:00:00:00:01:01", "dl_dst=02:00:00:00:01:01 actions=output:1"}}},
			none: []string{"h2", "h3"},
			macs: 1,
		},
		{
			name: "a packet-in from a tunnel restores the tunnel admission flow and is not learned",
			host: "h2", pi: packetIn(11, macA, bcast),
			want: []want{{"h2", []string{"priority=100,in_port=11 actions=write_metadata:0x1/0x1,goto_table:40", "packet_out in_port=11"}}},
			none: []string{"h1", "h3"},
		},
		{
			name: "a multicast source is dropped, not learned",
			host: "h1", pi: copyIn(1, mac("01:00:5e:00:00:01"), bcast),
			none: []string{"h1", "h2", "h3"},
		},
		{
			name: "a move away from a live place is verified: the claimant is held off, the current place watched",
			setup: func(a *App, sw map[string]*recorder) {
				a.PacketIn(ctx, sw["h1"], copyIn(1, macA, bcast))
			},
			host: "h2", pi: copyIn(2, macA, bcast),
			want: []want{
				{"h1", []string{"add cookie=0x7020000000101, table=10, hard_timeout=2, priority=250,in_port=1,dl_src=02:00:00:00:01:01 actions=CONTROLLER:65535,goto_table:40"}},
				{"h2", []string{"hard_timeout=2, priority=300,in_port=2,dl_src=02:00:00:00:01:01 actions=drop"}},
			},
			none: []string{"h3"},
			macs: 1,
		},
		{
			name: "a move away from a switch that is gone is believed at once, everywhere",
			setup: func(a *App, sw map[string]*recorder) {
				a.PacketIn(ctx, sw["h1"], copyIn(1, macA, bcast))
				a.SwitchDown(ctx, sw["h1"])
			},
			host: "h2", pi: copyIn(2, macA, bcast),
			want: []want{
				{"h2", []string{"delete_strict table=10,priority=300,in_port=2,dl_src=02:00:00:00:01:01", "dl_dst=02:00:00:00:01:01 actions=output:2", "in_port=2,dl_src=02:00:00:00:01:01"}},
				{"h3", []string{"dl_dst=02:00:00:00:01:01 actions=output:12"}},
			},
			none: []string{"h1"},
			macs: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, sw := newMesh3(t, Options{Clock: newClock()})
			if tc.setup != nil {
				tc.setup(a, sw)
			}
			for _, r := range sw {
				r.Take()
			}
			err := a.PacketIn(ctx, sw[tc.host], tc.pi)
			if err != nil {
				t.Fatalf("PacketIn: %v", err)
			}
			for _, w := range tc.want {
				got := strings.Join(sw[w.host].Take(), "\n")
				rest := got
				for _, s := range w.contains {
					i := strings.Index(rest, s)
					if i < 0 {
						t.Errorf("%s: missing (in order) %q in:\n%s", w.host, s, got)
						break
					}
					rest = rest[i+len(s):]
				}
				if no := tc.without[w.host]; no != "" && strings.Contains(got, no) {
					t.Errorf("%s got %q, want none:\n%s", w.host, no, got)
				}
			}
			for _, h := range tc.none {
				if got := sw[h].Take(); len(got) > 0 {
					t.Errorf("%s got %d messages, want none: %q", h, len(got), got)
				}
			}
			if n := a.table.Len(); n != tc.macs {
				t.Errorf("MAC table has %d entries, want %d", n, tc.macs)
			}
		})
	}
}

func TestFlapDamping(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	a, sw := newMesh3(t, Options{Clock: clk, Config: Config{FlapMoves: 2, FlapWindow: 10 * time.Second}})
	a.PacketIn(ctx, sw["h1"], copyIn(1, macA, bcast))
	steps := []struct {
		host   string
		port   flows.OFPort
		damped bool
	}{
		{"h2", 1, false}, // move 1, after its verification window
		{"h1", 1, false}, // move 2
		{"h2", 1, true},  // a third move within 10 s: damped
		{"h3", 2, true},  // still within the window
	}
	for i, s := range steps {
		for _, r := range sw {
			r.Take()
		}
		a.PacketIn(ctx, sw[s.host], copyIn(s.port, macA, bcast))
		got := strings.Join(sw[s.host].Take(), "\n")
		isDamped := strings.Contains(got, "hard_timeout=10, priority=300")
		if isDamped != s.damped {
			t.Fatalf("step %d (%s port %d): damped=%v, want %v; sent:\n%s", i, s.host, s.port, isDamped, s.damped, got)
		}
		clk.Advance(time.Second) // the verification window passes: the old place stayed silent
		e, _ := a.table.Get(topo.KeyOf(0, macA))
		if s.damped == (e.Host == s.host) {
			t.Errorf("step %d: MAC is on %s after a damped=%v claim from %s", i, e.Host, s.damped, s.host)
		}
	}
	clk.Advance(11 * time.Second)
	a.PacketIn(ctx, sw["h3"], copyIn(2, macA, bcast))
	clk.Advance(time.Second)
	if e, _ := a.table.Get(topo.KeyOf(0, macA)); e.Host != "h3" {
		t.Errorf("after the flap window the move to h3 was refused: MAC is on %s", e.Host)
	}
}

func TestFloodGroupsSplitHorizon(t *testing.T) {
	p := planner{gen: 1, next: TableL2}
	tests := []struct {
		name            string
		v               view
		fromLocal, from string
	}{
		{
			name:      "mesh host: local origin floods to local ports and tunnels, tunnel origin to local only",
			v:         view{Ports: apps.Ports{Local: map[flows.OFPort]bool{1: true, 2: true}, Tunnels: map[string]flows.OFPort{"h2": 12, "h3": 13}}},
			fromLocal: "group_mod command=0x8000 group_id=1,type=all,bucket=actions=output:1,bucket=actions=output:2,bucket=actions=output:12,bucket=actions=output:13",
			from:      "group_mod command=0x8000 group_id=2,type=all,bucket=actions=output:1,bucket=actions=output:2",
		},
		{
			name:      "standalone switch: no tunnels",
			v:         view{Ports: apps.Ports{Local: map[flows.OFPort]bool{3: true}, Tunnels: map[string]flows.OFPort{}}},
			fromLocal: "group_mod command=0x8000 group_id=1,type=all,bucket=actions=output:3",
			from:      "group_mod command=0x8000 group_id=2,type=all,bucket=actions=output:3",
		},
		{
			name:      "no ports yet: empty groups",
			v:         view{Ports: apps.Ports{Local: map[flows.OFPort]bool{}, Tunnels: map[string]flows.OFPort{}}},
			fromLocal: "group_mod command=0x8000 group_id=1,type=all",
			from:      "group_mod command=0x8000 group_id=2,type=all",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := p.floodGroups(&tc.v)
			if got := g[0].(flows.GroupMod).String(); got != tc.fromLocal {
				t.Errorf("local-origin group:\n got %s\nwant %s", got, tc.fromLocal)
			}
			if got := g[1].(flows.GroupMod).String(); got != tc.from {
				t.Errorf("tunnel-origin group:\n got %s\nwant %s", got, tc.from)
			}
		})
	}
}

func TestStandaloneSwitchIsItsOwnDomain(t *testing.T) {
	ctx := context.Background()
	a, sw := newMesh3(t, Options{Clock: newClock()})
	other := &recorder{ID: 0x42, Pipeline: pipeline(t), TB: t, PortList: []flows.Port{port(1, "eth1"), port(2, "eth2")}}
	if err := a.SwitchUp(ctx, other); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(other.Take(), "\n"); !strings.Contains(got, "group_id=1,type=all,bucket=actions=output:1,bucket=actions=output:2") {
		t.Errorf("standalone baseline lacks the flood group over both ports:\n%s", got)
	}
	a.PacketIn(ctx, other, copyIn(1, macA, bcast))
	for h, r := range sw {
		if got := r.Take(); len(got) > 0 {
			t.Errorf("mesh host %s got flows for a standalone switch's MAC: %q", h, got)
		}
	}
	if got := strings.Join(other.Take(), "\n"); !strings.Contains(got, "dl_dst=02:00:00:00:01:01 actions=output:1") {
		t.Errorf("standalone switch did not learn A:\n%s", got)
	}
	a.PacketIn(ctx, sw["h1"], copyIn(1, macA, bcast))
	if a.table.Len() != 2 {
		t.Errorf("the same MAC in the mesh and on a standalone switch should be two entries, got %d", a.table.Len())
	}
}

func TestBadFrameIsReportedNotLearned(t *testing.T) {
	a, sw := newMesh3(t, Options{Clock: newClock()})
	for _, r := range sw {
		r.Take()
	}
	err := a.PacketIn(context.Background(), sw["h1"], &flows.PacketIn{InPort: 1, Data: []byte{1, 2, 3}})
	if err == nil || !strings.Contains(err.Error(), "port 1") {
		t.Fatalf("PacketIn with a 3-byte frame: err = %v, want an error naming the port", err)
	}
	if a.table.Len() != 0 {
		t.Errorf("a bad frame changed the MAC table")
	}
}
