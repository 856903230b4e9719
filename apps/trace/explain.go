package trace

import (
	"encoding/hex"
	"fmt"

	"github.com/ovsmesh/ovsmesh/apps"
	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/topo"
)

// explain follows frame from src through the mesh as the apps expect it
// to go (apps.Explainer), touching no switch: each stage's app decides,
// tunnels lead to the peer's pipeline, and a stage whose app is off
// passes the packet on as the controller's baseline does.
func (a *App) explain(src end, frame []byte) *Result {
	res := &Result{Mode: "explain", Visits: []Visit{}, Tunnels: []Crossing{}, Verdicts: []Verdict{}}
	type arrival struct {
		host     string
		dpid     flows.DPID
		inPort   flows.OFPort
		from     string
		pkt      apps.Packet
		crossing int // index in res.Tunnels, -1 for the source
	}
	first := packetOf(frame, a.hostName(src.dpid), src.dpid, src.port, "")
	queue := []arrival{{first.Host, src.dpid, src.port, "", first, -1}}
	seen := map[[2]uint64]bool{}
	hops := 0
	for len(queue) > 0 {
		q := queue[0]
		queue = queue[1:]
		key := [2]uint64{uint64(q.dpid), uint64(q.inPort)}
		if seen[key] {
			continue
		}
		seen[key] = true
		f, _ := flows.ParsePacket(frame, nil)
		res.Visits = append(res.Visits, Visit{Host: q.host, DPID: q.dpid.String(), InPort: q.inPort, InPortName: a.portName(q.dpid, q.inPort),
			From: q.from, Packet: hex.EncodeToString(frame), Flow: fmt.Sprintf("in_port=%d,%s", q.inPort, f.FlowString()), Hops: []Hop{}, dpid: q.dpid})
		v := &res.Visits[len(res.Visits)-1]
		if q.crossing >= 0 {
			res.Tunnels[q.crossing].ToVisit = len(res.Visits) - 1
		}
		pkt := q.pkt
		for i := 0; i < len(a.stages); {
			if hops++; hops > a.opts.Config.MaxHops {
				res.Warnings = append(res.Warnings, fmt.Sprintf("more than %d stages: the explanation stops (a loop?)", a.opts.Config.MaxHops))
				res.summarize()
				return res
			}
			st := a.stages[i]
			d := a.decision(st, i, pkt)
			hop := Hop{Table: uint8(st.Table), Stage: st.Name, Rule: d.Rule, Object: d.Object, appID: d.App, App: "?"}
			if d.App != 0 {
				hop.App = a.opts.AppName(d.App)
			}
			if d.Rewrite != nil {
				next := *d.Rewrite
				next.Host, next.DPID, next.InPort, next.From = pkt.Host, pkt.DPID, pkt.InPort, pkt.From
				hop.Rewrites = packetDiff(pkt, next)
				pkt = next
			}
			if d.Next != "" {
				hop.Outcome = "next"
				v.Hops = append(v.Hops, hop)
				j, ok := a.nextStage(i, d.Next)
				if !ok {
					res.Warnings = append(res.Warnings, fmt.Sprintf("%s %s: app goes on to %q, which is no stage of the pipeline", q.host, st.Name, d.Next))
					break
				}
				i = j
				continue
			}
			hop.Outcome = a.explainStop(res, len(res.Visits)-1, st, pkt, d)
			v.Hops = append(v.Hops, hop)
			for _, o := range d.Outputs {
				if o.Tunnel == "" {
					continue
				}
				peer, ok := a.hostByName(o.Tunnel)
				if !ok {
					res.Warnings = append(res.Warnings, fmt.Sprintf("%s %s: a tunnel to %s, which is not a configured host", q.host, st.Name, o.Tunnel))
					continue
				}
				in := a.tunnelPort(peer.DPID(), q.host)
				res.Tunnels = append(res.Tunnels, Crossing{From: q.host, To: o.Tunnel, Port: o.Port, PortName: a.portName(q.dpid, o.Port),
					ToPort: in, FromVisit: len(res.Visits) - 1, ToVisit: -1, Arrived: true})
				next := pkt
				next.Host, next.DPID, next.InPort, next.From = o.Tunnel, peer.DPID(), in, q.host
				queue = append(queue, arrival{o.Tunnel, peer.DPID(), in, q.host, next, len(res.Tunnels) - 1})
			}
			break
		}
	}
	res.summarize()
	return res
}

