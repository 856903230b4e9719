package nat

import (
	"bytes"
	"fmt"

	"github.com/ovsmesh/ovsmesh/apps"
	"github.com/ovsmesh/ovsmesh/flows"
)

// Explain implements apps.Explainer: what the NAT stages do with pkt on
// its host, from the app's settings, rules and view of the switch, the
// same inputs its flows are planned from. It explains the paths that do
// not depend on conntrack state: the router's and the external IP's ARP,
// a guest's packet to the router MAC (through the tunnel to the gateway,
// or masqueraded there and sent out of the external port), and the
// overlay's packets passing on. It cannot tell (ok false, the trace then
// follows the switch) for what conntrack decides: packets from outside
// to the external IP, hairpin, and redirected connections.
func (a *App) Explain(stage string, pkt apps.Packet) (d apps.Decision, ok bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.switches.Get(pkt.DPID)
	if c == nil || c.State.ports.Host == "" {
		return apps.Decision{}, false
	}
	p := a.planner()
	h := a.view(p, c.State)
	switch stage {
	case "nat_external":
		return a.explainExternal(p, h, pkt)
	case "nat":
		return a.explainEntry(p, h, pkt)
	case "nat_router":
		return a.explainRouter(p, h, pkt)
	case "nat_out":
		return explainOut(h, pkt), true
	case "nat_router_arp":
		return explainRouterARP(p, pkt), true
	}
	return apps.Decision{}, false
}

// passOn is a stage's table-miss: the packet goes on to the next stage.
func passOn(t flows.TableID, rule string) apps.Decision {
	return apps.Decision{Rule: rule, App: flows.AppBaseline, Object: uint32(t), Next: apps.NextStage}
}

// explainExternal follows table nat_external: only the gateway's
// external port has flows there.
func (a *App) explainExternal(p planner, h hostView, pkt apps.Packet) (apps.Decision, bool) {
	if !h.gateway || h.ext == 0 || len(h.extMAC) != 6 || pkt.InPort != h.ext {
		return passOn(TableExternal, "not from the external port: table-miss, passed on"), true
	}
	d := apps.Decision{App: ID, Object: fixedExternalARP}
	switch {
	case pkt.EthType == flows.EthTypeARP && pkt.ARPTPA == p.extIP && pkt.ARPOp == 1 && pkt.ARPSPA == p.nextHop:
		d.Rule = fmt.Sprintf("the next hop %s asks for the external IP %s: answered with %s, its MAC copied to the controller", p.nextHop, p.extIP, h.extMAC)
		d.Outputs, d.Controller = []apps.Output{{Port: pkt.InPort}}, true
	case pkt.EthType == flows.EthTypeARP && pkt.ARPTPA == p.extIP && pkt.ARPOp == 2 && pkt.ARPSPA == p.nextHop:
		d.Rule = fmt.Sprintf("the next hop %s answers the router: to the controller", p.nextHop)
		d.Controller = true
	case pkt.EthType == flows.EthTypeARP && pkt.ARPTPA == p.extIP && pkt.ARPOp == 1:
		d.Rule = fmt.Sprintf("who-has the external IP %s: answered with %s", p.extIP, h.extMAC)
		d.Outputs = []apps.Output{{Port: pkt.InPort}}
	case pkt.EthType == flows.EthTypeIPv4 && pkt.IPDst == p.extIP:
		return apps.Decision{}, false // conntrack tells a reply from a forward
	default:
		d.Rule, d.Object, d.Drop = "from outside, not for the external IP", fixedOutside, "outside traffic that matches nothing"
	}
	return d, true
}

// explainEntry follows table nat: the router IP's ARP guard and, on the
// gateway, the guests' answers to the router's requests; redirected
// traffic is conntrack's to decide; the rest goes on to nat_router.
func (a *App) explainEntry(p planner, h hostView, pkt apps.Packet) (apps.Decision, bool) {
	arp := pkt.EthType == flows.EthTypeARP
	switch {
	case arp && pkt.From == "" && pkt.ARPSPA == p.routerIP:
		return apps.Decision{Rule: fmt.Sprintf("a guest's ARP claiming the router IP %s", p.routerIP), App: ID, Object: fixedRouterARP,
			Drop: "the router IP is the controller's"}, true
	case pkt.EthType == flows.EthTypeIPv4 && redirected(h.redirects, pkt):
		return apps.Decision{}, false // into the redirect zone: conntrack decides
	case h.gateway && arp && pkt.ARPOp == 2 && pkt.ARPTPA == p.routerIP && bytes.Equal(pkt.EthDst, p.routerMAC):
		return apps.Decision{Rule: fmt.Sprintf("an answer to the router's ARP request from %s: to the controller", pkt.ARPSPA),
			App: ID, Object: fixedRouterARP, Controller: true}, true
	}
	return apps.Decision{Rule: "no redirect applies: on to nat_router", App: ID, Object: fixedRedirectPass, Next: "nat_router"}, true
}

