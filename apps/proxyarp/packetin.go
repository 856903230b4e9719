package proxyarp

import (
	"context"
	"net"

	"github.com/ovsmesh/ovsmesh/controller"
	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/topo"
)

// PacketIn implements controller.PacketInHandler for ARP from a local
// port that no known-sender flow admitted. Two kinds arrive:
//
//   - a copy (the inspect flows, cookie object 0): a sender of an IP with
//     no binding; the datapath already took the packet on to the
//     responder, so the app only learns;
//   - a held packet (the gate or watch flow of a bound IP, cookie object
//     the IP): a claim of a bound IP by another sender, or the owner's
//     own ARP while a claim is verified; it waits for the decision, then
//     is answered or sent on from the responder table, or dropped.
//
// Refused packets are dropped and counted; a refused claim is held off in
// the datapath for a few seconds.
func (a *App) PacketIn(ctx context.Context, sw controller.Switch, pi *flows.PacketIn) error {
	held := pi.Cookie.Object() != 0
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.switches.Get(sw.DPID())
	if c == nil {
		return nil // not a mesh host
	}
	s := c.State
	a.m.packetIns.Inc()
	if !s.Local[pi.InPort] {
		return nil // a tunnel or a port that went away: never learned from
	}
	pk, reason := s.p.parse(pi.Data)
	if reason != "" {
		a.m.refused.WithLabelValues(reason).Inc()
		a.log.Debug("ARP refused", "reason", reason, "dpid", s.DPID.String(), "port", pi.InPort, "len", len(pi.Data))
		if reason != reasonMalformed && reason != reasonNotEthIPv4 && reason != reasonBadOp && validMAC(pk.EthSrc) && pk.SPA.IsValid() {
			a.send(ctx, s.DPID, []flows.Message{flows.AddFlow(a.plan.holdFlow(pi.InPort, pk.EthSrc, pk.SHA, pk.SPA))})
		}
		return nil
	}
	now := a.clock.Now()
	here := topo.ARPBinding{IP: pk.SPA, MAC: append(net.HardwareAddr(nil), pk.SHA...), Host: s.Host, DPID: s.DPID, OFPort: pi.InPort,
		Learned: now, Seen: now}
	if p := a.pending[pk.SPA]; p != nil {
		if isOwner(p.old, here) {
			a.finish(ctx, pk.SPA, p, true)
			a.send(ctx, s.DPID, a.onward(&pk, pi, s.DPID, held))
		}
		return nil // the claimant, held off meanwhile, or a third sender: dropped
	}
	old, known := a.table.Get(pk.SPA)
	here.Static = known && old.Static
	v := decide(&pk, s.DPID, pi.InPort, old, known)
	if v == move && !a.macAt(here) {
		// The MAC claims a new place that the learning app has not (yet)
		// believed: it is verifying that the MAC left its old place.
		// The sender retries; its ARP is dropped until then.
		a.m.refused.WithLabelValues(reasonMACNotHere).Inc()
		return nil
	}
	switch v {
	case conflict:
		if !a.conflict(ctx, old, here) {
			return nil // refused, or verified before it is believed
		}
	case learn:
		if cap := a.overCap(here); cap != "" {
			a.m.refused.WithLabelValues(cap).Inc()
			a.log.Debug("ARP binding not learned: cap reached", "cap", cap, "ip", pk.SPA, "mac", pk.SHA.String())
			a.send(ctx, s.DPID, []flows.Message{flows.AddFlow(a.plan.holdFlow(pi.InPort, pk.EthSrc, pk.SHA, pk.SPA))})
			return nil
		}
		a.put(here, nil)
		a.m.learned.Inc()
		a.gauges()
		for dpid := range a.switches.All() {
			a.send(ctx, dpid, a.plan.install(dpid, here))
		}
	case refresh:
		here.Learned = old.Learned
		a.table.Put(here)
		a.m.refreshed.Inc()
		a.send(ctx, s.DPID, []flows.Message{flows.AddFlow(a.plan.senderFlow(here))})
	case move, change:
		if v == move {
			here.Learned = old.Learned
			a.m.moved.Inc()
		} else {
			a.m.changed.Inc()
			a.log.Info("ARP binding changed: the old owner is gone", "ip", pk.SPA, "mac", pk.SHA.String(), "old_mac", old.MAC.String(),
				"host", s.Host, "port", pi.InPort)
		}
		a.rebind(ctx, old, here)
	}
	a.send(ctx, s.DPID, a.onward(&pk, pi, s.DPID, held))
	return nil
}

// onward is what happens to an admitted sender's packet: nothing for a
// copy (the datapath took it on already); for a held packet, the
// controller answers a request for a known IP itself (the answer's
// packet-out) or sends it on through the pipeline from the responder
// table, as if its sender had been admitted.
func (a *App) onward(pk *arpPacket, pi *flows.PacketIn, dpid flows.DPID, held bool) []flows.Message {
	if !held {
		return nil
	}
	if pk.request() && !pk.gratuitous() {
		if t, ok := a.table.Get(pk.TPA); ok {
			if t.DPID == dpid && t.OFPort == pi.InPort {
				a.m.samePort.Inc()
				return nil // the target is on the asker's segment: it answers itself
			}
			if po, err := answer(pk, t, pi.InPort); err == nil {
				a.m.answered.Inc()
				return []flows.Message{po}
			}
		}
	}
	return []flows.Message{deliver(pi.InPort, pi.Data)}
}

// rebind applies a move or change of old's IP to now on every switch,
// and announces a change of MAC to the guests.
func (a *App) rebind(ctx context.Context, old, now topo.ARPBinding) {
	a.put(now, &old)
	for dpid := range a.switches.All() {
		a.send(ctx, dpid, a.plan.change(dpid, old, now))
	}
	if string(old.MAC) != string(now.MAC) {
		a.announce(ctx, now)
	}
}

// put stores b, keeping the bindings-per-MAC counts.
func (a *App) put(b topo.ARPBinding, old *topo.ARPBinding) {
	if old != nil {
		a.perMAC[string(old.MAC)]--
	}
	a.perMAC[string(b.MAC)]++
	a.table.Put(b)
}

// overCap says which cap, if any, refuses a new binding b.
func (a *App) overCap(b topo.ARPBinding) string {
	switch {
	case a.opts.MaxIPsPerMAC > 0 && a.perMAC[string(b.MAC)] >= a.opts.MaxIPsPerMAC:
		return reasonIPsPerMAC
	case a.opts.MaxBindings > 0 && a.table.Len() >= a.opts.MaxBindings:
		return reasonTableFull
	}
	return ""
}

// macAt reports whether the learning app's MAC table has b's MAC at b's
// place (true when there is no MAC table to ask).
func (a *App) macAt(b topo.ARPBinding) bool {
	if a.opts.MACs == nil {
		return true
	}
	e, ok := a.opts.MACs.Get(topo.KeyOf(0, b.MAC))
	return !ok || e.DPID == b.DPID && e.OFPort == b.OFPort
}

// validMAC reports whether mac is a 6-byte address usable in a match.
func validMAC(mac net.HardwareAddr) bool { return len(mac) == 6 }
