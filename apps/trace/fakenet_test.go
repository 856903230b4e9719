package trace

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"testing"

	"github.com/ovsmesh/ovsmesh/apps"
	"github.com/ovsmesh/ovsmesh/controller"
	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/topo"
)

// stubs own the stages of the other apps (an app's tests never import
// another app): the pipeline of ovsmesh with learning and proxy ARP,
// ingress (0), classify (10), arp (30), arp_responder (31), l2 (40).
var stubs = []apps.Spec{
	{Name: "learning", ID: 2, Tables: []apps.Table{{Name: "classify", ID: 10}, {Name: "l2", ID: 40}},
		New: func(apps.Env) (controller.App, error) { return nil, nil }},
	{Name: "proxyarp", ID: 3, Tables: []apps.Table{{Name: "arp", ID: 30, Next: []string{"l2"}}, {Name: "arp_responder", ID: 31}},
		New: func(apps.Env) (controller.App, error) { return nil, nil }},
	Spec,
}

// guest is one guest of the fake mesh: hIgJ is on host I, port J, with
// MAC 02:00:00:00:0I:0J and IP 10.0.I.J.
type guest struct {
	host, port int
}

func (g guest) mac() net.HardwareAddr {
	return net.HardwareAddr{2, 0, 0, 0, byte(g.host), byte(g.port)}
}
func (g guest) ip() netip.Addr { return netip.AddrFrom4([4]byte{10, 0, byte(g.host), byte(g.port)}) }
func (g guest) name() string   { return fmt.Sprintf("h%dg%d", g.host, g.port) }

// guests are h1g1 to h3g2.
var guests = []guest{{1, 1}, {1, 2}, {2, 1}, {2, 2}, {3, 1}, {3, 2}}

// tunnelPort is hI's port of the tunnel towards hJ
// (controllertest.Mesh: 10+J).
func tunnelPort(j int) flows.OFPort { return flows.OFPort(10 + j) }

// fakeNet is three simulated switches holding ovsmesh's flows as values.
// A switch runs a packet-out through its flows the way OVS does (the
// highest-priority matching flow of each table, matched with
// flows.PacketFields; outputs to the in_port skipped unless IN_PORT; a
// tunnel output arrives at the peer's table 0). So the probe's logic is
// tested without OVS; TestTrace in test/ checks it against OVS.
type fakeNet struct {
	t    *testing.T
	app  *App
	mesh *topo.Mesh
	sws  map[string]*fakeSwitch

	mu        sync.Mutex
	delivered []string // "host:port" of every copy output to a local port
}

// fakeSwitch is one simulated switch; it is a controller.Switch, and
// lists its flows and groups like a session.
type fakeSwitch struct {
	net    *fakeNet
	host   int
	dpid   flows.DPID
	ports  []flows.Port
	mu     sync.Mutex
	flows  []flows.Flow
	groups map[flows.GroupID][][]flows.Action
}

func (s *fakeSwitch) DPID() flows.DPID    { return s.dpid }
func (s *fakeSwitch) Ports() []flows.Port { return slices.Clone(s.ports) }

