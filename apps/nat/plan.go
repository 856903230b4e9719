package nat

import (
	"net"
	"net/netip"

	"github.com/ovsmesh/ovsmesh/apps"
	"github.com/ovsmesh/ovsmesh/flows"
)

// planner builds the app's flows for one cookie generation and one set
// of settings. Its methods are pure.
type planner struct {
	gen uint16
	// next is the stage after nat: where overlay traffic goes on.
	next flows.TableID
	// zoneSNAT, zoneDNAT and zoneRedirect are the conntrack zones of
	// masquerade and hairpin SNAT, of forwards, and of redirects.
	zoneSNAT, zoneDNAT, zoneRedirect uint16
	routerIP                         netip.Addr
	routerMAC                        net.HardwareAddr
	extIP                            netip.Addr
	nextHop                          netip.Addr
	inside                           []netip.Prefix
	forwards                         []forwardRule
	redirects                        []redirectRule
}

// neighbor is an inside guest the gateway delivers to.
type neighbor struct {
	IP  netip.Addr
	MAC net.HardwareAddr
}

// hostView is what the planner needs to know of one mesh switch.
type hostView struct {
	// gateway is true on the gateway host.
	gateway bool
	// toGateway is the tunnel towards the gateway (other hosts); 0 when
	// there is none yet.
	toGateway flows.OFPort
	// ext and extMAC are the external port and its MAC (gateway); ext 0
	// when the port is missing.
	ext    flows.OFPort
	extMAC net.HardwareAddr
	// nextHopMAC is the next hop's MAC (gateway); nil while unresolved.
	nextHopMAC net.HardwareAddr
	// redirects are the redirects whose target lives on this host.
	redirects []redirectRule
	// neighbors are the inside guests the gateway knows (gateway).
	neighbors []neighbor
}

func (p planner) cookie(object uint32) flows.Cookie { return flows.NewCookie(p.gen, ID, object) }

// local matches packets from the host's own ports (not from a tunnel).
var local = flows.Match{MetadataMask: flows.MetaFromTunnel}

func (p planner) ct(zone uint16, table flows.TableID) flows.CT {
	return flows.CT{Zone: zone, Recirc: true, Table: table, NAT: &flows.NAT{Kind: flows.NATExisting}}
}

func (p planner) snat(table flows.TableID) flows.CT {
	return flows.CT{Commit: true, Zone: p.zoneSNAT, Recirc: true, Table: table, NAT: &flows.NAT{Kind: flows.NATSrc, AddrMin: p.extIP}}
}

func host32(ip netip.Addr) netip.Prefix { return netip.PrefixFrom(ip, 32) }

func ipMatch() flows.Match { return flows.Match{EthType: flows.EthTypeIPv4} }

func ctMatch(set, clear uint32) flows.Match {
	m := ipMatch()
	m.CTState, m.CTStateMask = flows.CTMatch(set|flows.CTTrk, clear)
	return m
}

// flows returns every flow the app wants on a mesh switch.
func (p planner) flows(h hostView) []flows.Flow {
	out := p.entry(h)
	if h.gateway {
		out = append(out, p.external(h)...)
		out = append(out, p.gatewayTables(h)...)
	}
	return out
}

