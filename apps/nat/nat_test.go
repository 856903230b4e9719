package nat

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

	"github.com/gopacket/gopacket/layers"

	"github.com/ovsmesh/ovsmesh/apps"
	"github.com/ovsmesh/ovsmesh/config"
	"github.com/ovsmesh/ovsmesh/controller"
	"github.com/ovsmesh/ovsmesh/controller/controllertest"
	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/topo"
)

var update = flag.Bool("update", false, "rewrite testdata/*.flows golden files")

type recorder = controllertest.Recorder

func mac(s string) net.HardwareAddr { m, _ := net.ParseMAC(s); return m }
func ip(s string) netip.Addr        { return netip.MustParseAddr(s) }

// stubs stand in for learning and proxy ARP, which own the stages
// around NAT's (an app's tests never import another app).
var stubs = []apps.Spec{
	{Name: "stub_l2", ID: 2, Tables: []apps.Table{{Name: "classify", ID: 10}, {Name: "l2", ID: 40}},
		New: func(apps.Env) (controller.App, error) { return nil, nil }},
	{Name: "stub_arp", ID: 3, Tables: []apps.Table{{Name: "arp", ID: 30}, {Name: "arp_responder", ID: 31}},
		New: func(apps.Env) (controller.App, error) { return nil, nil }},
}

var (
	extMAC   = mac("02:ee:00:00:00:01")
	routerHW = mac("0a:55:0a:ff:ff:fe")
	nhMAC    = mac("02:ee:00:00:00:fe")
	macA     = mac("02:00:00:00:01:01") // 10.0.1.1 on h1
	macB     = mac("02:00:00:00:02:01") // 10.0.2.1 on h2
)

// testConfig is NAT on h3 of controllertest.Mesh's three hosts.
func testConfig(t testing.TB) Config {
	t.Helper()
	doc := `openflow: {targets: ["tcp:198.19.255.254:6653"]}
hosts:
  - {name: h1, ovsdb: "tcp:198.19.0.1:6640", tunnel_ip: 198.18.0.1}
  - {name: h2, ovsdb: "tcp:198.19.0.2:6640", tunnel_ip: 198.18.0.2}
  - {name: h3, ovsdb: "tcp:198.19.0.3:6640", tunnel_ip: 198.18.0.3}
nat:
  gateway: h3
  external: {port: ext0, ip: 198.18.200.1/24, next_hop: 198.18.200.254}
  router_ip: 10.255.255.254
  inside: [10.0.0.0/8]
  forwards: [{proto: tcp, port: 8080, to: "10.0.2.1:80"}]
`
	cfg, err := config.Parse([]byte(doc), config.Section{Path: "nat", Default: Spec.Config})
	if err != nil {
		t.Fatal(err)
	}
	return *cfg.Section("nat").(*Config)
}

// fixture is the app on three mesh hosts, h3 the gateway with ext0 on
// OFPort 5, and the ARP table holding A (h1) and B (h2).
type fixture struct {
	a     *App
	recs  map[string]*recorder
	arp   *topo.ARPTable
	rules *RuleTable
	clock *controllertest.Clock
}

func newFixture(t *testing.T, rules *RuleTable) *fixture {
	t.Helper()
	r, err := apps.NewRegistry(append(slices.Clone(stubs), Spec)...)
	if err != nil {
		t.Fatal(err)
	}
	mesh, recs := controllertest.Mesh(t, 3, r.Pipeline())
	mesh.SetAppPorts([]topo.AppPort{{Host: "h3", Name: "ext0", App: "nat"}})
	recs[2].PortList = append(recs[2].PortList, flows.Port{No: 5, Name: "ext0", HWAddr: extMAC})
	f := &fixture{arp: topo.NewARPTable(), rules: rules, clock: controllertest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))}
	if f.rules == nil {
		f.rules = topo.NewTable(recordCodec)
	}
	f.arp.Put(topo.ARPBinding{IP: ip("10.0.1.1"), MAC: macA, Host: "h1", DPID: recs[0].ID, OFPort: 1})
	f.arp.Put(topo.ARPBinding{IP: ip("10.0.2.1"), MAC: macB, Host: "h2", DPID: recs[1].ID, OFPort: 1})
	f.a, err = New(Options{Config: testConfig(t), Mesh: mesh, Rules: f.rules, ARP: f.arp, Generation: 7, Next: 30, Clock: f.clock})
	if err != nil {
		t.Fatal(err)
	}
	f.recs = map[string]*recorder{}
	for i, rec := range recs {
		if err := f.a.SwitchUp(context.Background(), rec); err != nil {
			t.Fatal(err)
		}
		f.recs[mesh.Hosts()[i].Name] = rec
	}
	return f
}

