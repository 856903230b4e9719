package learning

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ovsmesh/ovsmesh/controller"
	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/topo"
)

// outputTable is the packet-out action list that runs a packet through
// the pipeline from table 0 (OpenFlow 1.3.5 §7.2.5 OFPP_TABLE). Shared:
// never modified.
var outputTable = []flows.Action{flows.Output{Port: flows.PortTable}}

// errUnknownSwitch is returned for events of a switch whose SwitchUp
// did not run (it failed).
var errUnknownSwitch = errors.New("switch has no learning state")

// PacketIn implements controller.PacketInHandler. A table-miss means the
// source (in_port, eth_src) is not admitted: learn it (or move it, or
// reinstall it when the switch lost the flow), then deliver the packet
// through the pipeline with output:TABLE after a barrier.
func (a *App) PacketIn(ctx context.Context, sw controller.Switch, pi *flows.PacketIn) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.switches.Get(sw.DPID())
	if c == nil {
		return errUnknownSwitch
	}
	s := c.State
	if err := s.parser.DecodeLayers(pi.Data, &s.layers); err != nil || len(s.layers) == 0 {
		a.m.badFrames.Inc()
		return fmt.Errorf("packet-in on port %d: undecodable Ethernet frame of %d bytes: %v", pi.InPort, len(pi.Data), err)
	}
	src := s.eth.SrcMAC

	switch {
	case s.v.IsTunnel(pi.InPort):
		// The tunnel admission flow is missing (evicted or not yet
		// installed): put it back. Remote MACs are learned at their host.
		a.send(ctx, s.v.DPID, withDelivery([]flows.Message{flows.AddFlow(a.plan.tunnelIn(pi.InPort))}, pi))
		return nil
	case !s.v.Local[pi.InPort]:
		a.m.ignored.Inc()
		return nil // an ignored port (stale ovsmesh tunnel): drop
	case isMulticast(src):
		a.m.badFrames.Inc()
		return nil // a multicast source is never valid (IEEE 802.3 §3.2.3): drop
	}

	now := a.opts.Now()
	// here.MAC aliases the frame: it is copied where here is stored.
	here := topo.MACEntry{MAC: src, Domain: s.v.domain, DPID: s.v.DPID, OFPort: pi.InPort, Host: s.v.Host, Learned: now}
	key := topo.KeyOf(here.Domain, here.MAC)
	old, known := a.table.Get(key)
	switch {
	case !known:
		here.MAC = slices.Clone(src)
		a.table.Put(here)
		a.m.learned.Inc()
		for _, v := range a.domainViews(here.Domain) {
			a.send(ctx, v.DPID, a.plan.install(v, here))
		}
	case old.DPID == here.DPID && old.OFPort == here.OFPort:
		// The switch lost the flow (evicted, restarted): reinstall,
		// and deliver in the same send.
		a.m.reinstalled.Inc()
		a.send(ctx, s.v.DPID, withDelivery(a.plan.install(&s.v, old), pi))
		return nil
	default:
		if hold, damped := a.damp(key, now); damped {
			a.m.damped.Inc()
			a.log.Warn("MAC flapping: move damped", "mac", src.String(), "dpid", here.DPID.String(), "port", here.OFPort,
				"from_dpid", old.DPID.String(), "from_port", old.OFPort)
			a.send(ctx, s.v.DPID, []flows.Message{flows.AddFlow(a.plan.dampFlow(here, hold))})
			return nil
		}
		here.MAC, here.Moves = slices.Clone(src), old.Moves+1
		a.table.Put(here)
		a.m.moved.Inc()
		for dpid, msgs := range a.plan.move(a.domainViews(here.Domain), old, here) {
			a.send(ctx, dpid, msgs)
		}
	}
	a.send(ctx, s.v.DPID, withDelivery(nil, pi))
	return nil
}

