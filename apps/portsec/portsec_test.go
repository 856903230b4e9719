package portsec

import (
	"context"
	"flag"
	"net"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ovsmesh/ovsmesh/apps"
	"github.com/ovsmesh/ovsmesh/controller"
	"github.com/ovsmesh/ovsmesh/controller/controllertest"
	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/topo"
)

var update = flag.Bool("update", false, "rewrite testdata/*.flows golden files")

type recorder = controllertest.Recorder

func mac(s string) net.HardwareAddr { m, _ := net.ParseMAC(s); return m }
func ip(s string) netip.Addr        { return netip.MustParseAddr(s) }

// stubs stand in for the apps whose stages follow port_security (an
// app's tests never import another app).
var stubs = []apps.Spec{
	{Name: "stub_l2", ID: 2, Tables: []apps.Table{{Name: "classify", ID: 10}, {Name: "l2", ID: 40}},
		New: func(apps.Env) (controller.App, error) { return nil, nil }},
	{Name: "stub_arp", ID: 3, Tables: []apps.Table{{Name: "arp", ID: 30}, {Name: "arp_responder", ID: 31}},
		New: func(apps.Env) (controller.App, error) { return nil, nil }},
}

var (
	macA = mac("52:54:00:00:01:01") // h1 g1, 10.0.1.1 (config)
	macB = mac("52:54:00:00:02:01") // h2 g1, 10.0.2.1 (ovsdb)
	macC = mac("52:54:00:00:02:02") // h2 g2, MAC only (ovsdb, as libvirt declares)
	macD = mac("52:54:00:00:03:01") // h3 g1 (api)
)

// fixture is the app on controllertest.Mesh's three hosts (guests g1
// and g2 on OFPorts 1 and 2, tunnels on 11+j), h3 holding an app's port
// ext0 on OFPort 5.
type fixture struct {
	a        *App
	mesh     *topo.Mesh
	recs     map[string]*recorder
	records  *RecordTable
	bindings *topo.DeclaredTable
}

func testConfig() Config {
	c := DefaultConfig()
	c.Ports = []Port{{Host: "h1", Port: "g1", MAC: []byte(macA), IPs: []netip.Addr{ip("10.0.1.1")}}}
	return c
}

func newFixture(t *testing.T, cfg Config, records *RecordTable, bindings *topo.DeclaredTable) *fixture {
	t.Helper()
	r, err := apps.NewRegistry(append(slices.Clone(stubs), Spec)...)
	if err != nil {
		t.Fatal(err)
	}
	mesh, recs := controllertest.Mesh(t, 3, r.Pipeline())
	mesh.SetAppPorts([]topo.AppPort{{Host: "h3", Name: "ext0", App: "nat"}})
	recs[2].PortList = append(recs[2].PortList, flows.Port{No: 5, Name: "ext0"})
	f := &fixture{mesh: mesh, recs: map[string]*recorder{}, records: records, bindings: bindings}
	if f.records == nil {
		f.records = topo.NewTable(recordCodec)
	}
	if f.bindings == nil {
		f.bindings = topo.NewDeclaredTable()
	}
	f.a, err = New(Options{Config: cfg, Mesh: mesh, Records: f.records, Bindings: f.bindings, Generation: 7, Next: 10})
	if err != nil {
		t.Fatal(err)
	}
	for i, rec := range recs {
		if err := f.a.SwitchUp(context.Background(), rec); err != nil {
			t.Fatal(err)
		}
		f.recs[mesh.Hosts()[i].Name] = rec
	}
	return f
}

func (f *fixture) take() string { return controllertest.TakeAll(f.recs) }

// publish stands in for the OVSDB side: host's declaring interfaces,
// then the app's pass over them (Run's).
func (f *fixture) publish(host string, ifaces ...topo.Iface) {
	f.mesh.SetInterfaces(host, ifaces)
	f.a.ifacesChanged(host)
	f.a.refresh(context.Background())
}

func iface(host, name string, ofport int32, ids map[string]string) topo.Iface {
	return topo.ParseIface(host, name, ofport, ids)
}

