package proxyarp

import (
	"context"
	"time"

	"github.com/ovsmesh/ovsmesh/apps"
	"github.com/ovsmesh/ovsmesh/topo"
)

// Run implements apps.Runner: every quarter of the aging time (at most
// every 10 s) it sweeps the ARP table (sweep), and it follows the
// declared bindings (followDeclared). It returns when ctx ends.
func (a *App) Run(ctx context.Context) {
	a.followDeclared(ctx)
	apps.Every(ctx, a.clock, min(a.opts.Aging/4, 10*time.Second), func() { a.sweep(ctx) })
}

// sweep drops bindings nothing else would age: those of a switch that
// has had no session for longer than the aging time (aging relies on its
// FLOW_REMOVED), and those of a configured host removed from the
// configuration. A static binding only loses its place. It returns how
// many bindings it dropped or unplaced.
func (a *App) sweep(ctx context.Context) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.clock.Now()
	stale := apps.Expired(a.absent, now, a.opts.Aging)
	n := 0
	for _, b := range a.table.Select(func(b topo.ARPBinding) bool { return b.DPID != 0 }) {
		h, ok := a.opts.Mesh.HostByDPID(b.DPID)
		switch {
		case b.Host != "" && (!ok || h.Name != b.Host):
			a.m.hostGone.Inc()
			a.log.Info("ARP binding dropped: its host is no longer configured", "ip", b.IP, "host", b.Host)
		case stale[b.DPID]:
			a.m.aged.Inc()
			a.log.Info("ARP binding aged: its switch has been away longer than the aging time", "ip", b.IP, "dpid", b.DPID.String())
		default:
			continue
		}
		a.forget(ctx, b)
		n++
	}
	a.gauges()
	return n
}
