package learning

import (
	"context"
	"slices"

	"github.com/ovsmesh/ovsmesh/apps"
	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/topo"
)

// pending is a move being verified: old is the MAC's current place,
// claim the place that claims it. The claimant is held off (dropped in
// the datapath) meanwhile; the current place is watched.
type pending struct {
	old, claim topo.MACEntry
	stop       func() bool
}

// claim handles here claiming a MAC that lives at old. One rule decides
// (issue 11): a move away from a place that is still active is verified
// before it is believed. A flapping MAC is damped at the claimant. A
// current place whose switch is gone or whose port is down or away is not
// active: the move is believed at once (a guest that moved hosts). Else
// the current place is watched for verify_timeout, and asked with an ARP
// probe for each of the MAC's IPs: a frame from it keeps the MAC there
// and holds the claimant off; silence moves the MAC. The MAC's current
// place is never the one held off.
func (a *App) claim(ctx context.Context, key topo.MACKey, old, here topo.MACEntry, deliver func([]flows.Message) []flows.Message) {
	if hold, damped := a.damp(key, here.Learned); damped {
		a.m.damped.Inc()
		a.log.Warn("MAC flapping: move damped", "mac", here.MAC.String(), "dpid", here.DPID.String(), "port", here.OFPort,
			"from_dpid", old.DPID.String(), "from_port", old.OFPort)
		a.send(ctx, here.DPID, []flows.Message{flows.AddFlow(a.plan.holdFlow(here, hold))})
		return
	}
	here.MAC = slices.Clone(here.MAC)
	if a.ownerGone(old) {
		a.moveTo(ctx, old, here, deliver)
		return
	}
	p := &pending{old: old, claim: here}
	a.pending[key] = p
	a.m.verifications.Inc()
	hold := secs(a.cfg.VerifyTimeout) + 1
	a.send(ctx, here.DPID, []flows.Message{flows.AddFlow(a.plan.holdFlow(here, hold))})
	msgs := []flows.Message{flows.AddFlow(a.plan.watch(old, hold))}
	for _, ip := range a.ipsOf(old.MAC, 4) {
		if po, err := apps.ARPProbe(old.MAC, ip, old.OFPort); err == nil {
			msgs = append(msgs, po)
		}
	}
	a.send(ctx, old.DPID, msgs)
	a.log.Info("MAC claimed by another place: verifying its current place", "mac", here.MAC.String(),
		"dpid", here.DPID.String(), "port", here.OFPort, "current_dpid", old.DPID.String(), "current_port", old.OFPort,
		"timeout", a.cfg.VerifyTimeout)
	p.stop = a.clock.AfterFunc(a.cfg.VerifyTimeout, func() {
		alive := a.watchHit(p)
		a.mu.Lock()
		defer a.mu.Unlock()
		if a.pending[key] == p {
			a.finish(context.Background(), key, p, alive)
		}
	})
}

// watchHit reports whether p's watch flow counted a frame of the MAC's
// current place: a frame that a datapath flow cached before the watch
// existed carried past it, without a packet-in, still shows there. It
// asks the switch, so it runs without the app's lock.
func (a *App) watchHit(p *pending) bool {
	a.mu.Lock()
	c := a.switches.Get(p.old.DPID)
	a.mu.Unlock()
	if c == nil {
		return false
	}
	n, err := apps.Hits(context.Background(), c.SW, TableClassify, PrioWatch, a.plan.watch(p.old, 0).Cookie)
	if err != nil {
		a.log.Debug("reading the watch flow's counters failed; the owner counts as silent", "mac", p.old.MAC.String(), "err", err)
	}
	return n > 0
}

// ownerGone reports whether e's place cannot be alive: its switch has no
// session, or its port is down or gone.
func (a *App) ownerGone(e topo.MACEntry) bool {
	c := a.switches.Get(e.DPID)
	return c == nil || !c.State.v.Local[e.OFPort]
}

// verifying handles a frame of a MAC whose move is being verified: from
// its current place, it is the proof of life; from anywhere else (the
// claimant, which its hold should stop, or a third place) it changes
// nothing.
func (a *App) verifying(ctx context.Context, key topo.MACKey, p *pending, here topo.MACEntry) {
	if here.DPID == p.old.DPID && here.OFPort == p.old.OFPort {
		a.finish(ctx, key, p, true)
	}
}

// finish ends a verification: alive keeps the MAC where it is and holds
// the claimant off for flap_window; silence moves it, if the table still
// has it at the verified place.
func (a *App) finish(ctx context.Context, key topo.MACKey, p *pending, alive bool) {
	delete(a.pending, key)
	p.stop()
	a.send(ctx, p.old.DPID, []flows.Message{flows.DeleteStrict(a.plan.watch(p.old, 0))})
	if alive {
		a.m.refused.Inc()
		a.log.Warn("MAC move refused: its current place is alive; the claimant is held off", "mac", p.claim.MAC.String(),
			"dpid", p.claim.DPID.String(), "port", p.claim.OFPort, "current_dpid", p.old.DPID.String(), "current_port", p.old.OFPort)
		a.send(ctx, p.claim.DPID, []flows.Message{flows.AddFlow(a.plan.holdFlow(p.claim, secs(a.cfg.FlapWindow)))})
		return
	}
	cur, ok := a.table.Get(key)
	if !ok || cur.DPID != p.old.DPID || cur.OFPort != p.old.OFPort {
		return // forgotten or changed meanwhile
	}
	a.log.Info("MAC moved: its old place stayed silent", "mac", p.claim.MAC.String(), "dpid", p.claim.DPID.String(), "port", p.claim.OFPort)
	a.moveTo(ctx, cur, p.claim, nil)
}

// cancel drops a verification whose MAC was forgotten.
func (a *App) cancel(key topo.MACKey, p *pending) {
	delete(a.pending, key)
	p.stop()
}

// moveTo believes the move of old's MAC to here, on every switch of its
// domain at once; deliver, if set, adds the waiting packet's delivery on
// here's switch.
func (a *App) moveTo(ctx context.Context, old, here topo.MACEntry, deliver func([]flows.Message) []flows.Message) {
	here.Moves = old.Moves + 1
	a.put(here, &old)
	a.m.moved.Inc()
	for dpid, msgs := range a.plan.move(a.domainViews(here.Domain), old, here) {
		if dpid == here.DPID && deliver != nil {
			msgs = deliver(msgs)
		}
		a.send(ctx, dpid, msgs)
	}
}