func bindings(tbl *topo.DeclaredTable) string {
	var out []string
	for _, b := range tbl.Select(nil) {
		out = append(out, b.IP.String()+"="+b.MAC.String()+"@"+b.Host+"/"+b.Port+"("+b.Source+")")
	}
	return strings.Join(out, " ")
}

// TestScenarioGolden walks declarations through their life on a 3-host
// mesh and compares every message sent with testdata/mesh3.flows: each
// change sends only the flows it touches.
func TestScenarioGolden(t *testing.T) {
	ctx := context.Background()
	var b strings.Builder
	var f *fixture
	step := func(title string, fn func()) {
		t.Helper()
		fn()
		b.WriteString("## " + title + "\n" + f.take())
	}
	step("switches connect; h1/g1 declared in the file (10.0.1.1): its checks on h1, its guards and the pass flows everywhere", func() {
		f = newFixture(t, testConfig(), nil, nil)
	})
	step("h2's OVSDB declares g1 (MAC B, 10.0.2.1) and g2 (MAC C only, as libvirt does); g9 is not on the bridge", func() {
		f.publish("h2",
			iface("h2", "g1", 1, map[string]string{topo.AttachedMACKey: macB.String(), topo.IPsKey: "10.0.2.1"}),
			iface("h2", "g2", 2, map[string]string{topo.AttachedMACKey: macC.String()}),
			iface("h2", "g9", -1, map[string]string{topo.AttachedMACKey: "52:54:00:00:09:09"}))
	})
	step("h2's OVSDB is read again, unchanged: nothing is sent", func() {
		f.publish("h2",
			iface("h2", "g1", 1, map[string]string{topo.AttachedMACKey: macB.String(), topo.IPsKey: "10.0.2.1"}),
			iface("h2", "g2", 2, map[string]string{topo.AttachedMACKey: macC.String()}),
			iface("h2", "g9", -1, map[string]string{topo.AttachedMACKey: "52:54:00:00:09:09"}))
	})
	step("the API declares h3/g1 with 10.0.2.1 and 10.0.3.1: it wins 10.0.2.1 over h2/g1's OVSDB", func() {
		if _, created, err := f.a.AddPort(ctx, PortDecl{Host: "h3", Port: "g1", MAC: macD.String(), IPs: []netip.Addr{ip("10.0.2.1"), ip("10.0.3.1")}}); err != nil || !created {
			t.Fatal(created, err)
		}
	})
	step("the API's declaration goes: h2/g1 holds 10.0.2.1 again", func() {
		if _, err := f.a.DeletePort(ctx, "h3", "g1"); err != nil {
			t.Fatal(err)
		}
	})
	step("h2/g1's interface goes from OVSDB: its checks and guards go", func() {
		f.publish("h2",
			iface("h2", "g2", 2, map[string]string{topo.AttachedMACKey: macC.String()}),
			iface("h2", "g9", -1, map[string]string{topo.AttachedMACKey: "52:54:00:00:09:09"}))
	})
	step("h1's port g1 goes away: its checks go from h1, its guards stay (the file still declares it)", func() {
		rec := f.recs["h1"]
		rec.PortList = slices.DeleteFunc(rec.PortList, func(p flows.Port) bool { return p.Name == "g1" })
		must(t, f.a.PortStatus(ctx, rec, flows.PortStatus{Reason: flows.PortDeleted, Port: flows.Port{No: 1, Name: "g1"}}))
	})
	step("h1's g1 comes back on OFPort 7: its checks follow the number", func() {
		rec := f.recs["h1"]
		rec.PortList = append(rec.PortList, flows.Port{No: 7, Name: "g1"})
		must(t, f.a.PortStatus(ctx, rec, flows.PortStatus{Reason: flows.PortAdded, Port: flows.Port{No: 7, Name: "g1"}}))
	})
	step("reload: from_ovsdb off and no ports in the file: every flow goes", func() {
		restart, err := f.a.Reload(ctx, &Config{FromOVSDB: false})
		if err != nil || len(restart) != 0 {
			t.Fatal(restart, err)
		}
	})
	checkGolden(t, "mesh3", b.String())
	if got := bindings(f.bindings); got != "" {
		t.Errorf("declared bindings after everything went: %s", got)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	controllertest.Golden(t, filepath.Join("testdata", name+".flows"), got, *update)
}
