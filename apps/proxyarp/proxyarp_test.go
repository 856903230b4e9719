package proxyarp

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

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/ovsmesh/ovsmesh/controller/controllertest"
	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/topo"
)

var update = flag.Bool("update", false, "rewrite testdata/*.flows golden files")

var (
	macA, ipA = mac("02:00:00:00:01:01"), ip("10.0.1.1")
	macB, ipB = mac("02:00:00:00:02:01"), ip("10.0.2.1")
	macC, ipC = mac("02:00:00:00:03:02"), ip("10.0.3.2")
	macS, ipS = mac("02:00:00:00:09:09"), ip("10.0.9.9")
)

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	controllertest.Golden(t, filepath.Join("testdata", name+".flows"), got, *update)
}

// newMesh3 starts the app on three mesh switches and discards their
// baseline.
func newMesh3(t *testing.T, opts Options) (*App, map[string]*recorder) {
	t.Helper()
	m, recs := mesh3(t)
	opts.Mesh, opts.Generation = m, 7
	if opts.Clock == nil {
		opts.Clock = newClock()
	}
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

// TestScenarioGolden walks bindings through their life in a 3-host mesh
// and compares every message sent with testdata/mesh3.flows.
func TestScenarioGolden(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	m, recs := mesh3(t)
	macs := fakeMACs{}
	a := New(Options{Mesh: m, Generation: 7, Clock: clk, MACs: macs, Static: []Static{{IP: ipS, MAC: macS}}})
	sw := map[string]*recorder{"h1": recs[0], "h2": recs[1], "h3": recs[2]}
	var b strings.Builder
	step := func(title string, fn func()) {
		t.Helper()
		fn()
		b.WriteString("## " + title + "\n" + controllertest.TakeAll(sw))
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	at := func(r *recorder, port flows.OFPort, mac net.HardwareAddr, host string) {
		macs[topo.KeyOf(0, mac)] = topo.MACEntry{MAC: mac, DPID: r.ID, OFPort: port, Host: host}
	}
	step("switches connect: baseline and the static binding's responder and gate", func() {
		for _, r := range recs {
			must(a.SwitchUp(ctx, r))
		}
	})
	step("A on h1 port 1 asks for unknown B (a copy; the datapath flooded it): A learned mesh-wide", func() {
		at(recs[0], 1, macA, "h1")
		must(a.PacketIn(ctx, recs[0], pin(1, request(macA, ipA, ipB))))
	})
	step("B on h2 port 1 replies to A: B learned", func() {
		at(recs[1], 1, macB, "h2")
		must(a.PacketIn(ctx, recs[1], pin(1, reply(macB, ipB, macA, ipA))))
	})
	step("C new on h3 port 2 asks for A: C learned (h3's responder answered it)", func() {
		at(recs[2], 2, macC, "h3")
		must(a.PacketIn(ctx, recs[2], pin(2, request(macC, ipC, ipA))))
	})
	step("C claims A's IP (held by the gate) while A's port is up: C held off, A watched and probed", func() {
		must(a.PacketIn(ctx, recs[2], held(2, ipA, garp(macC, ipA))))
	})
	step("A answers the probe (held by the watch): the claim is refused, C held off longer, A's packet goes on", func() {
		must(a.PacketIn(ctx, recs[0], held(1, ipA, arpFrame(macA, mac("0a:55:00:00:00:01"), 2, macA, ipA, mac("0a:55:00:00:00:01"), ip("0.0.0.0")))))
	})
	step("h1 lost A's known-sender flow (the gate held A's request for C): reinstalled on h1, answered", func() {
		must(a.PacketIn(ctx, recs[0], held(1, ipA, request(macA, ipA, ipC))))
	})
	step("A's MAC moves to h2 port 2 (the learning app believed it): the known-sender flow follows", func() {
		clk.Advance(time.Minute)
		at(recs[1], 2, macA, "h2")
		must(a.PacketIn(ctx, recs[1], held(2, ipA, garp(macA, ipA))))
	})
	step("C claims B's IP: B probed on h2 port 1", func() {
		must(a.PacketIn(ctx, recs[2], held(2, ipB, garp(macC, ipB))))
	})
	step("B stays silent for verify_timeout: B's IP goes to C mesh-wide, guests told by gratuitous ARP", func() {
		clk.Advance(time.Second)
	})
	step("A's known-sender flow idles out on h2: A forgotten mesh-wide", func() {
		must(a.FlowRemoved(ctx, recs[1], &flows.FlowRemoved{Cookie: flows.NewCookie(7, ID, ipObject(ipA)),
			Table: TableARP, Priority: PrioARPKnownSender, Reason: flows.RemovedIdleTimeout,
			Match: flows.Match{InPort: 2, EthSrc: macA, EthType: flows.EthTypeARP, ARPSPA: ipA, ARPSHA: macA}}))
	})
	step("h3 port 2 goes away: C's bindings (10.0.2.1, 10.0.3.2) dropped", func() {
		recs[2].PortList = slices.DeleteFunc(recs[2].PortList, func(p flows.Port) bool { return p.No == 2 })
		must(a.PortStatus(ctx, recs[2], flows.PortStatus{Reason: flows.PortDeleted, Port: port(2, "g2")}))
	})
	checkGolden(t, "mesh3", b.String())
	if got := a.table.Select(nil); len(got) != 1 || got[0].IP != ipS {
		t.Errorf("table at the end: %+v, want only the static binding", got)
	}
	if n := value(a.m.conflicts); n != 1 {
		t.Errorf("conflicts = %v, want 1", n)
	}
	if n := value(a.m.answered); n != 1 {
		t.Errorf("controller answers = %v, want 1 (the held request)", n)
	}
}

// TestDecide is the decision table for a claim of an IP.
func TestDecide(t *testing.T) {
	const d1, d2 = 1, 2
	bound := topo.ARPBinding{IP: ipA, MAC: macA, DPID: d1, OFPort: 1}
	static := topo.ARPBinding{IP: ipS, MAC: macS, Static: true}
	tests := []struct {
		name  string
		sha   string
		dpid  flows.DPID
		port  flows.OFPort
		old   topo.ARPBinding
		known bool
		want  verdict
	}{
		{"new IP", "02:00:00:00:01:01", d1, 1, topo.ARPBinding{}, false, learn},
		{"same binding, same place", "02:00:00:00:01:01", d1, 1, bound, true, refresh},
		{"same MAC, other port", "02:00:00:00:01:01", d1, 2, bound, true, move},
		{"same MAC, other host", "02:00:00:00:01:01", d2, 1, bound, true, move},
		{"other MAC", "02:00:00:00:03:02", d2, 2, bound, true, conflict},
		{"static, other MAC", "02:00:00:00:03:02", d2, 2, static, true, conflict},
		{"static, its MAC seen", "02:00:00:00:09:09", d2, 2, static, true, move},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pk := arpPacket{SHA: mac(tc.sha), SPA: ipA}
			if got := decide(&pk, tc.dpid, tc.port, tc.old, tc.known); got != tc.want {
				t.Errorf("decide = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestBadInput feeds bad ARP to the handler: each is dropped and counted
// by reason, no binding changes and nothing but a hold flow is sent.
func TestBadInput(t *testing.T) {
	good := request(macA, ipA, ipB)
	mut := func(f func([]byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	tests := []struct {
		name   string
		frame  []byte
		reason string
		hold   bool
	}{
		{"empty", nil, reasonMalformed, false},
		{"ethernet only", good[:14], reasonMalformed, false},
		{"truncated ARP header", good[:20], reasonMalformed, false},
		{"truncated addresses", good[:35], reasonMalformed, false},
		{"not ARP", mut(func(b []byte) []byte { b[12], b[13] = 0x08, 0x00; return b }), reasonMalformed, false},
		{"hardware length 8", mut(func(b []byte) []byte { b[18] = 8; return b }), reasonNotEthIPv4, false},
		{"protocol length 16", mut(func(b []byte) []byte { b[19] = 16; return b[:60] }), reasonMalformed, false},
		{"protocol length 2", mut(func(b []byte) []byte { b[19] = 2; return b }), reasonNotEthIPv4, false},
		{"hardware type 6", mut(func(b []byte) []byte { b[15] = 6; return b }), reasonNotEthIPv4, false},
		{"protocol IPv6", mut(func(b []byte) []byte { b[16], b[17] = 0x86, 0xdd; return b }), reasonNotEthIPv4, false},
		{"opcode 3", mut(func(b []byte) []byte { b[21] = 3; return b }), reasonBadOp, false},
		{"opcode 0x0101", mut(func(b []byte) []byte { b[20] = 1; return b }), reasonBadOp, false},
		{"broadcast sender MAC", arpFrame(macA, bcast, 1, bcast, ipA, zeros, ipB), reasonSenderMAC, true},
		{"multicast sender MAC", arpFrame(mac("01:00:5e:00:00:01"), bcast, 1, mac("01:00:5e:00:00:01"), ipA, zeros, ipB), reasonSenderMAC, true},
		{"sender IP 0.0.0.0 reply", arpFrame(macA, bcast, 2, macA, ip("0.0.0.0"), zeros, ipB), reasonSenderIP, true},
		{"sender IP broadcast", arpFrame(macA, bcast, 1, macA, ip("255.255.255.255"), zeros, ipB), reasonSenderIP, true},
		{"sender IP multicast", arpFrame(macA, bcast, 1, macA, ip("224.0.0.1"), zeros, ipB), reasonSenderIP, true},
		{"eth src differs from sender MAC", arpFrame(macC, bcast, 1, macA, ipA, zeros, ipB), reasonEthMismatch, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, sw := newMesh3(t, Options{})
			if err := a.PacketIn(context.Background(), sw["h1"], pin(1, tc.frame)); err != nil {
				t.Fatalf("PacketIn: %v", err)
			}
			if n := value(a.m.refused.WithLabelValues(tc.reason)); n != 1 {
				t.Errorf("refused{reason=%s} = %v, want 1", tc.reason, n)
			}
			if a.table.Len() != 0 {
				t.Errorf("a bad frame changed the table: %+v", a.table.Select(nil))
			}
			got := sw["h1"].Take()
			switch {
			case tc.hold && (len(got) != 1 || !strings.Contains(got[0], "priority=250") || !strings.Contains(got[0], "hard_timeout=5")):
				t.Errorf("want one hold flow, got %q", got)
			case !tc.hold && len(got) != 0:
				t.Errorf("want nothing sent, got %q", got)
			}
			for _, h := range []string{"h2", "h3"} {
				if got := sw[h].Take(); len(got) != 0 {
					t.Errorf("%s got %q", h, got)
				}
			}
		})
	}
}

// TestHandlerDecisions checks the handler's messages for each kind of
// packet-in.
func TestHandlerDecisions(t *testing.T) {
	ctx := context.Background()
	a, sw := newMesh3(t, Options{})
	// A tunnel packet-in and an unknown switch are ignored. (Packet-ins
	// of other stages never reach the app: the controller routes by
	// owner, see controller.TestRouting.)
	if err := a.PacketIn(ctx, sw["h1"], pin(12, request(macB, ipB, ipA))); err != nil {
		t.Fatal(err)
	}
	other := &recorder{ID: 0x99, PortList: []flows.Port{port(1, "p1")}}
	if err := a.SwitchUp(ctx, other); err != nil {
		t.Fatal(err)
	}
	if err := a.PacketIn(ctx, other, pin(1, request(macA, ipA, ipB))); err != nil {
		t.Fatal(err)
	}
	if got := other.Take(); len(got) != 0 {
		t.Errorf("a standalone switch got %q; proxy ARP runs on mesh hosts only", got)
	}
	if a.table.Len() != 0 || len(sw["h1"].Take()) != 0 {
		t.Fatalf("ignored packet-ins changed something")
	}

	// B learned on h2; then A asks for B: the controller builds the
	// reply, out of A's port.
	if err := a.PacketIn(ctx, sw["h2"], pin(1, garp(macB, ipB))); err != nil {
		t.Fatal(err)
	}
	for _, r := range sw {
		r.Take()
	}
	if err := a.PacketIn(ctx, sw["h1"], pin(2, request(macA, ipA, ipB))); err != nil {
		t.Fatal(err)
	}
	for _, m := range sw["h1"].Raw() {
		if po, ok := m.(flows.PacketOut); ok {
			t.Errorf("a copy was answered or delivered (the datapath has it): %v", po)
		}
	}
	// The same request held by A's gate (h1 lost A's known-sender flow)
	// is answered by the controller, out of A's port.
	if err := a.PacketIn(ctx, sw["h1"], held(2, ipA, request(macA, ipA, ipB))); err != nil {
		t.Fatal(err)
	}
	msgs := sw["h1"].Raw()
	po, ok := msgs[len(msgs)-1].(flows.PacketOut)
	if !ok || po.InPort != flows.PortController || len(po.Actions) != 1 || po.Actions[0].String() != "output:2" {
		t.Fatalf("last message %v, want the controller's answer out of port 2", msgs[len(msgs)-1])
	}
	p := gopacket.NewPacket(po.Data, layers.LayerTypeEthernet, gopacket.Default)
	eth, _ := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	arp, _ := p.Layer(layers.LayerTypeARP).(*layers.ARP)
	if eth == nil || arp == nil || eth.SrcMAC.String() != macB.String() || eth.DstMAC.String() != macA.String() ||
		arp.Operation != layers.ARPReply || string(arp.SourceHwAddress) != string(macB) || string(arp.SourceProtAddress) != string(ipB.AsSlice()) ||
		string(arp.DstHwAddress) != string(macA) || string(arp.DstProtAddress) != string(ipA.AsSlice()) || len(po.Data) != 60 {
		t.Errorf("answer frame %x is not B's reply to A", po.Data)
	}
	// The same packet through the responder flow would be identical:
	// the controller's answer and the datapath's agree.
	if n := value(a.m.answered); n != 1 {
		t.Errorf("controller answers %v, want 1", n)
	}
	if n := value(a.m.responders); n != 2*3 {
		t.Errorf("responder flows gauge %v, want 6 (2 bindings on 3 mesh switches)", n)
	}

	// C joins B's port on h2 (a Linux bridge of containers behind one
	// OVS port) and asks for B: B is on C's own segment and answers
	// itself; an answer from ovsmesh with B's MAC as source would make
	// that bridge learn B behind the OVS port.
	macC, ipC := net.HardwareAddr{2, 0, 0, 0, 2, 9}, netip.MustParseAddr("10.0.2.9")
	if err := a.PacketIn(ctx, sw["h2"], pin(1, garp(macC, ipC))); err != nil {
		t.Fatal(err)
	}
	sw["h2"].Take()
	if err := a.PacketIn(ctx, sw["h2"], held(1, ipC, request(macC, ipC, ipB))); err != nil {
		t.Fatal(err)
	}
	for _, m := range sw["h2"].Raw() {
		if po, ok := m.(flows.PacketOut); ok {
			t.Errorf("a request for a target behind the asker's own port was answered or delivered: %v", po)
		}
	}
	if n := value(a.m.samePort); n != 1 {
		t.Errorf("same-port requests %v, want 1", n)
	}
	if got := strings.Join(sw["h2"].Take(), "\n"); strings.Contains(got, "packet_out") {
		t.Errorf("h2 got %s", got)
	}
}

// TestStaticBindingsAndReplay checks static bindings are installed on
// every switch, never change MAC, and that bindings already in the table
// (restored from the state file) are replayed, and dropped if their port
// is gone.
func TestStaticBindingsAndReplay(t *testing.T) {
	ctx := context.Background()
	tbl := topo.NewARPTable()
	m, recs := mesh3(t)
	tbl.Put(topo.ARPBinding{IP: ipA, MAC: macA, DPID: recs[0].ID, OFPort: 1, Host: "h1"})
	tbl.Put(topo.ARPBinding{IP: ipB, MAC: macB, DPID: recs[1].ID, OFPort: 7, Host: "h2"}) // port 7 is gone
	tbl.Put(topo.ARPBinding{IP: ipC, MAC: macC, Static: true})                            // no longer configured
	a := New(Options{Mesh: m, Table: tbl, Generation: 3, Clock: newClock(), Static: []Static{{IP: ipS, MAC: macS}}})
	for _, r := range recs {
		if err := a.SwitchUp(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	got := strings.Join(recs[0].Take(), "\n")
	for _, want := range []string{
		"priority=100,arp,arp_tpa=10.0.9.9,arp_op=1 actions=move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[],set_field:02:00:00:00:09:09->eth_src",
		"priority=200,arp,in_port=1,dl_src=02:00:00:00:01:01,arp_spa=10.0.1.1,arp_sha=02:00:00:00:01:01 actions=goto_table:31",
		"arp_tpa=10.0.1.1,arp_op=1",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("h1's replay lacks %q:\n%s", want, got)
		}
	}
	// h1 connected before h2 dropped B (its port is gone): h1 got B's
	// responder, then its delete; h3, connected after, never sees B.
	if strings.Contains(got, "10.0.3.2") || !strings.HasSuffix(got, "delete_strict table=31,priority=100,arp,arp_tpa=10.0.2.1,arp_op=1\ndelete_strict table=30,priority=180,arp,arp_spa=10.0.2.1") {
		t.Errorf("h1's replay:\n%s", got)
	}
	if got := strings.Join(recs[2].Take(), "\n"); strings.Contains(got, "10.0.2.1") || strings.Contains(got, "10.0.3.2") {
		t.Errorf("h3's replay installs a dropped binding:\n%s", got)
	}
	if _, ok := tbl.Get(ipB); ok {
		t.Error("a restored binding whose port is gone was kept")
	}
	if _, ok := tbl.Get(ipC); ok {
		t.Error("a static binding no longer configured was kept")
	}
	// Another MAC claiming the static IP is refused, even with no owner.
	if err := a.PacketIn(ctx, recs[2], held(1, ipS, garp(macC, ipS))); err != nil {
		t.Fatal(err)
	}
	if b, _ := tbl.Get(ipS); b.MAC.String() != macS.String() || value(a.m.conflicts) != 1 {
		t.Errorf("static binding after a claim: %+v, conflicts %v", b, value(a.m.conflicts))
	}
	// Its own MAC gives it a place; its port going away keeps it static.
	if err := a.PacketIn(ctx, recs[2], held(2, ipS, garp(macS, ipS))); err != nil {
		t.Fatal(err)
	}
	if b, _ := tbl.Get(ipS); !b.Static || b.OFPort != 2 {
		t.Errorf("static binding seen on port 2: %+v", b)
	}
	recs[2].PortList = slices.DeleteFunc(recs[2].PortList, func(p flows.Port) bool { return p.No == 2 })
	if err := a.PortStatus(ctx, recs[2], flows.PortStatus{Reason: flows.PortDeleted, Port: port(2, "g2")}); err != nil {
		t.Fatal(err)
	}
	if b, ok := tbl.Get(ipS); !ok || !b.Static || b.OFPort != 0 {
		t.Errorf("static binding after its port went: %+v %v", b, ok)
	}
}

// TestReplyMatchesResponder checks that the controller's answer is the
// frame the responder flow's actions make of the request.
func TestReplyMatchesResponder(t *testing.T) {
	p := newParser()
	req, reason := p.parse(request(macA, ipA, ipB))
	if reason != "" {
		t.Fatal(reason)
	}
	got, err := buildReply(&req, ipB, macB)
	if err != nil {
		t.Fatal(err)
	}
	// The responder: eth_dst := eth_src, eth_src := B, op := 2,
	// tha := sha, sha := B, tpa := spa, spa := B's IP.
	want := arpFrame(macB, macA, 2, macB, ipB, macA, ipA)
	if string(got) != string(want) {
		t.Errorf("reply\n got %x\nwant %x", got, want)
	}
}
