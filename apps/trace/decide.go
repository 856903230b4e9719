package trace

import (
	"fmt"
	"slices"

	"github.com/ovsmesh/ovsmesh/flows"
)

// outs is where a flow sends copies of a packet on one switch.
type outs struct {
	// local are guest-side ports (and LOCAL): never sent to by a probe.
	local []flows.OFPort
	// inPort is set when a local output was IN_PORT: an answer.
	inPort bool
	// tunnels are tunnel ports, with the peer each leads to.
	tunnels []tunnelOut
	// controller is set for an output to the controller.
	controller bool
	// flood is set when outputs came through a group.
	flood bool
	// unknown names outputs ovsmesh cannot follow.
	unknown []string
}

type tunnelOut struct {
	port flows.OFPort
	peer string
}

// maxGroupDepth bounds groups chained through group actions.
const maxGroupDepth = 4

// outputs resolves eff's outputs on h for a packet that entered by in:
// IN_PORT becomes in, a group becomes its buckets' outputs (read from
// the switch), and, as the switch does, an output to in by number is
// skipped (OpenFlow 1.3.5 §5.12 and OVS: only IN_PORT sends a packet
// back).
func (t *tracer) outputs(h *hostView, eff *flows.Effects, in flows.OFPort) outs {
	var o outs
	o.unknown = append(o.unknown, eff.Unknown...)
	var add func(ports []flows.OFPort, groups []flows.GroupID, depth int)
	add = func(ports []flows.OFPort, groups []flows.GroupID, depth int) {
		for _, p := range ports {
			switch p {
			case flows.PortInPort:
				if peer := h.peer(in); peer != "" {
					o.tunnels = append(o.tunnels, tunnelOut{in, peer})
				} else if !slices.Contains(o.local, in) {
					o.local, o.inPort = append(o.local, in), true
				}
				continue
			case flows.PortController:
				o.controller = true
				continue
			case flows.PortTable, flows.PortNormal, flows.PortFlood, flows.PortAll, flows.PortAny:
				o.unknown = append(o.unknown, "output:"+flows.PortString(p))
				continue
			case in:
				continue
			}
			if peer := h.peer(p); peer != "" {
				o.tunnels = append(o.tunnels, tunnelOut{p, peer})
			} else if !slices.Contains(o.local, p) {
				o.local = append(o.local, p)
			}
		}
		for _, id := range groups {
			g, ok, err := h.group(t.ctx, id)
			switch {
			case err != nil:
				o.unknown = append(o.unknown, fmt.Sprintf("group:%d (reading the groups failed: %v)", id, err))
				continue
			case !ok:
				continue // OVS drops a packet sent to a missing group
			case depth >= maxGroupDepth:
				o.unknown = append(o.unknown, fmt.Sprintf("group:%d (groups chained deeper than %d)", id, maxGroupDepth))
				continue
			}
			o.flood = true
			for _, b := range g.Buckets {
				be, err := flows.DecodeActions(b)
				if err != nil {
					o.unknown = append(o.unknown, fmt.Sprintf("group:%d bucket (%v)", id, err))
					continue
				}
				o.unknown = append(o.unknown, be.Unknown...)
				add(be.Outputs, be.Groups, depth+1)
			}
		}
	}
	add(eff.Outputs, eff.Groups, 0)
	return o
}

