package portsec

import (
	"net/netip"
	"slices"

	"github.com/ovsmesh/ovsmesh/flows"
)

// Cookie objects (the low 32 bits of a flow's cookie) of the app's
// flows: the top byte is the flow's kind, the low 24 bits the declared
// port's id (entry.id), so the counters of a port's flows add up by
// kind, whatever switch they sit on.
const (
	kindPass  uint32 = 0 // tunnels and app ports go on (id 0)
	kindAllow uint32 = 1 // a declared port's ARP or IPv4 went on
	kindDHCP  uint32 = 2 // a declared port's DHCP discovery went on
	kindMAC   uint32 = 3 // dropped: another source MAC on the port
	kindARP   uint32 = 4 // dropped: ARP with another sender MAC or IP
	kindIP    uint32 = 5 // dropped: IPv4 from another address
	kindOther uint32 = 6 // dropped: another EtherType from a port that declares addresses
	kindClaim uint32 = 7 // dropped elsewhere: another port sent the port's MAC or claimed its address
	idMask    uint32 = 0xffffff
)

// reasons name the kinds in the API and the metrics.
var reasons = [...]string{
	kindPass: "pass", kindAllow: "allowed", kindDHCP: "dhcp", kindMAC: "mac", kindARP: "arp",
	kindIP: "ip", kindOther: "other", kindClaim: "claim",
}

// dropKinds are the kinds whose flows drop.
var dropKinds = []uint32{kindMAC, kindARP, kindIP, kindOther, kindClaim}

func objectOf(kind, id uint32) uint32 { return kind<<24 | id&idMask }

// planner builds the app's flows for one cookie generation. Its methods
// are pure.
type planner struct {
	gen uint16
	// next is the stage after port_security.
	next flows.TableID
}

// switchView is what one mesh switch's flows depend on.
type switchView struct {
	// host is the switch's configured host.
	host string
	// ports are the switch's ports by name, up or not.
	ports map[string]flows.OFPort
	// pass are its tunnel and app-owned ports.
	pass []flows.OFPort
}

var (
	zeroIP    = netip.AddrFrom4([4]byte{})
	dhcpSrc   = netip.PrefixFrom(zeroIP, 32)
	dhcpDst   = netip.PrefixFrom(netip.AddrFrom4([4]byte{255, 255, 255, 255}), 32)
	dhcpCPort = uint16(68) // RFC 2131 §4.1: the client's port
	dhcpSPort = uint16(67)
)

// flows returns every flow the switch of v should hold in the
// port_security stage, for the ports in force in r: each declared port
// of the switch's host that is on the switch gets its checks (portFlows);
// every declared MAC and held address gets a guard, after pass flows
// for the switch's tunnels and app ports.
func (p planner) flows(v switchView, r resolution) []flows.Flow {
	var out []flows.Flow
	guardMACs := map[string]bool{}
	guardIPs := map[netip.Addr]bool{}
	for _, e := range r.sorted() {
		if !e.active {
			continue
		}
		if e.Host == v.host {
			if port, ok := v.ports[e.Port]; ok {
				out = append(out, p.portFlows(e, port)...)
			}
		}
		if !guardMACs[string(e.MAC)] {
			guardMACs[string(e.MAC)] = true
			out = append(out, p.flow(PrioGuard, kindClaim, e.id, flows.Match{EthSrc: e.MAC}, false))
		}
		for _, ip := range e.ips {
			if !guardIPs[ip] {
				guardIPs[ip] = true
				out = append(out, p.flow(PrioGuard, kindClaim, e.id, flows.Match{EthType: flows.EthTypeARP, ARPSPA: ip}, false))
			}
		}
	}
	if len(guardMACs) > 0 {
		pass := slices.Clone(v.pass)
		slices.Sort(pass)
		for _, port := range pass {
			out = append(out, p.flow(PrioPass, kindPass, 0, flows.Match{InPort: port}, true))
		}
	}
	return out
}

// portFlows are the checks of e's port, OFPort port, on its own switch.
func (p planner) portFlows(e *entry, port flows.OFPort) []flows.Flow {
	own := flows.Match{InPort: port, EthSrc: e.MAC}
	arp := own
	arp.EthType, arp.ARPSHA = flows.EthTypeARP, e.MAC
	ip := own
	ip.EthType = flows.EthTypeIPv4
	anyARP := own
	anyARP.EthType = flows.EthTypeARP
	out := []flows.Flow{
		p.flow(PrioDropL3, kindARP, e.id, anyARP, false),
		p.flow(PrioDropMAC, kindMAC, e.id, flows.Match{InPort: port}, false),
	}
	if !e.withIPs() {
		// The MAC only: ARP must name it as the sender, anything else
		// from it goes on.
		return append(out,
			p.flow(PrioAllow, kindAllow, e.id, arp, true),
			p.flow(PrioL2, kindAllow, e.id, own, true))
	}
	for _, a := range e.ips {
		m := arp
		m.ARPSPA = a
		out = append(out, p.flow(PrioAllow, kindAllow, e.id, m, true))
		m = ip
		m.IPv4Src = netip.PrefixFrom(a, 32)
		out = append(out, p.flow(PrioAllow, kindAllow, e.id, m, true))
	}
	probe := arp
	probe.ARPOp, probe.ARPSPA = 1, zeroIP
	dhcp := ip
	dhcp.IPProto, dhcp.IPv4Src, dhcp.IPv4Dst, dhcp.TPSrc, dhcp.TPDst = flows.IPProtoUDP, dhcpSrc, dhcpDst, dhcpCPort, dhcpSPort
	return append(out,
		p.flow(PrioAllow, kindAllow, e.id, probe, true),
		p.flow(PrioAllow, kindDHCP, e.id, dhcp, true),
		p.flow(PrioDropL3, kindIP, e.id, ip, false),
		p.flow(PrioL2, kindOther, e.id, own, false))
}

// flow is one port_security flow: on to the next stage when pass, else
// a drop (no instructions).
func (p planner) flow(prio uint16, kind, id uint32, m flows.Match, pass bool) flows.Flow {
	f := flows.Flow{Table: TablePortSecurity, Priority: prio, Cookie: flows.NewCookie(p.gen, ID, objectOf(kind, id)), Match: m}
	if pass {
		f.Goto = p.next
	}
	return f
}
