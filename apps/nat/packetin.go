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
		if a.redeliver(ctx, sw, dst, pi.Data) {
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

// redeliver sends a packet the gateway's nat_deliver table missed on to
// its guest when the guest is known after all (its binding arrived while
// the flow was on its way), so the first reply of a new guest is not
// lost: a packet-out doing what the deliver flow does, and a sync so the
// flow follows. It reports whether it did.
func (a *App) redeliver(ctx context.Context, sw controller.Switch, dst netip.Addr, data []byte) bool {
	a.mu.Lock()
	mac, ok := a.macOf(dst)
	routerMAC := a.cfg.routerMAC()
	if ok {
		if c := a.gatewayLocked(); c != nil {
			a.syncLocked(ctx, a.planner(), c)
		}
	}
	a.mu.Unlock()
	if !ok {
		return false
	}
	a.m.redelivered.Inc()
	out := flows.PacketOut{InPort: flows.PortController, Data: data, Actions: []flows.Action{
		flows.SetEthSrc(routerMAC), flows.SetEthDst(mac), flows.DecNwTTL{}, flows.Resubmit{Table: TableNAT}}}
	if err := sw.Send(ctx, out); err != nil {
		a.log.Debug("send to the gateway failed", "err", err)
	}
	return true
}
