package nat

import (
	"context"
	"net"
	"net/netip"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/ovsmesh/ovsmesh/apps"
	"github.com/ovsmesh/ovsmesh/flows"
)

// Resolution timing.
const (
	// nextHopRetry is how often an unresolved next hop is asked for.
	nextHopRetry = time.Second
	// nextHopRefresh is how often a resolved next hop is asked again, so
	// a changed MAC (a failed-over router) is seen.
	nextHopRefresh = 30 * time.Second
	// nextHopStale is how long a resolved next hop may stay silent
	// before it is reported stale (its MAC is still used).
	nextHopStale = 3 * nextHopRefresh
	// askAgain is how often one inside IP may be asked for.
	askAgain = time.Second
	// resolvedAging forgets an inside guest the router resolved itself
	// after this long (the ARP table's bindings never age here).
	resolvedAging = 5 * time.Minute
	// maxAsked caps the inside IPs being asked for at once.
	maxAsked = 1024
)

// nextHopState is the next hop's resolution.
type nextHopState struct {
	// mac is the resolved MAC, nil while unresolved.
	mac net.HardwareAddr
	// resolved is when mac was last confirmed (a reply or a request
	// from the next hop).
	resolved time.Time
	// asked is when the last request was sent; sent counts them.
	asked time.Time
	sent  uint64
}

// state names the resolution's state for the API and logs.
func (n nextHopState) state(now time.Time) string {
	switch {
	case n.mac == nil:
		return "unresolved"
	case now.Sub(n.resolved) > nextHopStale:
		return "stale"
	}
	return "resolved"
}

// askNextHopLocked sends an ARP request for the next hop out of the
// external port, from the external IP; a.mu is held.
func (a *App) askNextHopLocked(ctx context.Context) {
	c := a.gatewayLocked()
	if c == nil {
		return
	}
	ext := c.State.ports.Owned[a.cfg.External.Port]
	if ext == 0 || len(c.State.extMAC) != 6 {
		return
	}
	frame, err := apps.ARPFrame(c.State.extMAC, layers.EthernetBroadcast, layers.ARPRequest, c.State.extMAC,
		a.cfg.External.IP.Addr(), make(net.HardwareAddr, 6), a.cfg.External.NextHop)
	if err != nil {
		a.log.Error("building the next hop's ARP request failed", "err", err)
		return
	}
	a.nh.asked = a.clock.Now()
	a.nh.sent++
	a.m.nextHopRequests.Inc()
	out := flows.PacketOut{InPort: flows.PortController, Actions: []flows.Action{flows.Output{Port: ext}}, Data: frame}
	if err := c.SW.Send(ctx, out); err != nil {
		a.log.Debug("send to the gateway failed", "err", err)
	}
}

// nextHopSeen records an ARP packet from the next hop claiming mac;
// a changed MAC rewrites the gateway's way out and is persisted.
func (a *App) nextHopSeen(ctx context.Context, mac net.HardwareAddr) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.clock.Now()
	changed := a.nh.mac.String() != mac.String()
	a.nh.mac, a.nh.resolved = mac, now
	if !changed {
		return
	}
	a.log.Info("next hop resolved", "ip", a.cfg.External.NextHop, "mac", mac.String())
	a.m.nextHopResolved.Set(1)
	a.rules.Put(record{Key: nextHopKey, NextHop: &nextHop{IP: a.cfg.External.NextHop, MAC: mac.String(), Resolved: now}})
	if c := a.gatewayLocked(); c != nil {
		a.syncLocked(ctx, a.planner(), c)
	}
}

// tickNextHop asks for the next hop when it is due; a.mu is held.
func (a *App) tickNextHopLocked(ctx context.Context, now time.Time) {
	every := nextHopRefresh
	if a.nh.mac == nil {
		every = nextHopRetry
	}
	if now.Sub(a.nh.asked) >= every {
		a.askNextHopLocked(ctx)
	}
	if a.nh.mac != nil && a.nh.state(now) == "stale" && !a.nh.resolved.IsZero() {
		a.m.nextHopResolved.Set(0)
	}
}

// askInside asks the overlay who holds ip, an inside address the
// gateway has no guest for: an ARP request from the router, sent out of
// every guest port of every mesh host (the datapath answered the
// packet's sender's own request for the router; this is the router's
// own). At most once a second per IP, for at most maxAsked IPs at once.
func (a *App) askInside(ctx context.Context, ip netip.Addr) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.clock.Now()
	if t, ok := a.asked[ip]; ok && now.Sub(t) < askAgain || len(a.asked) >= maxAsked {
		return
	}
	a.asked[ip] = now
	a.m.insideRequests.Inc()
	mac := a.cfg.routerMAC()
	frame, err := apps.ARPFrame(mac, layers.EthernetBroadcast, layers.ARPRequest, mac, a.cfg.RouterIP, make(net.HardwareAddr, 6), ip)
	if err != nil {
		a.log.Error("building an ARP request failed", "ip", ip, "err", err)
		return
	}
	for _, c := range a.switches.All() {
		if c.State.ports.Host == "" {
			continue
		}
		var acts []flows.Action
		for _, p := range apps.SortedPorts(c.State.ports.Local) {
			if p != flows.PortLocal {
				acts = append(acts, flows.Output{Port: p})
			}
		}
		if len(acts) == 0 {
			continue
		}
		if err := c.SW.Send(ctx, flows.PacketOut{InPort: flows.PortController, Actions: acts, Data: frame}); err != nil {
			a.log.Debug("send failed", "dpid", c.SW.DPID().String(), "err", err)
		}
	}
}

// insideSeen records a guest's answer to the router: ip is at mac. It
// is believed only for an IP the router asked for and the ARP table
// does not hold (the table's verified bindings always win).
func (a *App) insideSeen(ctx context.Context, ip netip.Addr, mac net.HardwareAddr) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, asked := a.asked[ip]; !asked {
		return
	}
	delete(a.asked, ip)
	if _, bound := a.arp.Get(ip); bound {
		return
	}
	a.resolved[ip] = resolvedEntry{MAC: mac, Seen: a.clock.Now()}
	a.log.Debug("inside guest resolved by the router", "ip", ip, "mac", mac.String())
	if c := a.gatewayLocked(); c != nil {
		a.syncLocked(ctx, a.planner(), c)
	}
}

// ageLocked forgets old resolutions and questions; a.mu is held. It
// reports whether the gateway's flows need a sync.
func (a *App) ageLocked(now time.Time) bool {
	changed := false
	for ip, r := range a.resolved {
		if now.Sub(r.Seen) > resolvedAging {
			delete(a.resolved, ip)
			changed = true
		}
	}
	for ip, t := range a.asked {
		if now.Sub(t) > 10*askAgain {
			delete(a.asked, ip)
		}
	}
	return changed
}
