package apps

import (
	"cmp"
	"fmt"
	"net"
	"net/netip"
	"slices"

	"github.com/ovsmesh/ovsmesh/flows"
)

// Explainer is implemented by apps that can say, from their own state
// alone, what their stages do with a packet on a host: the controller's
// expectation, which `ovsmesh trace --explain` prints and a probe is
// checked against (a difference is drift between the controller and a
// switch). Explain must not touch a switch; it reads the app's tables
// under its own lock.
type Explainer interface {
	// Explain says what stage, one of the app's own, does with pkt. ok
	// is false when the app cannot tell; the stage is then reported as
	// unexplained and taken to pass the packet on.
	Explain(stage string, pkt Packet) (d Decision, ok bool)
}

// Packet is a packet as an explanation follows it through one host: its
// headers as it enters a stage, and where it entered the host's switch.
// Fields that do not apply are zero.
type Packet struct {
	// Host is the configured host the packet is on, DPID its switch.
	Host string
	DPID flows.DPID
	// InPort is the port the packet entered the switch by: a guest's
	// port or a tunnel.
	InPort flows.OFPort
	// From is the peer host at the far end of InPort when it is a
	// tunnel, "" for a local port.
	From string
	// EthSrc, EthDst and EthType are the Ethernet header.
	EthSrc, EthDst net.HardwareAddr
	EthType        uint16
	// ARPOp, ARPSHA, ARPSPA, ARPTHA, ARPTPA are an ARP packet's fields
	// (EthType flows.EthTypeARP).
	ARPOp          uint16
	ARPSHA, ARPTHA net.HardwareAddr
	ARPSPA, ARPTPA netip.Addr
	// IPSrc, IPDst and IPProto are an IPv4 packet's (EthType
	// flows.EthTypeIPv4).
	IPSrc, IPDst netip.Addr
	IPProto      uint8
	// SrcPort and DstPort are the TCP or UDP ports, or the ICMP type and
	// code.
	SrcPort, DstPort uint16
}

// String renders the packet's headers briefly, for explanations:
// "02:..:01 > 02:..:02 icmp 10.0.0.1 > 10.0.0.2".
func (p Packet) String() string {
	s := fmt.Sprintf("%s > %s", p.EthSrc, p.EthDst)
	switch p.EthType {
	case flows.EthTypeARP:
		op := map[uint16]string{1: "who-has", 2: "is-at"}[p.ARPOp]
		if op == "" {
			op = fmt.Sprintf("op %d", p.ARPOp)
		}
		return s + fmt.Sprintf(" arp %s %s tell %s", op, p.ARPTPA, p.ARPSPA)
	case flows.EthTypeIPv4:
		proto := map[uint8]string{1: "icmp", 6: "tcp", 17: "udp"}[p.IPProto]
		if proto == "" {
			proto = fmt.Sprintf("ip proto %d", p.IPProto)
		}
		if p.IPProto == 6 || p.IPProto == 17 {
			return s + fmt.Sprintf(" %s %s:%d > %s:%d", proto, p.IPSrc, p.SrcPort, p.IPDst, p.DstPort)
		}
		return s + fmt.Sprintf(" %s %s > %s", proto, p.IPSrc, p.IPDst)
	}
	return s + fmt.Sprintf(" type 0x%04x", p.EthType)
}

// Decision is what an app expects one of its stages to do with a Packet.
// The packet goes on to Next; with Next empty it stops at this stage,
// after the Outputs (delivered, sent through tunnels, answered), after
// the controller takes it, or dropped for the Drop reason.
type Decision struct {
	// Rule says which of the app's rules applies, in its own words
	// ("learned MAC 02:00:00:00:00:02 at port 3").
	Rule string
	// App and Object are the cookie app byte and object of the flow the
	// app expects to match (flows.Cookie, generation left out):
	// flows.AppBaseline and the table number for a stage's table-miss.
	// App 0 says the app cannot name the flow.
	App    flows.AppID
	Object uint32
	// Next names the stage the packet goes on to (NextStage for the one
	// that follows); "" stops it here.
	Next string
	// Outputs are where copies of the packet leave the switch.
	Outputs []Output
	// Flood is set when Outputs flood the packet (an unknown or group
	// destination) rather than deliver it.
	Flood bool
	// Controller is set when the stage sends the packet, or a copy, to
	// the controller.
	Controller bool
	// Drop says why the packet stops here with no output; "" otherwise.
	Drop string
	// Rewrite, when not nil, is the packet as the stage changes it (NAT):
	// what later stages and hosts see.
	Rewrite *Packet
}