// entry is table nat on every host (the router IP's ARP responder and
// redirects on their target's host) and table nat_router after it (the
// router MAC's traffic: to the gateway, or into its SNAT zone there).
func (p planner) entry(h hostView) []flows.Flow {
	c := p.cookie(fixedRouterARP)
	guard := local
	guard.EthType, guard.ARPSPA = flows.EthTypeARP, p.routerIP
	req := local
	req.EthType, req.ARPOp, req.ARPTPA = flows.EthTypeARP, 1, p.routerIP
	out := []flows.Flow{
		{Table: TableNAT, Priority: prioRouterGuard, Cookie: c, Match: guard},
		{Table: TableRouterARP, Priority: prioRouterARP, Cookie: c, Match: req, Actions: apps.ARPReplyActions(p.routerMAC, p.routerIP)},
		{Table: TableNAT, Priority: prioPass, Cookie: p.cookie(fixedRedirectPass), Goto: TableRouter},
		{Table: TableRedirect, Priority: prioDefault, Cookie: p.cookie(fixedRedirectPass), Match: ipMatch(), Goto: TableRouter},
		{Table: TableRouter, Priority: prioPass, Cookie: p.cookie(fixedRedirectPass), Goto: p.next},
	}
	icmpSeen := map[netip.Addr]bool{}
	for _, r := range h.redirects {
		if !icmpSeen[r.IP] {
			// ICMP errors the target sends about a redirected connection
			// are un-NATed too (conntrack finds them +rel).
			icmpSeen[r.IP] = true
			m := ipMatch()
			m.IPProto, m.IPv4Src = flows.IPProtoICMP, host32(r.IP)
			out = append(out, flows.Flow{Table: TableNAT, Priority: prioRedirect, Cookie: p.cookie(r.object()), Match: m,
				Actions: []flows.Action{p.ct(p.zoneRedirect, TableRedirect)}})
		}
		to := ipMatch()
		to.IPProto, to.IPv4Dst, to.TPDst = r.Proto, host32(r.IP), r.Port
		from := ipMatch()
		from.IPProto, from.IPv4Src, from.TPSrc = r.Proto, host32(r.IP), r.ToPort
		isNew := ctMatch(flows.CTNew, 0)
		isNew.IPProto, isNew.IPv4Dst, isNew.TPDst = r.Proto, host32(r.IP), r.Port
		c := p.cookie(r.object())
		out = append(out,
			flows.Flow{Table: TableNAT, Priority: prioRedirect, Cookie: c, Match: to, Actions: []flows.Action{p.ct(p.zoneRedirect, TableRedirect)}},
			flows.Flow{Table: TableNAT, Priority: prioRedirect, Cookie: c, Match: from, Actions: []flows.Action{p.ct(p.zoneRedirect, TableRedirect)}},
			flows.Flow{Table: TableRedirect, Priority: prioRule, Cookie: c, Match: isNew, Actions: []flows.Action{flows.CT{
				Commit: true, Zone: p.zoneRedirect, Recirc: true, Table: TableRouter,
				NAT: &flows.NAT{Kind: flows.NATDst, AddrMin: r.IP, PortMin: r.ToPort}}}},
		)
	}
	toRouter := flows.Match{EthDst: p.routerMAC}
	drop := flows.Flow{Table: TableRouter, Priority: prioRouterMACDrop, Cookie: p.cookie(fixedToGateway), Match: toRouter}
	if !h.gateway {
		m := local
		m.EthDst = p.routerMAC
		f := flows.Flow{Table: TableRouter, Priority: prioToRouter, Cookie: p.cookie(fixedToGateway), Match: m}
		if h.toGateway != 0 {
			f.Actions = []flows.Action{flows.Output{Port: h.toGateway}}
		}
		return append(out, f, drop)
	}
	reply := flows.Match{EthDst: p.routerMAC, EthType: flows.EthTypeARP, ARPOp: 2, ARPTPA: p.routerIP}
	out = append(out, flows.Flow{Table: TableNAT, Priority: prioResolveReply, Cookie: p.cookie(fixedRouterARP), Match: reply,
		Actions: []flows.Action{flows.ToController}})
	for _, in := range p.inside {
		m := ipMatch()
		m.EthDst, m.IPv4Src = p.routerMAC, in
		out = append(out, flows.Flow{Table: TableRouter, Priority: prioToRouter, Cookie: p.cookie(fixedGateway), Match: m,
			Actions: []flows.Action{p.ct(p.zoneSNAT, TableUnSNAT)}})
	}
	return append(out, drop)
}

// external is table nat_external on the gateway: ARP for the external
// IP answered, the next hop's ARP to the controller, IPv4 to the
// external IP into the SNAT zone, and nothing else.
func (p planner) external(h hostView) []flows.Flow {
	if h.ext == 0 || len(h.extMAC) != 6 {
		return nil
	}
	arp := flows.Match{InPort: h.ext, EthType: flows.EthTypeARP, ARPTPA: p.extIP}
	req, nhReq, nhRep := arp, arp, arp
	req.ARPOp = 1
	nhReq.ARPOp, nhReq.ARPSPA = 1, p.nextHop
	nhRep.ARPOp, nhRep.ARPSPA = 2, p.nextHop
	in := ipMatch()
	in.InPort, in.IPv4Dst = h.ext, host32(p.extIP)
	c := p.cookie(fixedExternalARP)
	return []flows.Flow{
		{Table: TableExternal, Priority: prioExtNextHopARP, Cookie: c, Match: nhReq,
			Actions: append([]flows.Action{flows.ToController}, apps.ARPReplyActions(h.extMAC, p.extIP)...)},
		{Table: TableExternal, Priority: prioExtNextHopARP, Cookie: c, Match: nhRep, Actions: []flows.Action{flows.ToController}},
		{Table: TableExternal, Priority: prioExtARP, Cookie: c, Match: req, Actions: apps.ARPReplyActions(h.extMAC, p.extIP)},
		{Table: TableExternal, Priority: prioExtIP, Cookie: p.cookie(fixedGateway), Match: in,
			Actions: []flows.Action{p.ct(p.zoneSNAT, TableUnSNAT)}},
		{Table: TableExternal, Priority: prioExtDrop, Cookie: p.cookie(fixedOutside), Match: flows.Match{InPort: h.ext}},
	}
}

