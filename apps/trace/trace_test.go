package trace

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/ovsmesh/ovsmesh/apps"
	"github.com/ovsmesh/ovsmesh/controller"
	"github.com/ovsmesh/ovsmesh/flows"
)

// testConfig keeps probes quick: losses show after 200ms.
var testConfig = Config{FlowTimeout: 5 * time.Second, StepTimeout: 200 * time.Millisecond, MaxHops: 64}

// visitsOf renders a result's visits as "host<from:tables".
func visitsOf(r *Result) []string {
	var out []string
	for _, v := range r.Visits {
		var ts []string
		for _, h := range v.Hops {
			ts = append(ts, fmt.Sprint(h.Table))
		}
		out = append(out, v.Host+"<"+v.From+":"+strings.Join(ts, ","))
	}
	return out
}

// verdictsOf renders a result's verdicts as "kind host stage ports",
// sorted.
func verdictsOf(r *Result) []string {
	var out []string
	for _, v := range r.Verdicts {
		var ports []string
		for _, p := range v.Ports {
			ports = append(ports, fmt.Sprint(p.OFPort))
		}
		out = append(out, fmt.Sprintf("%s %s %s %s", v.Kind, v.Host, v.Stage, strings.Join(ports, ",")))
	}
	slices.Sort(out)
	return out
}

