package proxyarp

import (
	"context"

	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/topo"
)

// Reload implements apps.Reloader. The aging time, verify_timeout, the
// caps and the static bindings change live: a new aging time is written
// into the known-sender flows of every connected switch at once, and the
// table's static bindings become exactly the new list (added ones
// installed mesh-wide, removed ones dropped). (enabled needs a restart;
// the registry reports it.)
func (a *App) Reload(ctx context.Context, cfg any) ([]string, error) {
	c := cfg.(*Config)
	var static []Static
	for _, s := range c.Static {
		static = append(static, Static{IP: s.IP, MAC: append([]byte(nil), s.MAC...)})
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	agingChanged := c.Aging != a.opts.Aging
	a.opts.Aging, a.opts.VerifyTimeout, a.opts.MaxIPsPerMAC, a.opts.MaxBindings, a.opts.Static =
		c.Aging, c.VerifyTimeout, c.MaxIPsPerMAC, c.MaxBindings, static
	a.plan.aging = secs(c.Aging)
	a.setStatic(ctx, static, a.clock.Now())
	if agingChanged {
		for dpid := range a.switches.All() {
			var msgs []flows.Message
			for _, b := range a.table.Select(func(b topo.ARPBinding) bool { return located(b, dpid) }) {
				msgs = append(msgs, flows.AddFlow(a.plan.senderFlow(b)))
			}
			a.send(ctx, dpid, msgs)
		}
	}
	a.log.Info("proxy ARP settings reloaded", "aging", c.Aging, "static", len(static), "verify_timeout", c.VerifyTimeout,
		"max_ips_per_mac", c.MaxIPsPerMAC, "max_bindings", c.MaxBindings)
	return nil, nil
}