// gatewayTables are the gateway's internal tables: after the SNAT zone,
// after the DNAT zone, the route, delivery to guests and the way out.
func (p planner) gatewayTables(h hostView) []flows.Flow {
	gw := p.cookie(fixedGateway)
	var out []flows.Flow
	// nat_unsnat: replies from outside and established masquerade go on
	// to the route; anything else meets the DNAT zone.
	if h.ext != 0 {
		est, rel := ctMatch(flows.CTEst, 0), ctMatch(flows.CTRel, 0)
		est.InPort, rel.InPort = h.ext, h.ext
		out = append(out,
			flows.Flow{Table: TableUnSNAT, Priority: prioEstablish, Cookie: gw, Match: est, Goto: TableRoute},
			flows.Flow{Table: TableUnSNAT, Priority: prioEstablish, Cookie: gw, Match: rel, Goto: TableRoute})
	}
	out = append(out,
		flows.Flow{Table: TableUnSNAT, Priority: prioEstablish2, Cookie: gw, Match: ctMatch(flows.CTEst, flows.CTRpl), Goto: TableRoute},
		flows.Flow{Table: TableUnSNAT, Priority: prioEstablish2, Cookie: gw, Match: ctMatch(flows.CTRel, 0), Goto: TableRoute},
		flows.Flow{Table: TableUnSNAT, Priority: prioDefault, Cookie: gw, Match: ipMatch(),
			Actions: []flows.Action{p.ct(p.zoneDNAT, TableDNAT)}},
	)
	// nat_dnat: invalid dropped; a forward commits a new connection;
	// anything else still addressed to the external IP is dropped.
	toExt := ipMatch()
	toExt.IPv4Dst = host32(p.extIP)
	out = append(out,
		flows.Flow{Table: TableDNAT, Priority: prioInvalid, Cookie: p.cookie(fixedInvalid), Match: ctMatch(flows.CTInv, 0)},
		flows.Flow{Table: TableDNAT, Priority: prioUnforward, Cookie: p.cookie(fixedUnforwarded), Match: toExt},
		flows.Flow{Table: TableDNAT, Priority: prioDefault, Cookie: gw, Match: ipMatch(), Goto: TableRoute},
	)
	for _, f := range p.forwards {
		m := ctMatch(flows.CTNew, 0)
		m.IPProto, m.IPv4Dst, m.TPDst = f.Proto, host32(p.extIP), f.Port
		out = append(out, flows.Flow{Table: TableDNAT, Priority: prioRule, Cookie: p.cookie(f.object()), Match: m,
			Actions: []flows.Action{flows.CT{Commit: true, Zone: p.zoneDNAT, Recirc: true, Table: TableRoute,
				NAT: &flows.NAT{Kind: flows.NATDst, AddrMin: f.To.Addr(), PortMin: f.To.Port()}}}})
	}
	// nat_route: inside to inside is hairpin (SNAT, then deliver); to
	// inside is delivered; from inside is masqueraded; the rest goes out.
	for _, src := range p.inside {
		for _, dst := range p.inside {
			m := ipMatch()
			m.IPv4Src, m.IPv4Dst = src, dst
			out = append(out, flows.Flow{Table: TableRoute, Priority: prioHairpin, Cookie: gw, Match: m,
				Actions: []flows.Action{p.snat(TableDeliver)}})
		}
		to, from := ipMatch(), ipMatch()
		to.IPv4Dst, from.IPv4Src = src, src
		out = append(out,
			flows.Flow{Table: TableRoute, Priority: prioToInside, Cookie: gw, Match: to, Goto: TableDeliver},
			flows.Flow{Table: TableRoute, Priority: prioMasquerade, Cookie: gw, Match: from, Actions: []flows.Action{p.snat(TableOut)}})
	}
	out = append(out, flows.Flow{Table: TableRoute, Priority: prioDefault, Cookie: gw, Match: ipMatch(), Goto: TableOut})
	// nat_deliver: one flow per known inside guest.
	for _, n := range h.neighbors {
		m := ipMatch()
		m.IPv4Dst = host32(n.IP)
		out = append(out, flows.Flow{Table: TableDeliver, Priority: prioDeliver, Cookie: p.cookie(deliverObject(n.IP)), Match: m,
			Actions: []flows.Action{flows.SetEthSrc(p.routerMAC), flows.SetEthDst(n.MAC), flows.DecNwTTL{},
				flows.ClearInPort(), flows.ClearMetadata(flows.MetaFromTunnel), flows.Resubmit{Table: TableNAT}}})
	}
	// nat_out: to the next hop, or dropped while it is unresolved.
	o := flows.Flow{Table: TableOut, Priority: prioDefault, Cookie: p.cookie(fixedOut), Match: ipMatch()}
	if h.ext != 0 && len(h.extMAC) == 6 && len(h.nextHopMAC) == 6 {
		o.Actions = []flows.Action{flows.SetEthSrc(h.extMAC), flows.SetEthDst(h.nextHopMAC), flows.DecNwTTL{}, flows.Output{Port: h.ext}}
	}
	return append(out, o)
}