// newFakeNet builds the mesh, its flows, and the app (with opts) on it,
// every switch up unless down names it.
func newFakeNet(t *testing.T, cfg Config, down ...string) *fakeNet {
	t.Helper()
	reg, err := apps.NewRegistry(stubs...)
	if err != nil {
		t.Fatal(err)
	}
	n := &fakeNet{t: t, sws: map[string]*fakeSwitch{}}
	hosts := []topo.Host{{Name: "h1"}, {Name: "h2"}, {Name: "h3"}}
	n.mesh = topo.NewMesh(hosts)
	macs, arps := topo.NewMACTable(), topo.NewARPTable()
	for _, g := range guests {
		h := hosts[g.host-1]
		macs.Put(topo.MACEntry{MAC: g.mac(), DPID: h.DPID(), OFPort: flows.OFPort(g.port), Host: h.Name})
		arps.Put(topo.ARPBinding{IP: g.ip(), MAC: g.mac(), DPID: h.DPID(), OFPort: flows.OFPort(g.port), Host: h.Name})
	}
	a, err := New(Options{Config: cfg, Generation: 7, Pipeline: reg.Pipeline(), Mesh: n.mesh, MACs: macs, ARP: arps,
		AppName: reg.AppName, Explainer: func(stage string) (apps.Explainer, bool) { return fakeExplainer{}, true }})
	if err != nil {
		t.Fatal(err)
	}
	n.app = a
	for i, h := range hosts {
		s := &fakeSwitch{net: n, host: i + 1, dpid: h.DPID(), groups: map[flows.GroupID][][]flows.Action{}}
		s.ports = []flows.Port{{No: 1, Name: fmt.Sprintf("v-h%dg1", i+1)}, {No: 2, Name: fmt.Sprintf("v-h%dg2", i+1)}}
		for j, p := range hosts {
			if j != i {
				s.ports = append(s.ports, flows.Port{No: tunnelPort(j + 1), Name: topo.TunnelPortName(p.Name)})
			}
		}
		s.install()
		n.sws[h.Name] = s
		if !slices.Contains(down, h.Name) {
			a.SwitchUp(context.Background(), s)
		}
	}
	return n
}

var (
	baseline = func(table flows.TableID) flows.Cookie { return flows.NewCookie(7, flows.AppBaseline, uint32(table)) }
	learnC   = func(mac net.HardwareAddr) flows.Cookie {
		return flows.NewCookie(7, 2, binary.BigEndian.Uint32(mac[2:]))
	}
	arpC = func(ip netip.Addr) flows.Cookie { return flows.NewCookie(7, 3, binary.BigEndian.Uint32(ip.AsSlice())) }
)

// install writes the flows ovsmesh's apps would put on the switch.
func (s *fakeSwitch) install() {
	add := func(f flows.Flow) { s.flows = append(s.flows, f) }
	add(flows.Flow{Table: 0, Cookie: baseline(0), Goto: 10})
	add(flows.Flow{Table: 10, Cookie: baseline(10), Actions: []flows.Action{flows.ToController}})
	add(flows.Flow{Table: 30, Cookie: baseline(30), Goto: 31})
	add(flows.Flow{Table: 31, Cookie: baseline(31), Goto: 40})
	add(flows.Flow{Table: 40, Cookie: baseline(40), Actions: []flows.Action{flows.Group{ID: 1}}})
	add(flows.Flow{Table: 40, Priority: 1, Cookie: flows.NewCookie(7, 2, 0), Match: flows.Match{Metadata: 1, MetadataMask: 1},
		Actions: []flows.Action{flows.Group{ID: 2}}})
	add(flows.Flow{Table: 30, Priority: 300, Cookie: flows.NewCookie(7, 3, 0), Match: flows.Match{Metadata: 1, MetadataMask: 1}, Goto: 40})
	add(flows.Flow{Table: 30, Priority: 10, Cookie: flows.NewCookie(7, 3, 0), Match: flows.Match{EthType: flows.EthTypeARP},
		Actions: []flows.Action{flows.ToController}, Goto: 31})
	var all, local [][]flows.Action
	for _, p := range s.ports {
		if p.No < 10 {
			local = append(local, []flows.Action{flows.Output{Port: p.No}})
			add(flows.Flow{Table: 10, Priority: 50, Cookie: flows.NewCookie(7, 2, 0), Match: flows.Match{InPort: p.No},
				Actions: []flows.Action{flows.ToController}, Goto: 30})
		}
		all = append(all, []flows.Action{flows.Output{Port: p.No}})
		if p.No > 10 {
			add(flows.Flow{Table: 10, Priority: 100, Cookie: flows.NewCookie(7, 2, 0), Match: flows.Match{InPort: p.No},
				WriteMetadata: 1, WriteMetadataMask: 1, Goto: 30})
		}
	}
	s.groups[1], s.groups[2] = all, local
	for _, g := range guests {
		out := flows.OFPort(g.port)
		if g.host != s.host {
			out = tunnelPort(g.host)
		} else {
			add(flows.Flow{Table: 10, Priority: 200, Cookie: learnC(g.mac()), Match: flows.Match{InPort: out, EthSrc: g.mac()}, Goto: 30})
			add(flows.Flow{Table: 30, Priority: 200, Cookie: arpC(g.ip()), Goto: 31,
				Match: flows.Match{InPort: out, EthSrc: g.mac(), EthType: flows.EthTypeARP, ARPSPA: g.ip(), ARPSHA: g.mac()}})
		}
		add(flows.Flow{Table: 40, Priority: 100, Cookie: learnC(g.mac()), Match: flows.Match{EthDst: g.mac()}, Actions: []flows.Action{flows.Output{Port: out}}})
		add(flows.Flow{Table: 31, Priority: 100, Cookie: arpC(g.ip()), Match: flows.Match{EthType: flows.EthTypeARP, ARPOp: 1, ARPTPA: g.ip()},
			Actions: []flows.Action{flows.SetARPOp(2), flows.Output{Port: flows.PortInPort}}})
	}
}

