package nat

import (
	"context"
	"net/netip"
	"time"

	"github.com/ovsmesh/ovsmesh/topo"
)

// tick is how often Run looks at the next hop and ages resolutions.
const tick = time.Second

// Run implements apps.Runner: it follows the ARP table (an inside
// guest's binding, or a redirect target's place, changing rewrites the
// flows that depend on it), keeps the next hop resolved, ages the
// router's own resolutions and polls the rules' counters, until ctx
// ends.
func (a *App) Run(ctx context.Context) {
	cancel := a.arp.Watch(a.arpChanged)
	defer cancel()
	a.markDirty() // bindings restored before the watch began
	t := time.NewTicker(tick)
	defer t.Stop()
	var lastPoll, lastPlace time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.wake:
			a.refresh(ctx)
		case <-t.C:
			now := a.clock.Now()
			a.mu.Lock()
			a.tickNextHopLocked(ctx, now)
			if a.ageLocked(now) {
				if c := a.gatewayLocked(); c != nil {
					a.syncLocked(ctx, a.planner(), c)
				}
			}
			a.mu.Unlock()
			if now.Sub(lastPlace) >= placeEvery {
				lastPlace = now
				a.place(ctx)
			}
			if now.Sub(lastPoll) >= pollEvery {
				lastPoll = now
				a.poll(ctx)
			}
		}
	}
}

// placeEvery is how often Run asks for redirect targets it cannot place
// and re-syncs placements (a target found through the MAC table).
const placeEvery = 5 * time.Second

// place asks the overlay for the redirect targets that have no known
// place, and syncs every switch (only changed placements send flows).
func (a *App) place(ctx context.Context) {
	a.mu.Lock()
	var unknown []netip.Addr
	for _, r := range a.redirects {
		if _, ok := a.locate(r.Rule.IP); !ok && a.cfg.inside(r.Rule.IP) {
			unknown = append(unknown, r.Rule.IP)
		}
	}
	a.syncAllLocked(ctx)
	a.mu.Unlock()
	for _, ip := range unknown {
		a.askInside(ctx, ip)
	}
}

// arpChanged is the ARP table's watcher. It runs under the table's
// lock, so it only notes that flows may need a sync and wakes Run.
func (a *App) arpChanged(op topo.ChangeOp, b topo.ARPBinding) { a.markDirty() }

func (a *App) markDirty() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// refresh syncs every switch once after ARP table changes: only the
// flows whose binding changed are rewritten (FlowSet.Sync).
func (a *App) refresh(ctx context.Context) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.syncAllLocked(ctx)
}