// withDelivery appends to msgs the delivery of pi's packet: a barrier, so
// the switch applies msgs first (OpenFlow 1.3.5 §6.2), then a packet-out
// through the pipeline from table 0.
func withDelivery(msgs []flows.Message, pi *flows.PacketIn) []flows.Message {
	return append(msgs, flows.BarrierRequest{}, flows.PacketOut{InPort: pi.InPort, Actions: outputTable, Data: pi.Data})
}

// damp records a move of key at now and reports whether it must be
// refused, with the hold time in seconds: the MAC moved FlapMoves times
// within FlapWindow.
func (a *App) damp(key topo.MACKey, now time.Time) (uint16, bool) {
	recent := a.moves[key][:0]
	for _, t := range a.moves[key] {
		if now.Sub(t) < a.opts.FlapWindow {
			recent = append(recent, t)
		}
	}
	if len(recent) >= a.opts.FlapMoves {
		a.moves[key] = recent
		return uint16(max(1, a.opts.FlapWindow/time.Second)), true
	}
	a.moves[key] = append(recent, now)
	return 0, false
}

// forget removes e from the table and its flows from every switch of its
// domain.
func (a *App) forget(ctx context.Context, e topo.MACEntry) {
	key := topo.KeyOf(e.Domain, e.MAC)
	if !a.table.Delete(key) {
		return
	}
	delete(a.moves, key)
	for _, v := range a.domainViews(e.Domain) {
		a.send(ctx, v.DPID, a.plan.uninstall(v, e))
	}
}

// PortStatus implements controller.PortStatusHandler: the flood groups
// follow the port list; a new tunnel gets its admission flow and the
// flows towards its peer's MACs; a local port that goes away or down
// takes its MACs with it, everywhere.
func (a *App) PortStatus(ctx context.Context, sw controller.Switch, ps flows.PortStatus) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.switches.Get(sw.DPID())
	if c == nil {
		return errUnknownSwitch
	}
	s := c.State
	before := s.v
	s.v = a.newView(sw)
	msgs := a.plan.floodGroups(&s.v)
	for peer, port := range s.v.Tunnels {
		if before.Tunnels[peer] == port {
			continue
		}
		msgs = append(msgs, flows.AddFlow(a.plan.tunnelIn(port)))
		for _, e := range a.table.Select(func(e topo.MACEntry) bool { return e.Domain == 0 && e.Host == peer }) {
			msgs = append(msgs, a.plan.install(&s.v, e)...)
		}
	}
	for peer, port := range before.Tunnels {
		if s.v.Tunnels[peer] != port {
			msgs = append(msgs,
				flows.DeleteStrict(a.plan.tunnelIn(port)),
				flows.FlowMod{Command: flows.FlowDelete, Flow: flows.Flow{Table: flows.TableAll}, OutPort: port})
		}
	}
	a.send(ctx, s.v.DPID, msgs)
	for port := range before.Local {
		if s.v.Local[port] {
			continue
		}
		for _, e := range a.table.Select(func(e topo.MACEntry) bool { return e.DPID == s.v.DPID && e.OFPort == port }) {
			a.m.portGone.Inc()
			a.forget(ctx, e)
		}
	}
	return nil
}

// FlowRemoved implements controller.FlowRemovedHandler: a source flow
// that idled out means the MAC went silent, so it is forgotten mesh-wide.
func (a *App) FlowRemoved(ctx context.Context, sw controller.Switch, fr *flows.FlowRemoved) error {
	if fr.Table != TableClassify || fr.Priority != PrioKnownSrc ||
		fr.Reason != flows.RemovedIdleTimeout || fr.Match.EthSrc == nil {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.switches.Get(sw.DPID())
	if c == nil {
		return errUnknownSwitch
	}
	s := c.State
	e, ok := a.table.Get(topo.KeyOf(s.v.domain, fr.Match.EthSrc))
	if !ok || e.DPID != s.v.DPID || e.OFPort != fr.Match.InPort {
		return nil // it moved or was forgotten already
	}
	a.m.aged.Inc()
	a.forget(ctx, e)
	return nil
}