// Send applies flow-mods (add, delete by cookie, strict delete) and runs
// packet-outs.
func (s *fakeSwitch) Send(_ context.Context, msgs ...flows.Message) error {
	for _, m := range msgs {
		switch m := m.(type) {
		case flows.FlowMod:
			s.flowMod(m)
		case flows.PacketOut:
			p := &packet{data: m.Data, inPort: m.InPort}
			s.actions(p, m.Actions, 0, 0, 0)
		}
	}
	return nil
}

func (s *fakeSwitch) flowMod(m flows.FlowMod) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := func(f flows.Flow) string { return fmt.Sprint(f.Table, f.Priority, f.Match.String()) }
	switch m.Command {
	case flows.FlowAdd:
		s.flows = slices.DeleteFunc(s.flows, func(f flows.Flow) bool { return key(f) == key(m.Flow) })
		s.flows = append(s.flows, m.Flow)
	case flows.FlowDelete:
		s.flows = slices.DeleteFunc(s.flows, func(f flows.Flow) bool {
			return (m.Flow.Table == flows.TableAll || f.Table == m.Flow.Table) && f.Cookie&m.CookieMask == m.Flow.Cookie&m.CookieMask &&
				(m.Flow.Match.String() == "" || f.Match.String() == m.Flow.Match.String())
		})
	case flows.FlowDeleteStrict:
		s.flows = slices.DeleteFunc(s.flows, func(f flows.Flow) bool { return key(f) == key(m.Flow) })
	}
}

// packet is a packet in the simulated pipeline.
type packet struct {
	data     []byte
	inPort   flows.OFPort
	metadata uint64
	regs     [16]uint32
}

// pipelineTLVs are the packet's pipeline fields as a packet-in's match
// carries them.
func (p *packet) pipelineTLVs() []byte {
	b := []byte{0x80, 0x00, 0x00, 4}
	b = binary.BigEndian.AppendUint32(b, uint32(p.inPort))
	if p.metadata != 0 {
		b = append(b, 0x80, 0x00, 0x04, 8)
		b = binary.BigEndian.AppendUint64(b, p.metadata)
	}
	for i, v := range p.regs {
		if v != 0 {
			b = append(b, 0x00, 0x01, byte(i<<1), 4)
			b = binary.BigEndian.AppendUint32(b, v)
		}
	}
	return b
}

// actions runs an action list; table and cookie are those of the flow
// they belong to (0 for a packet-out).
func (s *fakeSwitch) actions(p *packet, acts []flows.Action, table flows.TableID, cookie flows.Cookie, depth int) {
	for _, a := range acts {
		switch a := a.(type) {
		case flows.SetReg:
			p.regs[a.Reg] = a.Value
		case flows.SetMetadata:
			p.metadata = a.Value
		case flows.Resubmit:
			s.lookup(p, a.Table, depth+1)
		case flows.Group:
			s.mu.Lock()
			buckets := s.groups[a.ID]
			s.mu.Unlock()
			for _, b := range buckets {
				s.actions(p, b, table, cookie, depth+1)
			}
		case flows.Output:
			s.output(p, a.Port, table, cookie)
		}
	}
}

