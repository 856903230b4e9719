package proxyarp

import (
	"net"
	"net/netip"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Refusal reasons, the values of the refused metric's reason label. A
// refused packet changes no binding and is dropped.
const (
	// reasonMalformed: not an Ethernet frame carrying a whole ARP
	// packet (truncated, or another EtherType).
	reasonMalformed = "malformed"
	// reasonNotEthIPv4: ARP for another hardware or protocol type, or
	// with hardware/protocol lengths other than 6 and 4.
	reasonNotEthIPv4 = "not_ethernet_ipv4"
	// reasonBadOp: an opcode other than request (1) or reply (2).
	reasonBadOp = "bad_opcode"
	// reasonSenderMAC: a broadcast or multicast sender MAC.
	reasonSenderMAC = "sender_mac_multicast"
	// reasonSenderIP: sender IP 0.0.0.0, broadcast, multicast or
	// otherwise not a unicast IPv4 host address.
	reasonSenderIP = "sender_ip_invalid"
	// reasonEthMismatch: the Ethernet source differs from the ARP
	// sender MAC.
	reasonEthMismatch = "eth_src_mismatch"
	// reasonMACNotHere: the sender's MAC claims a new place that the
	// learning app has not believed (yet): it is verifying the move.
	reasonMACNotHere = "mac_not_here"
	// reasonIPsPerMAC: the sender's MAC holds max_ips_per_mac IPs.
	reasonIPsPerMAC = "ips_per_mac_cap"
	// reasonTableFull: the ARP table holds max_bindings bindings.
	reasonTableFull = "table_cap"
)

// refusalReasons lists every reason, for the metric's label values.
var refusalReasons = []string{reasonMalformed, reasonNotEthIPv4, reasonBadOp, reasonSenderMAC, reasonSenderIP, reasonEthMismatch,
	reasonMACNotHere, reasonIPsPerMAC, reasonTableFull}

// arpPacket is a validated Ethernet/IPv4 ARP packet. Its slices alias
// the parser's buffers until the next parse; copy what outlives it.
type arpPacket struct {
	EthSrc   net.HardwareAddr
	Op       uint16
	SHA, THA net.HardwareAddr
	SPA, TPA netip.Addr
}

// request reports whether p is an ARP request.
func (p *arpPacket) request() bool { return p.Op == layers.ARPRequest }

// gratuitous reports whether p announces its own address (RFC 5227 §3:
// sender and target IP equal).
func (p *arpPacket) gratuitous() bool { return p.SPA == p.TPA }

// parser decodes Ethernet+ARP frames with one preallocated gopacket
// DecodingLayerParser. It is not safe for concurrent use: each switch
// has its own.
type parser struct {
	dlp    *gopacket.DecodingLayerParser
	eth    layers.Ethernet
	arp    layers.ARP
	layers []gopacket.LayerType
}

func newParser() *parser {
	p := &parser{}
	p.dlp = gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &p.eth, &p.arp)
	p.dlp.IgnoreUnsupported = true
	p.layers = make([]gopacket.LayerType, 0, 2)
	return p
}

// parse decodes and checks frame. It returns the packet, or the reason
// it is refused: anything but a complete Ethernet/IPv4 request or reply
// is malformed, and a sender that must never be learned (multicast MAC,
// 0.0.0.0 or a broadcast IP, Ethernet source not the ARP sender) is
// named. parse never panics, whatever the bytes (FuzzParse).
func (p *parser) parse(frame []byte) (arpPacket, string) {
	if err := p.dlp.DecodeLayers(frame, &p.layers); err != nil || len(p.layers) != 2 || p.layers[1] != layers.LayerTypeARP {
		return arpPacket{}, reasonMalformed
	}
	a := &p.arp
	if a.AddrType != layers.LinkTypeEthernet || a.Protocol != layers.EthernetTypeIPv4 || a.HwAddressSize != 6 || a.ProtAddressSize != 4 ||
		len(a.SourceHwAddress) != 6 || len(a.DstHwAddress) != 6 || len(a.SourceProtAddress) != 4 || len(a.DstProtAddress) != 4 {
		return arpPacket{}, reasonNotEthIPv4
	}
	if a.Operation != layers.ARPRequest && a.Operation != layers.ARPReply {
		return arpPacket{}, reasonBadOp
	}
	pk := arpPacket{
		EthSrc: p.eth.SrcMAC, Op: a.Operation,
		SHA: net.HardwareAddr(a.SourceHwAddress), THA: net.HardwareAddr(a.DstHwAddress),
		SPA: netip.AddrFrom4([4]byte(a.SourceProtAddress)), TPA: netip.AddrFrom4([4]byte(a.DstProtAddress)),
	}
	switch {
	case pk.SHA[0]&1 == 1:
		return pk, reasonSenderMAC
	case !validHostIP(pk.SPA):
		return pk, reasonSenderIP
	case string(pk.EthSrc) != string(pk.SHA):
		return pk, reasonEthMismatch
	}
	return pk, ""
}

// validHostIP reports whether ip can be a host's own IPv4 address: not
// 0.0.0.0/8, the limited broadcast, multicast or loopback. (A subnet's
// directed broadcast is not known here; a guest claiming one is a
// misconfiguration the binding table shows.)
func validHostIP(ip netip.Addr) bool {
	if !ip.Is4() {
		return false
	}
	b := ip.As4()
	return b[0] != 0 && b[0] != 127 && !ip.IsMulticast() && ip != netip.AddrFrom4([4]byte{255, 255, 255, 255}) && b[0] < 240
}

// buildReply returns the ARP reply to req from binding (ip, mac): the
// same frame the responder flow makes of the request, built with
// gopacket.SerializeLayers.
func buildReply(req *arpPacket, ip netip.Addr, mac net.HardwareAddr) ([]byte, error) {
	buf := gopacket.NewSerializeBuffer()
	eth := &layers.Ethernet{SrcMAC: mac, DstMAC: req.EthSrc, EthernetType: layers.EthernetTypeARP}
	arp := &layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
		Operation: layers.ARPReply, SourceHwAddress: mac, SourceProtAddress: ip.AsSlice(),
		DstHwAddress: req.SHA, DstProtAddress: req.SPA.AsSlice()}
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, arp); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