// decision asks stage's app what it does with pkt. The controller's own
// ingress stage, and the stages of an app that is off, pass packets on
// (the baseline's table-miss; a drop in the last stage); a running app
// that cannot tell is assumed to pass it on too, and says so.
func (a *App) decision(st flows.Stage, i int, pkt apps.Packet) apps.Decision {
	var e apps.Explainer
	running := false
	if a.opts.Explainer != nil {
		e, running = a.opts.Explainer(st.Name)
	}
	if e != nil {
		if d, ok := e.Explain(st.Name, pkt); ok {
			return d
		}
	}
	_, more := a.nextStage(i, apps.NextStage)
	switch {
	case running:
		return apps.Decision{Rule: fmt.Sprintf("%s's app cannot tell: assumed to pass the packet on", st.Name), Next: apps.NextStage}
	case st.Internal:
		return apps.Decision{Rule: "table-miss of an internal stage", App: flows.AppBaseline, Object: uint32(st.Table), Drop: "its app is off"}
	case !more:
		return apps.Decision{Rule: "table-miss of the last stage", App: flows.AppBaseline, Object: uint32(st.Table), Drop: "end of the pipeline"}
	case st.Name == apps.IngressStage:
		return apps.Decision{Rule: "every packet goes on to the first stage", App: flows.AppBaseline, Object: uint32(st.Table), Next: apps.NextStage}
	}
	return apps.Decision{Rule: "the stage's app is off: table-miss, passed on", App: flows.AppBaseline, Object: uint32(st.Table), Next: apps.NextStage}
}

// nextStage returns the index of the stage a decision at stage i goes on
// to: for NextStage the first one after i that is not internal (an app's
// internal stages are reached only from its own flows); a named stage
// wherever it is, since an app may jump back to its own internal stage
// (a conntrack recirculation to a lower table number).
func (a *App) nextStage(i int, next string) (int, bool) {
	if next != apps.NextStage {
		for j, s := range a.stages {
			if s.Name == next && j != i {
				return j, true
			}
		}
		return 0, false
	}
	for j := i + 1; j < len(a.stages); j++ {
		if !a.stages[j].Internal {
			return j, true
		}
	}
	return 0, false
}

// explainStop records the verdicts of a decision that stops the packet
// at st on host, and returns the hop's outcome.
func (a *App) explainStop(res *Result, visit int, st flows.Stage, pkt apps.Packet, d apps.Decision) string {
	outcome := "drop"
	here := Verdict{Visit: visit, Host: res.Visits[visit].Host, Table: uint8(st.Table), Stage: st.Name}
	v := here.with(Delivered, "")
	for _, o := range d.Outputs {
		outcome = "output"
		if o.Tunnel == "" {
			v.Ports = append(v.Ports, PortRef{OFPort: o.Port, Name: a.portName(pkt.DPID, o.Port)})
		}
	}
	switch {
	case len(v.Ports) == 1 && v.Ports[0].OFPort == pkt.InPort:
		v.Kind = Answered
	case d.Flood || len(v.Ports) > 1:
		v.Kind = Flooded
	}
	if len(v.Ports) > 0 {
		res.Verdicts = append(res.Verdicts, v)
	}
	if d.Controller {
		if outcome == "drop" {
			outcome = "controller"
		}
		res.Verdicts = append(res.Verdicts, here.with(ToController, d.Rule))
	}
	if outcome == "drop" {
		res.Verdicts = append(res.Verdicts, here.with(Dropped, d.Drop+": "+d.Rule))
	}
	return outcome
}

// hostByName returns the configured host named name.
func (a *App) hostByName(name string) (topo.Host, bool) {
	if a.opts.Mesh == nil {
		return topo.Host{}, false
	}
	for _, h := range a.opts.Mesh.Hosts() {
		if h.Name == name {
			return h, true
		}
	}
	return topo.Host{}, false
}

// tunnelPort returns the port of dpid's tunnel towards peer, from its
// session's port list; 0 when it is not connected.
func (a *App) tunnelPort(dpid flows.DPID, peer string) flows.OFPort {
	sw := a.session(dpid)
	if sw == nil {
		return 0
	}
	return a.ports(sw).Tunnels[peer]
}

// packetDiff names the header fields that differ from a to b.
func packetDiff(a, b apps.Packet) []flows.FieldChange {
	var out []flows.FieldChange
	add := func(name string, x, y any) {
		if sx, sy := fmt.Sprint(x), fmt.Sprint(y); sx != sy {
			out = append(out, flows.FieldChange{Field: name, From: sx, To: sy})
		}
	}
	add("dl_src", a.EthSrc, b.EthSrc)
	add("dl_dst", a.EthDst, b.EthDst)
	add("nw_src", a.IPSrc, b.IPSrc)
	add("nw_dst", a.IPDst, b.IPDst)
	add("tp_src", a.SrcPort, b.SrcPort)
	add("tp_dst", a.DstPort, b.DstPort)
	add("arp_spa", a.ARPSPA, b.ARPSPA)
	add("arp_tpa", a.ARPTPA, b.ARPTPA)
	return out
}