// lookup runs table t's highest-priority matching flow.
func (s *fakeSwitch) lookup(p *packet, t flows.TableID, depth int) {
	if depth > 64 {
		s.net.t.Errorf("%s: resubmit depth over 64", s.name())
		return
	}
	fields, err := flows.ParsePacket(p.data, p.pipelineTLVs())
	if err != nil {
		s.net.t.Errorf("ParsePacket: %v", err)
		return
	}
	s.mu.Lock()
	var best *flows.Flow
	for i := range s.flows {
		f := &s.flows[i]
		if f.Table != t || (best != nil && f.Priority <= best.Priority) {
			continue
		}
		if ok, _ := fields.Matches(statsOf(s.net.t, *f).RawMatch); ok {
			best = f
		}
	}
	var f flows.Flow
	if best != nil {
		f = *best
	}
	s.mu.Unlock()
	if best == nil {
		return // OpenFlow 1.3: a table-miss with no entry drops
	}
	s.actions(p, f.Actions, t, f.Cookie, depth)
	if f.WriteMetadataMask != 0 {
		p.metadata = p.metadata&^f.WriteMetadataMask | f.WriteMetadata&f.WriteMetadataMask
	}
	if f.Goto != 0 {
		s.lookup(p, f.Goto, depth+1)
	}
}

// output sends a copy: to the controller (the app's PacketIn), through a
// tunnel (the peer's table 0), or out of a local port (recorded).
func (s *fakeSwitch) output(p *packet, port flows.OFPort, table flows.TableID, cookie flows.Cookie) {
	switch {
	case port == flows.PortController:
		pi := &flows.PacketIn{Table: table, Cookie: cookie, InPort: p.inPort, Data: p.data, RawMatch: p.pipelineTLVs()}
		s.net.app.PacketIn(context.Background(), s, pi)
		return
	case port == flows.PortInPort:
		port = p.inPort
	case port == p.inPort:
		return
	}
	if port > 10 {
		peer := s.net.sws[fmt.Sprintf("h%d", int(port)-10)]
		q := &packet{data: p.data, inPort: tunnelPort(s.host)}
		peer.lookup(q, 0, 0)
		return
	}
	s.net.mu.Lock()
	s.net.delivered = append(s.net.delivered, fmt.Sprintf("%s:%d", s.name(), port))
	s.net.mu.Unlock()
}

func (s *fakeSwitch) name() string { return fmt.Sprintf("h%d", s.host) }

// FlowStats lists the flows of req's table (or all) whose cookie
// matches under req's mask, as a session does.
func (s *fakeSwitch) FlowStats(_ context.Context, req flows.FlowStatsRequest) ([]flows.FlowStats, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []flows.FlowStats
	for _, f := range s.flows {
		if (req.Table == flows.TableAll || f.Table == req.Table) && f.Cookie&req.CookieMask == req.Cookie&req.CookieMask {
			out = append(out, statsOf(s.net.t, f))
		}
	}
	return out, nil
}

// GroupDesc describes the switch's groups, as a session does.
func (s *fakeSwitch) GroupDesc(context.Context) ([]flows.GroupDesc, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var body []byte
	for id, buckets := range s.groups {
		msg, err := flows.Encode(nil, 0, flows.GroupMod{Command: flows.GroupAddOrModify, ID: id, Buckets: buckets})
		if err != nil {
			return nil, err
		}
		bk := msg[16:] // after ofp_header and the fixed ofp_group_mod
		entry := binary.BigEndian.AppendUint16(nil, uint16(8+len(bk)))
		entry = append(entry, 0, 0)
		entry = binary.BigEndian.AppendUint32(entry, uint32(id))
		body = append(body, append(entry, bk...)...)
	}
	return flows.DecodeGroupDesc(body)
}

