package proxyarp

import (
	"fmt"
	"net/netip"

	"github.com/ovsmesh/ovsmesh/apps"
	"github.com/ovsmesh/ovsmesh/flows"
)

// Explain implements apps.Explainer: what the arp and arp_responder
// stages do with pkt, from the ARP table. On a switch that is not a mesh
// host (no proxy ARP flows) both stages pass packets on.
func (a *App) Explain(stage string, pkt apps.Packet) (apps.Decision, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.switches.Get(pkt.DPID)
	var table flows.TableID
	switch stage {
	case "arp":
		table = TableARP
	case "arp_responder":
		table = TableARPResponder
	default:
		return apps.Decision{}, false
	}
	pass := apps.Decision{Rule: "not handled here: table-miss, passed on", App: flows.AppBaseline, Object: uint32(table), Next: apps.NextStage}
	switch {
	case c == nil:
		return pass, true
	case stage == "arp":
		return a.explainARP(c.State, pkt, pass), true
	}
	return a.explainResponder(c.State, pkt, pass), true
}

// explainARP follows the arp stage's flows in priority order (the hold
// flows of refused claims, which the app does not keep, aside).
func (a *App) explainARP(s *swState, pkt apps.Packet, pass apps.Decision) apps.Decision {
	if pkt.From != "" {
		return apps.Decision{Rule: "from a tunnel: answered or learned at its own host, on to l2", App: ID, Next: "l2"}
	}
	if pkt.EthType != flows.EthTypeARP {
		pass.Rule = "not ARP: table-miss, passed on"
		return pass
	}
	if p := a.pending[pkt.ARPSPA]; p != nil && p.old.DPID == s.DPID && p.old.OFPort == pkt.InPort && string(p.old.MAC) == string(pkt.EthSrc) {
		return apps.Decision{Rule: fmt.Sprintf("the owner of %s is watched while another MAC claims it: to the controller", pkt.ARPSPA),
			App: ID, Object: ipObject(pkt.ARPSPA), Controller: true}
	}
	b, bound := a.table.Get(pkt.ARPSPA)
	switch {
	case bound && located(b, s.DPID) && b.OFPort == pkt.InPort && string(b.MAC) == string(pkt.EthSrc) && string(b.MAC) == string(pkt.ARPSHA):
		return apps.Decision{Rule: fmt.Sprintf("known sender %s is-at %s at port %d", pkt.ARPSPA, b.MAC, b.OFPort),
			App: ID, Object: ipObject(pkt.ARPSPA), Next: "arp_responder"}
	case bound:
		return apps.Decision{Rule: fmt.Sprintf("%s is bound to %s: a claim from another sender goes to the controller only", pkt.ARPSPA, b.MAC),
			App: ID, Object: ipObject(pkt.ARPSPA), Controller: true}
	case pkt.ARPSPA == netip.AddrFrom4([4]byte{}) && pkt.ARPOp == 1:
		return apps.Decision{Rule: "ARP probe (sender 0.0.0.0): answered, never learned", App: ID, Next: "arp_responder"}
	case pkt.ARPSPA == netip.AddrFrom4([4]byte{}) || !pkt.ARPSPA.IsValid():
		return apps.Decision{Rule: "sender 0.0.0.0 and not a request", App: ID, Drop: "malformed ARP"}
	case pkt.ARPOp == 1 || pkt.ARPOp == 2:
		return apps.Decision{Rule: fmt.Sprintf("new sender %s: copied to the controller, goes on", pkt.ARPSPA),
			App: ID, Controller: true, Next: "arp_responder"}
	}
	return apps.Decision{Rule: fmt.Sprintf("ARP opcode %d", pkt.ARPOp), App: ID, Drop: "neither request nor reply"}
}

// explainResponder follows the responder flows: a request for a bound
// IP is answered out of the port it came in on, unless the target sits
// behind that port.
func (a *App) explainResponder(s *swState, pkt apps.Packet, pass apps.Decision) apps.Decision {
	if pkt.EthType != flows.EthTypeARP || pkt.ARPOp != 1 {
		pass.Rule = "not an ARP request: table-miss, passed on"
		return pass
	}
	b, bound := a.table.Get(pkt.ARPTPA)
	switch {
	case !bound:
		pass.Rule = fmt.Sprintf("%s has no binding: table-miss, passed on (flooded by l2)", pkt.ARPTPA)
		return pass
	case located(b, s.DPID) && b.OFPort == pkt.InPort:
		return apps.Decision{Rule: fmt.Sprintf("%s sits behind the asker's own port %d", pkt.ARPTPA, pkt.InPort),
			App: ID, Object: ipObject(pkt.ARPTPA), Drop: "the target answers itself"}
	}
	return apps.Decision{Rule: fmt.Sprintf("answered in the datapath: %s is-at %s, out of the asker's port %d", pkt.ARPTPA, b.MAC, pkt.InPort),
		App: ID, Object: ipObject(pkt.ARPTPA), Outputs: []apps.Output{{Port: pkt.InPort, Tunnel: pkt.From}}}
}
