package trace

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/ovsmesh/ovsmesh/apps"
	"github.com/ovsmesh/ovsmesh/flows"
)

// The probe's tag. It must let the temporary flows tell the probe from
// guest traffic on every host, so it lives in the packet itself (the
// pipeline's registers, metadata and pkt_mark stay on the host; the
// tunnel key is the mesh's one VNI), in a field the mesh's flows never
// rewrite and no guest stack sets:
//
//   - IPv4 probes carry DSCP 47 (0b101111). DSCPs of the form xxxx11
//     are RFC 2474 §6 pool 2, "for experimental or local use": never
//     assigned to a standard per-hop behaviour (the standard ones, CS,
//     AF, EF and RFC 8622's LE, are in pools 1 and 3), so guests do not
//     mark packets with it. The inner IPv4 header crosses VXLAN and GRE
//     unchanged, and conntrack NAT rewrites addresses and ports, not
//     the TOS byte. Their ECN field is ECT(1) (TagECN), for the far end
//     of a tunnel: see TagECN.
//   - ARP probes carry TagMAC as the target hardware address. A request
//     from a guest carries zeros there (Linux) or the broadcast address,
//     a reply the asker's MAC; TagMAC is in the 0a:55:00:00 block the
//     controller keeps for itself (flows.ProbeMAC is 0a:55:00:00:00:01),
//     never a guest's.
//
// Even so the tag alone would catch a guest's packet carrying it, so
// the flows also live only while a probe runs (hard timeout
// apps.trace.flow_timeout), and such a packet is counted as stray
// (ovsmesh_trace_packet_ins_total{kind="stray"}): a stop must also be
// the probe's own packet (an IPv4 probe's IP identification is its
// number).
const TagDSCP uint8 = 47

// TagECN is the ECN field of an IPv4 probe: ECT(1) (RFC 3168). A host's
// datapath forwards a packet by a cached datapath flow when one covers
// it, and a datapath flow cached before the trace flows existed does
// not look at the DSCP: until OVS revalidates it (asynchronously, late
// when the CPU is busy), it would forward the probe to a guest. OVS
// copies the inner ECN field into a tunnel's outer header and matches
// the outer TOS exactly at the receiving end (ofproto/tunnel.c
// tnl_wc_init), so a probe arriving with ECT(1) misses every datapath
// flow cached for the usual not-ECT and ECT(0) traffic and is looked up
// in the flow tables as they are now. Only a guest's own ECT(1)
// traffic (L4S) to the same destination within the datapath's idle
// time could still be cached for it. ARP has no such field: an ARP
// probe's tunnel crossings are emulated (Crossing.Emulated).
const TagECN uint8 = 1

// TagMAC is an ARP probe's target hardware address; see TagDSCP.
var TagMAC = net.HardwareAddr{0x0a, 0x55, 0x00, 0x00, 0x7a, 0xce}

// tagMatch returns the match of tagged packets of an IPv4 (arp false)
// or ARP probe, in a stage whose bit is bit: the bit must be clear.
func tagMatch(arp bool, bit uint32) flows.Match {
	reg := flows.MatchRegBits(Reg, 0, bit)
	if arp {
		return flows.Match{EthType: flows.EthTypeARP, Extra: []flows.OXM{flows.MatchARPTHA(TagMAC), reg}}
	}
	return flows.Match{EthType: flows.EthTypeIPv4, Extra: []flows.OXM{flows.MatchIPDSCP(TagDSCP), reg}}
}

// tagged reports whether a packet carries the tag of an IPv4 (arp
// false) or ARP probe.
func tagged(f *flows.PacketFields, arp bool) bool {
	ok, err := f.Matches(tagTLVs[arp])
	return ok && err == nil
}

// tagTLVs are the OXM TLVs of the tag: eth_type and ip_dscp, or eth_type
// and arp_tha.
var tagTLVs = map[bool][]byte{
	false: {0x80, 0x00, 0x0a, 2, 0x08, 0x00, 0x80, 0x00, 0x10, 1, TagDSCP},
	true:  append([]byte{0x80, 0x00, 0x0a, 2, 0x08, 0x06, 0x80, 0x00, 0x32, 6}, TagMAC...),
}

// tagString describes the tag of a probe of proto.
func tagString(proto string) string {
	if proto == "arp" {
		return "arp_tha=" + TagMAC.String()
	}
	return fmt.Sprintf("ip_dscp=%d (nw_tos=%d), nw_ecn=%d", TagDSCP, TagDSCP<<2, TagECN)
}

// probe is what a trace sends: from Src's addresses to Dst's.
type probe struct {
	proto            string
	srcMAC, dstMAC   net.HardwareAddr
	srcIP, dstIP     netip.Addr
	srcPort, dstPort uint16
	id               uint16
}

