package learning

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ovsmesh/ovsmesh/apps"
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

// PacketIn implements controller.PacketInHandler. Two kinds arrive:
//
//   - a copy (the app's own unknown-source or watch flow sent it, cookie
//     app learning): the datapath already forwarded the packet; the app
//     only learns;
//   - a table-miss of classify (baseline cookie): a port the app had no
//     flow for yet (a tunnel whose admission flow is missing, a port just
//     added); the packet waited, so after learning the app delivers it
//     through the pipeline with output:TABLE, after a barrier.
//
// A source that is new is learned mesh-wide within the caps. A MAC that
// claims another place than its current one is believed only once that
// place has shown no life for verify_timeout (verify.go).
func (a *App) PacketIn(ctx context.Context, sw controller.Switch, pi *flows.PacketIn) error {
	waited := pi.Cookie.App() != ID
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
	deliver := func(msgs []flows.Message) []flows.Message {
		if waited {
			return withDelivery(msgs, pi)
		}
		return msgs
	}

	if !s.v.Local[pi.InPort] && !s.v.IsTunnel(pi.InPort) {
		// A port added since the last PORT_STATUS was seen: look again.
		a.refreshView(ctx, sw, s)
	}
	switch {
	case s.v.IsTunnel(pi.InPort):
		// The tunnel admission flow is missing (evicted or not yet
		// installed): put it back. Remote MACs are learned at their host.
		a.send(ctx, s.v.DPID, deliver([]flows.Message{flows.AddFlow(a.plan.tunnelIn(pi.InPort))}))
		return nil
	case !s.v.Local[pi.InPort]:
		a.m.ignored.Inc()
		return nil // an ignored port (stale ovsmesh tunnel): drop
	case isMulticast(src):
		a.m.badFrames.Inc()
		return nil // a multicast source is never valid (IEEE 802.3 §3.2.3): drop
	}

	now := a.clock.Now()
	// here.MAC aliases the frame: it is copied where here is stored.
	here := topo.MACEntry{MAC: src, Domain: s.v.domain, DPID: s.v.DPID, OFPort: pi.InPort, Host: s.v.Host, Learned: now}
	key := topo.KeyOf(here.Domain, here.MAC)
	if p := a.pending[key]; p != nil {
		a.verifying(ctx, key, p, here)
		return nil
	}
	old, known := a.table.Get(key)
	switch {
	case !known:
		if reason := a.overCap(here); reason != "" {
			a.m.capped.WithLabelValues(reason).Inc()
			if reason == capPort {
				a.send(ctx, s.v.DPID, []flows.Message{flows.AddFlow(a.plan.portLimit(here.OFPort, secs(a.cfg.PortLimitHold)))})
			}
			a.log.Debug("MAC not learned: cap reached", "reason", reason, "mac", src.String(), "dpid", here.DPID.String(), "port", here.OFPort)
			return nil
		}
		here.MAC = slices.Clone(src)
		a.put(here, nil)
		a.m.learned.Inc()
		for _, v := range a.domainViews(here.Domain) {
			msgs := a.plan.install(v, here)
			if v.DPID == here.DPID {
				msgs = deliver(msgs)
			}
			a.send(ctx, v.DPID, msgs)
		}
	case old.DPID == here.DPID && old.OFPort == here.OFPort:
		// The switch lost the flow (evicted, restarted): reinstall,
		// and deliver in the same send.
		a.m.reinstalled.Inc()
		a.send(ctx, s.v.DPID, deliver(a.plan.install(&s.v, old)))
	default:
		a.claim(ctx, key, old, here, deliver)
	}
	return nil
}

// Cap reasons, the values of ovsmesh_learning_macs_capped_total{reason}.
const (
	capPort   = "port"
	capGlobal = "table"
)

// overCap says which cap, if any, stops learning e.
func (a *App) overCap(e topo.MACEntry) string {
	switch {
	case a.cfg.MaxMACsPerPort > 0 && a.perPort[place{e.DPID, e.OFPort}] >= a.cfg.MaxMACsPerPort:
		return capPort
	case a.cfg.MaxMACs > 0 && a.table.Len() >= a.cfg.MaxMACs:
		return capGlobal
	}
	return ""
}

// refreshView re-reads sw's ports after a packet-in from a port the view
// did not know, installing the unknown-source flow of new local ports.
func (a *App) refreshView(ctx context.Context, sw controller.Switch, s *swState) {
	before := s.v
	s.v = a.newView(sw)
	var msgs []flows.Message
	for port := range s.v.Local {
		if !before.Local[port] {
			msgs = append(msgs, flows.AddFlow(a.plan.unknownSrc(port)))
		}
	}
	if len(msgs) > 0 {
		msgs = append(a.plan.floodGroups(&s.v), msgs...)
		a.send(ctx, s.v.DPID, msgs)
	}
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
		if now.Sub(t) < a.cfg.FlapWindow {
			recent = append(recent, t)
		}
	}
	if len(recent) >= a.cfg.FlapMoves {
		a.moves[key] = recent
		return secs(a.cfg.FlapWindow), true
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
	a.perPort[place{e.DPID, e.OFPort}]--
	delete(a.moves, key)
	if p := a.pending[key]; p != nil {
		a.cancel(key, p)
	}
	for _, v := range a.domainViews(e.Domain) {
		a.send(ctx, v.DPID, a.plan.uninstall(v, e))
	}
}

// PortStatus implements controller.PortStatusHandler: the flood groups
// follow the port list; a new tunnel gets its admission flow and the
// flows towards its peer's MACs; a new local port gets its
// unknown-source flow; a local port that goes away or down takes its
// MACs with it, everywhere.
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
	for _, port := range apps.SortedPorts(s.v.Local) {
		if !before.Local[port] {
			msgs = append(msgs, flows.AddFlow(a.plan.unknownSrc(port)))
		}
	}
	for _, port := range apps.SortedPorts(before.Local) {
		if !s.v.Local[port] {
			msgs = append(msgs, flows.DeleteStrict(a.plan.unknownSrc(port)))
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
	if fr.Table != TableClassify || fr.Priority != PrioKnownSrc || fr.Reason != flows.RemovedIdleTimeout || fr.Match.EthSrc == nil {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.switches.Get(sw.DPID())
	if c == nil {
		return errUnknownSwitch
	}
	e, ok := a.table.Get(topo.KeyOf(c.State.v.domain, fr.Match.EthSrc))
	if !ok || e.DPID != c.State.v.DPID || e.OFPort != fr.Match.InPort {
		return nil // it moved or was forgotten already
	}
	a.m.aged.Inc()
	a.forget(ctx, e)
	return nil
}
