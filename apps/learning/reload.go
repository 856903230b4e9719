package learning

import (
	"context"

	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/topo"
)

// Reload implements apps.Reloader: every setting of the section changes
// live. A new idle timeout is written into the source flows of every
// connected switch at once (the flows already installed keep counting
// idle time from their last packet).
func (a *App) Reload(ctx context.Context, cfg any) ([]string, error) {
	c := *cfg.(*Config)
	a.mu.Lock()
	defer a.mu.Unlock()
	idleChanged := c.IdleTimeout != a.cfg.IdleTimeout
	a.cfg = c
	a.plan.idleTimeout = secs(c.IdleTimeout)
	if idleChanged {
		for dpid, s := range a.switches.All() {
			var msgs []flows.Message
			for _, e := range a.table.Select(func(e topo.MACEntry) bool { return e.DPID == dpid }) {
				msgs = append(msgs, flows.AddFlow(a.plan.srcFlow(e)))
			}
			a.send(ctx, s.SW.DPID(), msgs)
		}
	}
	a.log.Info("learning settings reloaded", "idle_timeout", c.IdleTimeout, "flap_moves", c.FlapMoves,
		"flap_window", c.FlapWindow, "verify_timeout", c.VerifyTimeout, "max_macs_per_port", c.MaxMACsPerPort, "max_macs", c.MaxMACs)
	return nil, nil
}
