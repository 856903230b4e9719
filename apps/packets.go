package apps

import (
	"net"
	"net/netip"
	"slices"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/ovsmesh/ovsmesh/flows"
)

// ARPProbe returns the packet-out of an ARP probe (RFC 5227 §2.1.1:
// sender IP 0.0.0.0) asking mac whether it holds ip, sent out of port
// from flows.ProbeMAC. Its owner answers, and the answer shows it is
// still there; apps watch for it when a place or an address is claimed
// by someone else.
func ARPProbe(mac net.HardwareAddr, ip netip.Addr, port flows.OFPort) (flows.PacketOut, error) {
	src := net.HardwareAddr(flows.ProbeMAC[:])
	data, err := ARPFrame(src, mac, layers.ARPRequest, src, netip.AddrFrom4([4]byte{}), make(net.HardwareAddr, 6), ip)
	if err != nil {
		return flows.PacketOut{}, err
	}
	return flows.PacketOut{InPort: flows.PortController, Actions: []flows.Action{flows.Output{Port: port}}, Data: data}, nil
}

// ARPFrame serializes an Ethernet/IPv4 ARP frame (RFC 826): from ethSrc
// to ethDst, opcode op, sender (sha, spa), target (tha, tpa).
func ARPFrame(ethSrc, ethDst net.HardwareAddr, op uint16, sha net.HardwareAddr, spa netip.Addr, tha net.HardwareAddr, tpa netip.Addr) ([]byte, error) {
	s, t := spa.As4(), tpa.As4()
	buf := gopacket.NewSerializeBuffer()
	eth := &layers.Ethernet{SrcMAC: ethSrc, DstMAC: ethDst, EthernetType: layers.EthernetTypeARP}
	arp := &layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
		Operation: op, SourceHwAddress: sha, SourceProtAddress: s[:], DstHwAddress: tha, DstProtAddress: t[:]}
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true}, eth, arp); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// SortedPorts returns the ports of a port set in ascending order.
func SortedPorts(m map[flows.OFPort]bool) []flows.OFPort {
	out := make([]flows.OFPort, 0, len(m))
	for p := range m {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// ARPReplyActions turn an ARP request for ip into the reply "ip is at
// mac" in the datapath and send it back out of the port it came in on
// (the OVN and Neutron ARP responder, RFC 826): the asker's MAC and
// address become the target's, mac and ip the sender's.
func ARPReplyActions(mac net.HardwareAddr, ip netip.Addr) []flows.Action {
	return []flows.Action{
		flows.MoveField(flows.FieldEthSrc, flows.FieldEthDst),
		flows.SetEthSrc(mac),
		flows.SetARPOp(2),
		flows.MoveField(flows.FieldARPSHA, flows.FieldARPTHA),
		flows.SetARPSHA(mac),
		flows.MoveField(flows.FieldARPSPA, flows.FieldARPTPA),
		flows.SetARPSPA(ip),
		flows.Output{Port: flows.PortInPort},
	}
}