// TestProbe runs probes through the simulated mesh: the path, the
// verdicts, the comparison with the explanation, and that no copy is
// ever output to a guest and no trace flow is left.
func TestProbe(t *testing.T) {
	tests := []struct {
		name     string
		req      Request
		change   func(n *fakeNet)
		down     []string
		visits   []string // the source first, then sorted
		verdicts []string
		agree    bool
		check    func(t *testing.T, r *Result)
	}{
		{
			name: "across a tunnel", req: Request{Src: "10.0.1.1", Dst: "10.0.2.1"},
			visits:   []string{"h1<:0,10,30,31,40", "h2<h1:0,10,30,40"},
			verdicts: []string{"delivered h2 l2 1"}, agree: true,
			check: func(t *testing.T, r *Result) {
				if len(r.Tunnels) != 1 || !r.Tunnels[0].Arrived || r.Tunnels[0].ByController || r.Tunnels[0].ToVisit != 1 {
					t.Errorf("tunnels %+v, want one crossing by the switch, arrived as visit 1", r.Tunnels)
				}
				if h := r.Visits[0].Hops[4]; h.App != "learning" || h.Object != 0x00000201 || h.Actions != "output:12" {
					t.Errorf("h1 l2 hop %+v", h)
				}
			},
		},
		{
			name: "on the same host, as TCP", req: Request{Src: "02:00:00:00:01:01", Dst: "h1:v-h1g2", Proto: "tcp", Port: 22},
			visits: []string{"h1<:0,10,30,31,40"}, verdicts: []string{"delivered h1 l2 2"}, agree: true,
		},
		{
			name: "ARP answered by the responder", req: Request{Src: "h1:1", Dst: "10.0.3.2", Proto: "arp"},
			visits: []string{"h1<:0,10,30,31"}, verdicts: []string{"answered h1 arp_responder 1"}, agree: true,
		},
		{
			name: "an unknown IP is flooded, crossings emulated", req: Request{Src: "10.0.1.1", Dst: "10.9.9.9", Proto: "arp"},
			visits:   []string{"h1<:0,10,30,31,40", "h2<h1:0,10,30,40", "h3<h1:0,10,30,40"},
			verdicts: []string{"flooded h1 l2 2", "flooded h2 l2 1,2", "flooded h3 l2 1,2"}, agree: true,
			check: func(t *testing.T, r *Result) {
				for _, c := range r.Tunnels {
					if !c.Emulated || !c.ByController || !c.Arrived {
						t.Errorf("crossing %+v: want emulated by the controller, arrived", c)
					}
				}
			},
		},
		{
			name: "a foreign drop flow", req: Request{Src: "10.0.1.1", Dst: "10.0.2.1", Proto: "udp"},
			change: func(n *fakeNet) {
				n.sws["h2"].flowMod(flows.AddFlow(flows.Flow{Table: 40, Priority: 500, Match: flows.Match{EthDst: guest{2, 1}.mac()}}))
			},
			visits:   []string{"h1<:0,10,30,31,40", "h2<h1:0,10,30,40"},
			verdicts: []string{"dropped h2 l2 "},
			check: func(t *testing.T, r *Result) {
				if !slices.ContainsFunc(r.Disagreements, func(d string) bool { return strings.Contains(d, "h2 (from h1) l2: the switch matched none") }) {
					t.Errorf("disagreements %q", r.Disagreements)
				}
			},
		},
		{
			name: "drift: h1 lost its flow to h2g1", req: Request{Src: "10.0.1.1", Dst: "10.0.2.1"},
			change: func(n *fakeNet) {
				n.sws["h1"].flowMod(flows.DeleteStrict(flows.Flow{Table: 40, Priority: 100, Match: flows.Match{EthDst: guest{2, 1}.mac()}}))
			},
			visits:   []string{"h1<:0,10,30,31,40", "h2<h1:0,10,30,40", "h2<h3:0,10,30,40", "h3<h1:0,10,30,40"},
			verdicts: []string{"delivered h2 l2 1", "delivered h2 l2 1", "flooded h1 l2 2"},
			check: func(t *testing.T, r *Result) {
				if !slices.ContainsFunc(r.Disagreements, func(d string) bool { return strings.Contains(d, "h1 l2: the switch matched the table-miss entry") }) {
					t.Errorf("disagreements %q", r.Disagreements)
				}
			},
		},
		{
			name: "a peer without a session: the crossing is lost", req: Request{Src: "10.0.1.1", Dst: "10.0.2.1"}, down: []string{"h2"},
			visits: []string{"h1<:0,10,30,31,40"}, verdicts: []string{"lost h1 l2 "},
			check: func(t *testing.T, r *Result) {
				if !strings.Contains(r.Verdict, "h2 has no trace flows") || len(r.Tunnels) != 0 {
					t.Errorf("verdict %q, tunnels %+v: want the copy to h2 held back", r.Verdict, r.Tunnels)
				}
			},
		},
		{
			name: "an unknown source is copied to the controller and carried on", req: Request{Src: "10.0.1.2", Dst: "10.0.2.1"},
			change: func(n *fakeNet) {
				n.sws["h1"].flowMod(flows.DeleteStrict(flows.Flow{Table: 10, Priority: 200, Match: flows.Match{InPort: 2, EthSrc: guest{1, 2}.mac()}}))
			},
			visits:   []string{"h1<:0,10,30,31,40", "h2<h1:0,10,30,40"},
			verdicts: []string{"controller h1 classify ", "delivered h2 l2 1"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := newFakeNet(t, testConfig, tc.down...)
			if tc.change != nil {
				tc.change(n)
			}
			r, err := n.app.Trace(context.Background(), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			Render(&out, r)
			t.Logf("%s", out.String())
			visits := visitsOf(r)
			if len(visits) > 1 {
				slices.Sort(visits[1:])
			}
			if !slices.Equal(visits, tc.visits) {
				t.Errorf("visits %q, want %q", visits, tc.visits)
			}
			if got := verdictsOf(r); !slices.Equal(got, tc.verdicts) {
				t.Errorf("verdicts %q, want %q", got, tc.verdicts)
			}
			if r.Agree != tc.agree {
				t.Errorf("agree %v, want %v: %q", r.Agree, tc.agree, r.Disagreements)
			}
			if len(n.delivered) > 0 {
				t.Errorf("copies output to guests: %v", n.delivered)
			}
			if left := n.traceFlows(); len(left) > 0 {
				t.Errorf("trace flows left: %v", left)
			}
			for _, v := range r.Visits {
				for _, h := range v.Hops {
					if h.Cookie == "" || h.App == "" || h.Outcome == "" {
						t.Errorf("%s hop %+v does not name its flow", v.Host, h)
					}
				}
			}
			if tc.check != nil {
				tc.check(t, r)
			}
		})
	}
}

// TestExplainOnly checks --explain touches no switch.
func TestExplainOnly(t *testing.T) {
	n := newFakeNet(t, testConfig)
	r, err := n.app.Trace(context.Background(), Request{Src: "10.0.1.1", Dst: "10.0.3.1", Explain: true})
	if err != nil {
		t.Fatal(err)
	}
	if r.Mode != "explain" || !slices.Equal(visitsOf(r), []string{"h1<:0,10,30,31,40", "h3<h1:0,10,30,40"}) ||
		!slices.Equal(verdictsOf(r), []string{"delivered h3 l2 1"}) || r.Tunnels[0].ToVisit != 1 {
		t.Errorf("explanation %+v", r)
	}
	for name, s := range n.sws {
		for _, f := range s.flows {
			if f.Cookie.App() == ID {
				t.Errorf("%s got a trace flow: %s", name, f)
			}
		}
	}
}

// TestTraceRefuses checks requests that cannot be traced and a second
// probe while one runs.
func TestTraceRefuses(t *testing.T) {
	n := newFakeNet(t, testConfig)
	for _, tc := range []struct {
		req  Request
		want error
		msg  string
	}{
		{Request{Src: "10.0.1.1"}, ErrRequest, "give src and dst"},
		{Request{Src: "10.0.1.1", Dst: "10.0.2.1", Proto: "sctp"}, ErrRequest, "want icmp"},
		{Request{Src: "10.0.1.1", Dst: "10.0.2.1", Proto: "arp", Port: 80}, ErrRequest, "tcp and udp only"},
		{Request{Src: "10.9.9.9", Dst: "10.0.2.1"}, ErrResolve, "does not place it"},
		{Request{Src: "10.0.1.1", Dst: "10.9.9.9"}, ErrResolve, "--proto arp"},
		{Request{Src: "fe80::1", Dst: "10.0.2.1"}, ErrResolve, "only IPv4"},
		{Request{Src: "h1:9", Dst: "10.0.2.1"}, ErrResolve, "no MAC is learned behind port 9"},
		{Request{Src: "h1:nosuch", Dst: "10.0.2.1"}, ErrResolve, "no port named nosuch"},
		{Request{Src: "h9:1", Dst: "10.0.2.1"}, ErrResolve, "neither a configured host"},
		{Request{Src: "bogus", Dst: "10.0.2.1"}, ErrResolve, "HOST:PORT"},
	} {
		_, err := n.app.Trace(context.Background(), tc.req)
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%+v: %v, want %v mentioning %q", tc.req, err, tc.want, tc.msg)
		}
	}
	n.app.busy <- struct{}{}
	if _, err := n.app.Trace(context.Background(), Request{Src: "10.0.1.1", Dst: "10.0.2.1"}); !errors.Is(err, ErrBusy) {
		t.Errorf("a second probe: %v, want ErrBusy", err)
	}
	if r, err := n.app.Trace(context.Background(), Request{Src: "10.0.1.1", Dst: "10.0.2.1", Explain: true}); err != nil || r.Mode != "explain" {
		t.Errorf("--explain while a probe runs: %v", err)
	}
}

