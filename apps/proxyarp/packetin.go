package proxyarp

import (
	"context"
	"net"

	"github.com/ovsmesh/ovsmesh/controller"
	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/topo"
)

// PacketIn implements controller.PacketInHandler for packet-ins from
// TableARP: ARP from a local port that no known-sender flow admitted.
// The sender is learned (or its move or change applied, or the claim
// refused); then a request for a known IP is answered by the controller,
// and anything else accepted goes on through the pipeline from the
// responder table. Refused packets are dropped and counted; a refused
// claim is held off in the datapath for a few seconds.
func (a *App) PacketIn(ctx context.Context, sw controller.Switch, pi *flows.PacketIn) error {
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
	now := a.opts.Now()
	old, known := a.table.Get(pk.SPA)
	v := decide(&pk, s.DPID, pi.InPort, old, known, a.oldState(old))
	here := topo.ARPBinding{IP: pk.SPA, MAC: append(net.HardwareAddr(nil), pk.SHA...), Host: s.Host, DPID: s.DPID, OFPort: pi.InPort,
		Static: known && old.Static, Learned: now, Seen: now}
	switch v {
	case conflict:
		a.m.conflicts.Inc()
		a.log.Warn("ARP conflict: claim of a live binding refused", "ip", pk.SPA, "mac", pk.SHA.String(),
			"dpid", s.DPID.String(), "port", pi.InPort, "bound_mac", old.MAC.String(), "bound_host", old.Host,
			"bound_port", old.OFPort, "static", old.Static)
		a.send(ctx, s.DPID, []flows.Message{flows.AddFlow(a.plan.holdFlow(pi.InPort, pk.EthSrc, pk.SHA, pk.SPA))})
		return nil
	case learn:
		a.table.Put(here)
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
		a.table.Put(here)
		for dpid := range a.switches.All() {
			a.send(ctx, dpid, a.plan.change(dpid, old, here))
		}
	}
	// The sender is admitted; now the packet itself.
	if pk.request() && !pk.gratuitous() {
		if t, ok := a.table.Get(pk.TPA); ok {
			if t.DPID == s.DPID && t.OFPort == pi.InPort {
				a.m.samePort.Inc()
				return nil // the target is on the asker's segment: it answers itself
			}
			po, err := answer(&pk, t, pi.InPort)
			if err != nil {
				return err
			}
			a.m.answered.Inc()
			a.send(ctx, s.DPID, []flows.Message{po})
			return nil
		}
	}
	a.send(ctx, s.DPID, []flows.Message{deliver(pi.InPort, pi.Data)})
	return nil
}

// oldState gathers what is known of b's owner. Called with a.mu held.
func (a *App) oldState(b topo.ARPBinding) oldState {
	var st oldState
	if c := a.switches.Get(b.DPID); c != nil && b.OFPort != 0 {
		st.PortLive = c.State.Local[b.OFPort]
	} else if b.OFPort != 0 && b.DPID != 0 {
		st.PortLive = true // its switch is away: assume the owner is still there
	}
	if a.opts.MACs != nil && len(b.MAC) == 6 {
		if e, ok := a.opts.MACs.Get(topo.KeyOf(0, b.MAC)); ok && (e.DPID != b.DPID || e.OFPort != b.OFPort) {
			st.MACElsewhere = true
		}
	}
	return st
}

// validMAC reports whether mac is a 6-byte address usable in a match.
func validMAC(mac net.HardwareAddr) bool { return len(mac) == 6 }