// frame builds the tagged frame: an ICMP echo request, a TCP SYN, a UDP
// datagram or an ARP request (broadcast, asking for dstIP).
func (p probe) frame() ([]byte, error) {
	if p.proto == "arp" {
		bcast := net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
		return apps.ARPFrame(p.srcMAC, bcast, layers.ARPRequest, p.srcMAC, p.srcIP, TagMAC, p.dstIP)
	}
	eth := &layers.Ethernet{SrcMAC: p.srcMAC, DstMAC: p.dstMAC, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, IHL: 5, TOS: TagDSCP<<2 | TagECN, TTL: 64, Id: p.id, Flags: layers.IPv4DontFragment,
		SrcIP: p.srcIP.AsSlice(), DstIP: p.dstIP.AsSlice()}
	payload := gopacket.Payload("ovsmesh trace")
	var l4 gopacket.SerializableLayer
	switch p.proto {
	case "icmp":
		ip.Protocol = layers.IPProtocolICMPv4
		l4 = &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoRequest, 0), Id: 0x6f6d, Seq: p.id}
	case "tcp":
		ip.Protocol = layers.IPProtocolTCP
		tcp := &layers.TCP{SrcPort: layers.TCPPort(p.srcPort), DstPort: layers.TCPPort(p.dstPort), SYN: true, Seq: uint32(p.id), Window: 64240}
		if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
			return nil, err
		}
		l4, payload = tcp, nil
	case "udp":
		ip.Protocol = layers.IPProtocolUDP
		udp := &layers.UDP{SrcPort: layers.UDPPort(p.srcPort), DstPort: layers.UDPPort(p.dstPort)}
		if err := udp.SetNetworkLayerForChecksum(ip); err != nil {
			return nil, err
		}
		l4 = udp
	default:
		return nil, fmt.Errorf("proto %q: want icmp, tcp, udp or arp", p.proto)
	}
	buf := gopacket.NewSerializeBuffer()
	ls := []gopacket.SerializableLayer{eth, ip, l4}
	if payload != nil {
		ls = append(ls, payload)
	}
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ipID returns the IPv4 identification of an Ethernet frame (one
// 802.1Q tag allowed); 0 when it is not IPv4.
func ipID(frame []byte) uint16 {
	at := 12
	if len(frame) >= 16 && frame[12] == 0x81 && frame[13] == 0x00 {
		at = 16
	}
	if len(frame) < at+2+6 || frame[at] != 0x08 || frame[at+1] != 0x00 {
		return 0
	}
	return uint16(frame[at+6])<<8 | uint16(frame[at+7])
}

// packetOf decodes frame into the fields an explanation follows, at dpid
// on host, entered by inPort (from the peer from, "" for a local port).
func packetOf(frame []byte, host string, dpid flows.DPID, inPort flows.OFPort, from string) apps.Packet {
	p := apps.Packet{Host: host, DPID: dpid, InPort: inPort, From: from}
	pkt := gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.NoCopy)
	if eth, ok := pkt.Layer(layers.LayerTypeEthernet).(*layers.Ethernet); ok {
		p.EthSrc, p.EthDst, p.EthType = eth.SrcMAC, eth.DstMAC, uint16(eth.EthernetType)
	}
	if arp, ok := pkt.Layer(layers.LayerTypeARP).(*layers.ARP); ok && len(arp.SourceProtAddress) == 4 && len(arp.DstProtAddress) == 4 {
		p.ARPOp = arp.Operation
		p.ARPSHA, p.ARPTHA = arp.SourceHwAddress, arp.DstHwAddress
		p.ARPSPA, p.ARPTPA = netip.AddrFrom4([4]byte(arp.SourceProtAddress)), netip.AddrFrom4([4]byte(arp.DstProtAddress))
	}
	if ip, ok := pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok {
		p.IPSrc, _ = netip.AddrFromSlice(ip.SrcIP.To4())
		p.IPDst, _ = netip.AddrFromSlice(ip.DstIP.To4())
		p.IPProto = uint8(ip.Protocol)
	}
	switch l := pkt.TransportLayer().(type) {
	case *layers.TCP:
		p.SrcPort, p.DstPort = uint16(l.SrcPort), uint16(l.DstPort)
	case *layers.UDP:
		p.SrcPort, p.DstPort = uint16(l.SrcPort), uint16(l.DstPort)
	}
	if icmp, ok := pkt.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4); ok {
		p.SrcPort, p.DstPort = uint16(icmp.TypeCode.Type()), uint16(icmp.TypeCode.Code())
	}
	return p
}
