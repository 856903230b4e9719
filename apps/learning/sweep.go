package learning

import (
	"context"
	"time"

	"github.com/ovsmesh/ovsmesh/apps"
	"github.com/ovsmesh/ovsmesh/topo"
)

// Run implements apps.Runner: every quarter of the idle timeout (at most
// every 10 s) it sweeps the MAC table (sweep). It returns when ctx ends.
func (a *App) Run(ctx context.Context) {
	apps.Every(ctx, a.clock, min(a.cfg.IdleTimeout/4, 10*time.Second), func() { a.sweep(ctx) })
}

// sweep forgets MACs nothing else would age: those of a switch that has
// had no session for longer than the idle timeout (aging relies on its
// FLOW_REMOVED, which an absent switch never sends), and those of a
// configured host that was removed from the configuration. It returns
// how many it forgot.
func (a *App) sweep(ctx context.Context) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.clock.Now()
	stale := apps.Expired(a.absent, now, a.cfg.IdleTimeout)
	n := 0
	for _, e := range a.table.Select(nil) {
		removed := e.Host != "" && a.opts.Mesh != nil && !a.configured(e)
		switch {
		case removed:
			a.m.hostGone.Inc()
			a.log.Info("MAC forgotten: its host is no longer configured", "mac", e.MAC.String(), "host", e.Host)
		case stale[e.DPID]:
			a.m.aged.Inc()
			a.log.Info("MAC aged: its switch has been away longer than the idle timeout", "mac", e.MAC.String(), "dpid", e.DPID.String())
		default:
			continue
		}
		a.forget(ctx, e)
		n++
	}
	return n
}

// configured reports whether e's host is still a configured host with
// e's DPID.
func (a *App) configured(e topo.MACEntry) bool {
	h, ok := a.opts.Mesh.HostByDPID(e.DPID)
	return ok && h.Name == e.Host
}