func (f *fixture) take() string { return controllertest.TakeAll(f.recs) }

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	controllertest.Golden(t, filepath.Join("testdata", name+".flows"), got, *update)
}

// arpFrame builds an ARP frame.
func arpFrame(t *testing.T, src, dst net.HardwareAddr, op uint16, spa, tpa netip.Addr) []byte {
	t.Helper()
	b, err := apps.ARPFrame(src, dst, op, src, spa, make(net.HardwareAddr, 6), tpa)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestMesh3Golden walks the app through its life on three hosts and
// compares every message sent with testdata/mesh3.flows: the flows each
// host gets, the next hop's resolution, a forward and a redirect added
// and deleted at runtime (each touching only its own flows), an inside
// guest appearing in the ARP table, and the router resolving a guest the
// table does not hold.
func TestMesh3Golden(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil)
	var b strings.Builder
	step := func(name string) {
		b.WriteString("## " + name + "\n" + f.take())
	}
	step("switches up (h3 is the gateway; it asks for the next hop)")

	reply := arpFrame(t, nhMAC, extMAC, layers.ARPReply, ip("198.18.200.254"), ip("198.18.200.1"))
	must(t, f.a.PacketIn(ctx, f.recs["h3"], &flows.PacketIn{Table: TableExternal, InPort: 5, Data: reply}))
	step("the next hop answers: only nat_out changes")

	_, err := f.a.AddForward(ctx, Forward{Proto: "udp", Port: 5353, To: "10.0.1.1:53"})
	must(t, err)
	step("forward udp/5353 added: one flow on the gateway")
	_, err = f.a.DeleteForward(ctx, "udp", 5353)
	must(t, err)
	step("forward udp/5353 deleted: that flow only")

	_, err = f.a.AddRedirect(ctx, Redirect{Proto: "tcp", IP: ip("10.0.2.1"), Port: 80, ToPort: 25})
	must(t, err)
	step("redirect tcp/10.0.2.1/80 -> 25 added: on h2, where 10.0.2.1 lives")

	f.arp.Put(topo.ARPBinding{IP: ip("10.0.1.2"), MAC: mac("02:00:00:00:01:02"), Host: "h1", DPID: f.recs["h1"].ID, OFPort: 2})
	f.a.markDirty()
	f.a.refresh(ctx)
	step("10.0.1.2 appears in the ARP table: a deliver flow on the gateway")

	f.arp.Put(topo.ARPBinding{IP: ip("10.0.2.2"), MAC: mac("02:00:00:00:02:02"), Host: "h2", DPID: f.recs["h2"].ID, OFPort: 2})
	early := ipv4Frame(t, ip("198.18.201.1"), ip("10.0.2.2"))
	must(t, f.a.PacketIn(ctx, f.recs["h3"], &flows.PacketIn{Table: TableDeliver, Data: early}))
	step("a reply for 10.0.2.2 reaches the gateway before its deliver flow: sent on by the controller, and the flow follows")

	miss := ipv4Frame(t, ip("198.18.201.1"), ip("10.0.3.9"))
	must(t, f.a.PacketIn(ctx, f.recs["h3"], &flows.PacketIn{Table: TableDeliver, Data: miss}))
	step("a packet for 10.0.3.9, which no one holds: the router asks every guest port")
	ans := arpFrame(t, mac("02:00:00:00:03:09"), routerHW, layers.ARPReply, ip("10.0.3.9"), ip("10.255.255.254"))
	must(t, f.a.PacketIn(ctx, f.recs["h3"], &flows.PacketIn{Table: TableNAT, InPort: 13, Data: ans}))
	step("10.0.3.9 answers the router: a deliver flow")

	checkGolden(t, "mesh3", b.String())
}

// ipv4Frame builds a UDP/IPv4 frame from src to dst.
func ipv4Frame(t *testing.T, src, dst netip.Addr) []byte {
	t.Helper()
	b, err := udpFrame(routerHW, extMAC, src, dst)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