// statsOf is f as a flow-stats entry: its match and instructions as
// the wire carries them (cut from our own flow-mod encoding).
func statsOf(t *testing.T, f flows.Flow) flows.FlowStats {
	msg, err := flows.Encode(nil, 0, flows.AddFlow(f))
	if err != nil {
		t.Fatal(err)
	}
	const matchAt = flows.HeaderLen + 40
	n := int(binary.BigEndian.Uint16(msg[matchAt+2:]))
	return flows.FlowStats{Table: f.Table, Priority: f.Priority, Cookie: f.Cookie, HardTimeout: f.HardTimeout, Match: f.Match,
		RawMatch: msg[matchAt+4 : matchAt+n], Instructions: msg[matchAt+(n+7)/8*8:]}
}

// traceFlows returns the trace flows left on every switch.
func (n *fakeNet) traceFlows() []string {
	var out []string
	for name, s := range n.sws {
		s.mu.Lock()
		for _, f := range s.flows {
			if f.Cookie.App() == ID {
				out = append(out, name+": "+f.String())
			}
		}
		s.mu.Unlock()
	}
	return out
}

// fakeExplainer explains the stub stages from the guest list, the way
// ovsmesh's apps would.
type fakeExplainer struct{}

func (fakeExplainer) Explain(stage string, p apps.Packet) (apps.Decision, bool) {
	host := int(p.Host[1] - '0')
	pass := func(t flows.TableID) apps.Decision {
		return apps.Decision{Rule: "miss", App: flows.AppBaseline, Object: uint32(t), Next: apps.NextStage}
	}
	find := func(match func(g guest) bool) (guest, bool) {
		for _, g := range guests {
			if match(g) {
				return g, true
			}
		}
		return guest{}, false
	}
	switch stage {
	case "classify":
		if p.From != "" {
			return apps.Decision{Rule: "tunnel", App: 2, Next: apps.NextStage}, true
		}
		return apps.Decision{Rule: "known", App: 2, Object: binary.BigEndian.Uint32(p.EthSrc[2:]), Next: apps.NextStage}, true
	case "arp":
		switch {
		case p.From != "":
			return apps.Decision{Rule: "tunnel", App: 3, Next: "l2"}, true
		case p.EthType == flows.EthTypeARP:
			return apps.Decision{Rule: "known sender", App: 3, Object: binary.BigEndian.Uint32(p.ARPSPA.AsSlice()), Next: "arp_responder"}, true
		}
		return pass(30), true
	case "arp_responder":
		if g, ok := find(func(g guest) bool { return g.ip() == p.ARPTPA }); ok && p.EthType == flows.EthTypeARP && p.ARPOp == 1 {
			return apps.Decision{Rule: "answered", App: 3, Object: binary.BigEndian.Uint32(g.ip().AsSlice()), Outputs: []apps.Output{{Port: p.InPort}}}, true
		}
		return pass(31), true
	case "l2":
		if g, ok := find(func(g guest) bool { return string(g.mac()) == string(p.EthDst) }); ok {
			out := apps.Output{Port: flows.OFPort(g.port)}
			if g.host != host {
				out = apps.Output{Port: tunnelPort(g.host), Tunnel: fmt.Sprintf("h%d", g.host)}
			}
			return apps.Decision{Rule: "learned", App: 2, Object: binary.BigEndian.Uint32(g.mac()[2:]), Outputs: []apps.Output{out}}, true
		}
		var outs []apps.Output
		for _, port := range []flows.OFPort{1, 2} {
			if port != p.InPort {
				outs = append(outs, apps.Output{Port: port})
			}
		}
		if p.From != "" {
			return apps.Decision{Rule: "flood local", App: 2, Outputs: outs, Flood: true}, true
		}
		for j := 1; j <= 3; j++ {
			if j != host {
				outs = append(outs, apps.Output{Port: tunnelPort(j), Tunnel: fmt.Sprintf("h%d", j)})
			}
		}
		return apps.Decision{Rule: "flood", App: flows.AppBaseline, Object: 40, Outputs: outs, Flood: true}, true
	}
	return apps.Decision{}, false
}