// Output is one copy of a packet leaving a switch.
type Output struct {
	// Port is the switch port: a local port, or a tunnel.
	Port flows.OFPort
	// Tunnel is the peer host when Port is a tunnel towards it, "" for
	// a local port.
	Tunnel string
}

// MatchesPacket reports whether m matches pkt on the fields an
// explanation knows: in_port, the Ethernet, ARP and IPv4 headers, TCP and
// UDP ports, and the from-tunnel metadata bit (flows.MetaFromTunnel, set
// for a packet that came through a tunnel). known is false when m also
// matches on something an explanation cannot know (conntrack state,
// other metadata, extra OXMs): match is then meaningless.
func MatchesPacket(m flows.Match, pkt Packet) (match, known bool) {
	if m.CTStateMask != 0 || len(m.Extra) > 0 || m.MetadataMask&^flows.MetaFromTunnel != 0 {
		return false, false
	}
	eqMAC := func(want, got net.HardwareAddr) bool { return len(want) == 0 || string(want) == string(got) }
	eqAddr := func(want, got netip.Addr) bool { return !want.IsValid() || want == got }
	inPrefix := func(want netip.Prefix, got netip.Addr) bool {
		return !want.IsValid() || got.IsValid() && want.Contains(got)
	}
	fromTunnel := uint64(0)
	if pkt.From != "" {
		fromTunnel = flows.MetaFromTunnel
	}
	switch {
	case m.InPort != 0 && m.InPort != pkt.InPort,
		m.MetadataMask != 0 && (fromTunnel^m.Metadata)&m.MetadataMask != 0,
		!eqMAC(m.EthSrc, pkt.EthSrc), !eqMAC(m.EthDst, pkt.EthDst),
		m.EthType != 0 && m.EthType != pkt.EthType:
		return false, true
	}
	if pkt.EthType == flows.EthTypeARP {
		return (m.ARPOp == 0 || m.ARPOp == pkt.ARPOp) && eqAddr(m.ARPSPA, pkt.ARPSPA) && eqAddr(m.ARPTPA, pkt.ARPTPA) &&
			eqMAC(m.ARPSHA, pkt.ARPSHA), true
	}
	return inPrefix(m.IPv4Src, pkt.IPSrc) && inPrefix(m.IPv4Dst, pkt.IPDst) && (m.IPProto == 0 || m.IPProto == pkt.IPProto) &&
		(m.TPSrc == 0 || m.TPSrc == pkt.SrcPort) && (m.TPDst == 0 || m.TPDst == pkt.DstPort), true
}

// FirstMatch returns the flow of table t among fs that a switch would
// match pkt with: the highest-priority one whose match holds (the first
// in fs among equal priorities). found is false when none does (the
// table-miss entry then applies); known is false when a flow that
// would be tried first matches on what an explanation cannot know.
func FirstMatch(fs []flows.Flow, t flows.TableID, pkt Packet) (f flows.Flow, found, known bool) {
	var in []flows.Flow
	for _, c := range fs {
		if c.Table == t {
			in = append(in, c)
		}
	}
	slices.SortStableFunc(in, func(a, b flows.Flow) int { return cmp.Compare(b.Priority, a.Priority) })
	for _, c := range in {
		match, ok := MatchesPacket(c.Match, pkt)
		switch {
		case !ok:
			return flows.Flow{}, false, false
		case match:
			return c, true, true
		}
	}
	return flows.Flow{}, false, true
}