// decide goes on from p's stop at ev.table, where flow f with effects
// eff and outputs o decides, and returns the stop's hop.
//
// When the flow only goes on in the switch and sends copies through
// tunnels at most, the switch runs it for real: the packet is injected
// again with the stage marked as passed. Otherwise it is not run: its
// local outputs and a copy to the controller are reported as verdicts,
// its tunnel outputs are made by packet-outs from the controller, and
// when it also goes on, the packet is injected at the next table with
// the pipeline state the flow leaves (conntrack state excepted).
func (t *tracer) decide(p *path, ev stop, fields *flows.PacketFields, hop Hop, here Verdict, f *flows.FlowStats, eff *flows.Effects, o outs) Hop {
	h := p.host
	bit := t.a.bit[ev.table]
	by := fmt.Sprintf("flow priority %d cookie %s (%s)", f.Priority, f.Cookie, hop.App)
	// A copy must not cross into a host without trace flows: nothing
	// would stop it before its guests.
	var blind []string
	o.tunnels = slices.DeleteFunc(o.tunnels, func(tun tunnelOut) bool {
		if t.peerView(tun.peer) == nil {
			blind = append(blind, tun.peer)
			return true
		}
		return false
	})
	for _, peer := range blind {
		t.verdict(here.with(Lost, fmt.Sprintf("not sent through the tunnel to %s: %s has no trace flows (no OpenFlow session?), so nothing would keep the probe from its guests", peer, peer)))
	}
	// An ARP probe never crosses a tunnel for real (see TagECN).
	safe := len(blind) == 0 && len(o.local) == 0 && !o.controller && len(o.unknown) == 0 && !(t.arp && len(o.tunnels) > 0)
	switch {
	case safe && !eff.Forwards() && len(o.tunnels) == 0 && len(blind) == 0:
		hop.Outcome = "drop"
		t.verdict(here.with(Dropped, "by "+by))
		return hop
	case safe:
		hop.Outcome = "next"
		if len(o.tunnels) > 0 {
			hop.Outcome = "output"
		}
		t.cross(p, o.tunnels, false, false)
		p.mask |= bit
		t.replay(p)
		if !eff.Forwards() {
			p.waiting = false // only the tunnels' far ends are expected
		}
		return hop
	}
	hop.Outcome = "output"
	if len(o.local) > 0 {
		v := here.with(Delivered, "")
		switch {
		case o.inPort && len(o.local) == 1:
			v.Kind = Answered
		case o.flood || len(o.local) > 1:
			v.Kind = Flooded
		}
		for _, port := range o.local {
			v.Ports = append(v.Ports, h.portRef(port))
		}
		t.verdict(v)
	}
	if o.controller {
		if len(o.local) == 0 && len(o.tunnels) == 0 {
			hop.Outcome = "controller"
		}
		t.verdict(here.with(ToController, "by "+by))
	}
	if len(o.unknown) > 0 {
		t.verdict(here.with(Lost, fmt.Sprintf("%s does what the trace cannot follow: %v", by, o.unknown)))
	}
	if eff.Rewrites && (len(o.tunnels) > 0 || eff.Forwards()) {
		hop.Notes = append(hop.Notes, "the flow rewrites the packet, but the controller carries it on unchanged: later hops may differ from real traffic")
	}
	for _, tun := range o.tunnels {
		if err := t.sendThrough(h, tun, fields.InPort(), ev.data); err != nil {
			t.verdict(here.with(Lost, fmt.Sprintf("sending through the tunnel to %s failed: %v", tun.peer, err)))
			continue
		}
		t.cross(p, []tunnelOut{tun}, true, t.arp)
	}
	if next, ok := continuation(eff, ev.table); ok {
		if fields.CTState() != 0 {
			hop.Notes = append(hop.Notes, "conntrack state does not survive the controller carrying the packet on")
		}
		a := anchor{table: next, data: ev.data, restore: true,
			metadata: fields.Metadata()&^eff.WriteMetadataMask | eff.WriteMetadata&eff.WriteMetadataMask}
		for i := range a.regs {
			a.regs[i] = fields.Reg(uint8(i))
		}
		p.anchor = a
		p.mask |= bit
		t.replay(p)
	}
	return hop
}

// continuation returns where a flow sends the packet on in the switch:
// its goto-table, else its first resubmit (TableCurrent being table),
// else its first ct recirculation.
func continuation(eff *flows.Effects, table flows.TableID) (flows.TableID, bool) {
	switch {
	case eff.Goto != 0:
		return eff.Goto, true
	case len(eff.Resubmits) > 0:
		if eff.Resubmits[0] == flows.TableCurrent {
			return table, true
		}
		return eff.Resubmits[0], true
	case len(eff.Recirculates) > 0:
		return eff.Recirculates[0], true
	}
	return 0, false
}

// sendThrough has the controller send a copy of data, which entered h by
// in, through tunnel tun: a packet-out to the tunnel port; for an ARP
// probe, a packet-out at the peer's end of the tunnel, as if it had
// arrived there.
func (t *tracer) sendThrough(h *hostView, tun tunnelOut, in flows.OFPort, data []byte) error {
	if !t.arp {
		return h.sw.Send(t.ctx, flows.PacketOut{InPort: in, Actions: []flows.Action{flows.Output{Port: tun.port}}, Data: data})
	}
	peer := t.peerView(tun.peer)
	if peer == nil {
		return fmt.Errorf("%s has no trace flows", tun.peer)
	}
	port, ok := peer.ports.Tunnels[h.name]
	if !ok {
		return fmt.Errorf("%s has no tunnel port towards %s", tun.peer, h.name)
	}
	return peer.sw.Send(t.ctx, flows.PacketOut{InPort: port, Actions: []flows.Action{flows.SetReg{Reg: Reg}, flows.Resubmit{Table: 0}}, Data: data})
}

// cross records copies sent from p's switch through tunnels, expected at
// the peers within the step timeout.
func (t *tracer) cross(p *path, tuns []tunnelOut, byController, emulated bool) {
	until := t.a.opts.Clock.Now().Add(t.a.opts.Config.StepTimeout)
	for _, tun := range tuns {
		c := &crossing{Crossing: Crossing{From: p.host.name, To: tun.peer, Port: tun.port, PortName: p.host.names[tun.port],
			FromVisit: p.visit, ToVisit: -1, ByController: byController, Emulated: emulated}, from: p, until: until}
		if peer := t.peerView(tun.peer); peer != nil {
			c.dpid, c.ToPort = peer.sw.DPID(), peer.ports.Tunnels[p.host.name]
		}
		t.crossings = append(t.crossings, c)
	}
}

// peerView returns the probe's view of the host named name, nil when it
// has no trace flows.
func (t *tracer) peerView(name string) *hostView {
	for _, h := range t.hosts {
		if h.name == name {
			return h
		}
	}
	return nil
}