// TestMaxHops checks a probe gives up after max_hops stops.
func TestMaxHops(t *testing.T) {
	cfg := testConfig
	cfg.MaxHops = 3
	n := newFakeNet(t, cfg)
	r, err := n.app.Trace(context.Background(), Request{Src: "10.0.1.1", Dst: "10.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	if got := verdictsOf(r); len(got) != 1 || !strings.HasPrefix(got[0], "lost h1") || !strings.Contains(r.Verdict, "more than 3 stops") {
		t.Errorf("verdicts %q (%s)", got, r.Verdict)
	}
}

// TestStrayPacketIns checks packet-ins of no running probe are counted
// and dropped.
func TestStrayPacketIns(t *testing.T) {
	n := newFakeNet(t, testConfig)
	pi := &flows.PacketIn{Table: 10, Cookie: n.app.cookie(99, 10), InPort: 1, Data: []byte{1, 2, 3}}
	if err := n.app.PacketIn(context.Background(), n.sws["h1"], pi); err != nil {
		t.Fatal(err)
	}
	if got := counter(t, n.app.m.packetIns.WithLabelValues("stray")); got != 1 {
		t.Errorf("stray packet-ins %v, want 1", got)
	}
}

// counter reads a counter's value.
func counter(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// TestProbeFrames checks each protocol's probe carries the tag, SRC's
// and DST's addresses, and an ECN of ECT(1); an untagged packet is no
// probe's.
func TestProbeFrames(t *testing.T) {
	src, dst := guest{1, 1}, guest{2, 1}
	for _, proto := range []string{"icmp", "tcp", "udp", "arp"} {
		p := probe{proto: proto, srcMAC: src.mac(), dstMAC: dst.mac(), srcIP: src.ip(), dstIP: dst.ip(), srcPort: 40000, dstPort: 80, id: 7}
		frame, err := p.frame()
		if err != nil {
			t.Fatalf("%s: %v", proto, err)
		}
		f, err := flows.ParsePacket(frame, nil)
		if err != nil {
			t.Fatal(err)
		}
		arp := proto == "arp"
		if !tagged(f, arp) || tagged(f, !arp) {
			t.Errorf("%s: tagged %v as its own kind, %v as the other", proto, tagged(f, arp), tagged(f, !arp))
		}
		pkt := packetOf(frame, "h1", 1, 1, "")
		want := map[string]string{"icmp": "icmp 10.0.1.1 > 10.0.2.1", "tcp": "tcp 10.0.1.1:40000 > 10.0.2.1:80",
			"udp": "udp 10.0.1.1:40000 > 10.0.2.1:80", "arp": "arp who-has 10.0.2.1 tell 10.0.1.1"}[proto]
		if !strings.HasSuffix(pkt.String(), want) {
			t.Errorf("%s: %s, want ...%s", proto, pkt, want)
		}
		if !arp && !strings.Contains(f.FlowString(), "nw_tos=188,nw_ecn=1") {
			t.Errorf("%s: %s, want nw_tos=188,nw_ecn=1", proto, f.FlowString())
		}
	}
	plain, _ := flows.ParsePacket(append(append([]byte{}, dst.mac()...), append(src.mac(), 0x08, 0x00, 0x45, 0, 0, 20, 0, 0, 0, 0, 64, 1, 0, 0, 10, 0, 1, 1, 10, 0, 2, 1)...), nil)
	if tagged(plain, false) {
		t.Error("a DSCP 0 packet counts as tagged")
	}
}

// TestExplainSkipsInternalStages checks the explanation goes on past an
// app's internal stages (reached only from its own flows), and that
// such a stage of an app that is off drops.
func TestExplainSkipsInternalStages(t *testing.T) {
	specs := append([]apps.Spec{{Name: "nat", ID: 4, Tables: []apps.Table{{Name: "nat", ID: 20, Next: []string{"nat_out"}},
		{Name: "nat_out", ID: 21, Internal: true, Next: []string{apps.NextStage}}},
		New: func(apps.Env) (controller.App, error) { return nil, nil }}}, stubs...)
	reg, err := apps.NewRegistry(specs...)
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(Options{Pipeline: reg.Pipeline(), Explainer: func(stage string) (apps.Explainer, bool) { return nil, stage == "nat" }})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range a.stages {
		names = append(names, s.Name)
	}
	i := slices.Index(names, "nat")
	if j, ok := a.nextStage(i, apps.NextStage); !ok || names[j] != "arp" {
		t.Errorf("after nat: %v %v, want arp (nat_out is internal)", ok, j)
	}
	if d := a.decision(a.stages[i], i, apps.Packet{}); d.Next != apps.NextStage || d.App != 0 {
		t.Errorf("a running app without an explainer: %+v, want passed on, unexplained", d)
	}
	if d := a.decision(a.stages[i+1], i+1, apps.Packet{}); d.Drop == "" {
		t.Errorf("an internal stage of an app that is off: %+v, want a drop", d)
	}
}

// TestLastPath checks the path the topology page draws: the last
// probe's hosts in order, with where the packet went.
func TestLastPath(t *testing.T) {
	n := newFakeNet(t, testConfig)
	if p := n.app.LastPath(); p != nil {
		t.Errorf("before any probe: %v", p)
	}
	if _, err := n.app.Trace(context.Background(), Request{Src: "10.0.1.1", Dst: "10.0.2.1"}); err != nil {
		t.Fatal(err)
	}
	p := n.app.LastPath()
	if len(p) != 2 || p[0].Host != "h1" || p[0].Note != "in from 10.0.1.1; to h2" || p[1].Host != "h2" ||
		!strings.HasPrefix(p[1].Note, "from h1; delivered to h2 port 1") {
		t.Errorf("path %+v", p)
	}
}

// TestCompareSkipsUnexplainedInternalStages checks a probe that passes
// the internal stages of an app that does not explain itself still
// agrees, and one that stops in them does not.
func TestCompareSkipsUnexplainedInternalStages(t *testing.T) {
	a, hop := compareApp(t, apps.Table{Name: "nat", ID: 20, Next: []string{"nat_out"}},
		apps.Table{Name: "nat_out", ID: 21, Internal: true, Next: []string{apps.NextStage}})
	expl := Visit{Host: "h1", Hops: []Hop{hop(10, 2), hop(20, 0), hop(30, 3), hop(40, 2)}}
	for _, tc := range []struct {
		name  string
		probe []Hop
		agree bool
	}{
		{"through the internal stage", []Hop{hop(10, 2), hop(20, 4), hop(21, 4), hop(30, 3), hop(40, 2)}, true},
		{"straight on", []Hop{hop(10, 2), hop(20, 4), hop(30, 3), hop(40, 2)}, true},
		{"stopped in the internal stage", []Hop{hop(10, 2), hop(20, 4), hop(21, 4)}, false},
		{"elsewhere", []Hop{hop(10, 2), hop(20, 4), hop(40, 2)}, false},
	} {
		got := a.compareHops(Visit{Host: "h1", Hops: tc.probe}, expl)
		if (len(got) == 0) != tc.agree {
			t.Errorf("%s: %q, want agree %v", tc.name, got, tc.agree)
		}
	}
}

// TestCompareSkipsInternalStagesBetweenExplained checks the NAT shape: an
// app explains a stage (nat_router, 27) and names a lower internal one as
// next (nat_out, 26, a recirculation); the probe passes the app's other
// internal stages between them, and still agrees.
func TestCompareSkipsInternalStagesBetweenExplained(t *testing.T) {
	a, hop := compareApp(t, apps.Table{Name: "nat", ID: 20, Next: []string{"nat_router"}},
		apps.Table{Name: "nat_unsnat", ID: 22, Internal: true, Next: []string{"nat_out"}},
		apps.Table{Name: "nat_out", ID: 26, Internal: true},
		apps.Table{Name: "nat_router", ID: 27, Internal: true, Next: []string{apps.NextStage}})
	i, _ := slices.BinarySearchFunc(a.stages, flows.TableID(27), func(s flows.Stage, t flows.TableID) int { return int(s.Table) - int(t) })
	if j, ok := a.nextStage(i, "nat_out"); !ok || a.stages[j].Table != 26 {
		t.Fatalf("nextStage(nat_router, nat_out) = %d, %v; want the stage of table 26", j, ok)
	}
	expl := Visit{Host: "h3", Hops: []Hop{hop(10, 2), hop(20, 4), hop(27, 4), hop(26, 4)}}
	for _, tc := range []struct {
		name  string
		probe []Hop
		agree bool
	}{
		{"through conntrack's stages", []Hop{hop(10, 2), hop(20, 4), hop(27, 4), hop(22, 4), hop(26, 4)}, true},
		{"straight to nat_out", []Hop{hop(10, 2), hop(20, 4), hop(27, 4), hop(26, 4)}, true},
		{"stopped in conntrack's stages", []Hop{hop(10, 2), hop(20, 4), hop(27, 4), hop(22, 4)}, false},
		{"on to another app", []Hop{hop(10, 2), hop(20, 4), hop(27, 4), hop(30, 3)}, false},
	} {
		got := a.compareHops(Visit{Host: "h3", Hops: tc.probe}, expl)
		if (len(got) == 0) != tc.agree {
			t.Errorf("%s: %q, want agree %v", tc.name, got, tc.agree)
		}
	}
}

// compareApp returns the trace app on a pipeline of the stubs and a NAT
// app (ID 4) with tables, and a hop builder: the stage of a table, as
// matched by a flow of app.
func compareApp(t *testing.T, tables ...apps.Table) (*App, func(uint8, flows.AppID) Hop) {
	t.Helper()
	specs := append([]apps.Spec{{Name: "nat", ID: 4, Tables: tables,
		New: func(apps.Env) (controller.App, error) { return nil, nil }}}, stubs...)
	reg, err := apps.NewRegistry(specs...)
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(Options{Pipeline: reg.Pipeline()})
	if err != nil {
		t.Fatal(err)
	}
	return a, func(table uint8, app flows.AppID) Hop {
		return Hop{Table: table, Stage: reg.Pipeline().Name(flows.TableID(table)), appID: app, App: fmt.Sprint(app)}
	}
}
