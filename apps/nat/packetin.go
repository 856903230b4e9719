package nat

import (
	"context"
	"net"
	"net/netip"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/ovsmesh/ovsmesh/controller"
	"github.com/ovsmesh/ovsmesh/flows"
)

// PacketIn implements controller.PacketInHandler. The NAT app sees
// three kinds: the next hop's ARP (nat_external), a guest's answer to
// the router's ARP request (nat), and a packet for an inside IP the
// gateway has no guest for (the nat_deliver table-miss). Anything else
// is ignored: a malformed frame from a guest or the outside changes
// nothing.
func (a *App) PacketIn(ctx context.Context, sw controller.Switch, pi *flows.PacketIn) error {
	a.mu.Lock()
	cfg := a.cfg
	a.mu.Unlock()
	pkt := gopacket.NewPacket(pi.Data, layers.LayerTypeEthernet, gopacket.DecodeOptions{Lazy: true, NoCopy: true})
	switch pi.Table {
	case TableExternal:
		arp, ok := pkt.Layer(layers.LayerTypeARP).(*layers.ARP)
		if !ok || !validARP(arp) || netip.AddrFrom4([4]byte(arp.SourceProtAddress)) != cfg.External.NextHop {
			a.m.ignored.Inc()
			return nil
		}
		a.nextHopSeen(ctx, net.HardwareAddr(append([]byte(nil), arp.SourceHwAddress...)))
	case TableNAT:
		arp, ok := pkt.Layer(layers.LayerTypeARP).(*layers.ARP)
		if !ok || !validARP(arp) || arp.Operation != layers.ARPReply {
			a.m.ignored.Inc()
			return nil
		}
		ip := netip.AddrFrom4([4]byte(arp.SourceProtAddress))
		if !cfg.inside(ip) {
			a.m.ignored.Inc()
			return nil
		}
		a.insideSeen(ctx, ip, net.HardwareAddr(append([]byte(nil), arp.SourceHwAddress...)))
	case TableDeliver:
		ip4, ok := pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		if !ok || len(ip4.DstIP) != 4 {
			a.m.ignored.Inc()
			return nil
		}
		dst := netip.AddrFrom4([4]byte(ip4.DstIP))
		if !cfg.inside(dst) || dst == cfg.RouterIP {
			a.m.ignored.Inc()
			return nil
		}
		a.askInside(ctx, dst)
	default:
		a.m.ignored.Inc()
	}
	return nil
}

// validARP reports whether arp is Ethernet/IPv4 ARP with a unicast
// sender MAC (RFC 826).
func validARP(arp *layers.ARP) bool {
	return arp.AddrType == layers.LinkTypeEthernet && arp.Protocol == layers.EthernetTypeIPv4 &&
		len(arp.SourceHwAddress) == 6 && len(arp.SourceProtAddress) == 4 && arp.SourceHwAddress[0]&1 == 0 &&
		string(arp.SourceHwAddress) != "\x00\x00\x00\x00\x00\x00"
}