// redirected reports whether pkt is a redirect's traffic on its target's
// host: to IP:port, from IP:to_port, or an ICMP error from IP.
func redirected(rs []redirectRule, pkt apps.Packet) bool {
	for _, r := range rs {
		switch {
		case pkt.IPProto == flows.IPProtoICMP && pkt.IPSrc == r.IP,
			pkt.IPProto == r.Proto && pkt.IPDst == r.IP && pkt.DstPort == r.Port,
			pkt.IPProto == r.Proto && pkt.IPSrc == r.IP && pkt.SrcPort == r.ToPort:
			return true
		}
	}
	return false
}

// explainRouter follows table nat_router: the router MAC's traffic goes
// through the tunnel to the gateway, and on the gateway a guest's
// packet to the outside is masqueraded; everything else goes on.
func (a *App) explainRouter(p planner, h hostView, pkt apps.Packet) (apps.Decision, bool) {
	if !bytes.Equal(pkt.EthDst, p.routerMAC) {
		return apps.Decision{Rule: "not to the router MAC: on to the overlay", App: ID, Object: fixedRedirectPass, Next: apps.NextStage}, true
	}
	drop := apps.Decision{App: ID, Object: fixedToGateway}
	if !h.gateway {
		switch {
		case pkt.From != "":
			drop.Rule, drop.Drop = "to the router MAC from a tunnel, off the gateway", "only the gateway routes"
		case h.toGateway == 0:
			drop.Rule, drop.Drop = fmt.Sprintf("to the router MAC, but no tunnel to the gateway %s yet", a.cfg.Gateway), "no way to the gateway"
		default:
			return apps.Decision{Rule: fmt.Sprintf("to the router MAC: through the tunnel to the gateway %s", a.cfg.Gateway),
				App: ID, Object: fixedToGateway, Outputs: []apps.Output{{Port: h.toGateway, Tunnel: a.cfg.Gateway}}}, true
		}
		return drop, true
	}
	if pkt.EthType != flows.EthTypeIPv4 || !a.cfg.inside(pkt.IPSrc) {
		drop.Rule, drop.Drop = "to the router MAC, not IPv4 from an inside address", "the router routes only its inside networks"
		return drop, true
	}
	if a.cfg.inside(pkt.IPDst) || pkt.IPDst == p.extIP {
		return apps.Decision{}, false // hairpin: conntrack and the forwards decide
	}
	out := pkt
	out.IPSrc = p.extIP
	return apps.Decision{Rule: fmt.Sprintf("from inside %s to the outside %s: masqueraded as %s (conntrack zone %d), to nat_out",
		pkt.IPSrc, pkt.IPDst, p.extIP, p.zoneSNAT), App: ID, Object: fixedGateway, Next: "nat_out", Rewrite: &out}, true
}

// explainOut follows table nat_out: to the next hop out of the external
// port, or dropped while its MAC is unresolved.
func explainOut(h hostView, pkt apps.Packet) apps.Decision {
	d := apps.Decision{App: ID, Object: fixedOut}
	if !h.gateway || h.ext == 0 || len(h.extMAC) != 6 || len(h.nextHopMAC) != 6 {
		d.Rule, d.Drop = "the external port or the next hop's MAC is not known yet", "no way out"
		return d
	}
	out := pkt
	out.EthSrc, out.EthDst = h.extMAC, h.nextHopMAC
	d.Rule = fmt.Sprintf("to the next hop %s out of the external port %d", h.nextHopMAC, h.ext)
	d.Outputs, d.Rewrite = []apps.Output{{Port: h.ext}}, &out
	return d
}

// explainRouterARP follows table nat_router_arp: a guest's request for
// the router IP is answered on its own host.
func explainRouterARP(p planner, pkt apps.Packet) apps.Decision {
	if pkt.EthType == flows.EthTypeARP && pkt.ARPOp == 1 && pkt.From == "" && pkt.ARPTPA == p.routerIP {
		return apps.Decision{Rule: fmt.Sprintf("who-has the router IP %s: answered with the router MAC %s", p.routerIP, p.routerMAC),
			App: ID, Object: fixedRouterARP, Outputs: []apps.Output{{Port: pkt.InPort}}}
	}
	return passOn(TableRouterARP, "not a request for the router IP: table-miss, passed on")
}
