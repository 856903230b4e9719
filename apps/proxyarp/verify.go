package proxyarp

import (
	"context"
	"net"
	"net/netip"

	"github.com/gopacket/gopacket/layers"

	"github.com/ovsmesh/ovsmesh/apps"
	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/topo"
)

// pending is a claim being verified: old is the bound IP's owner at the
// place it lives now, claim the other MAC that claims the IP.
type pending struct {
	old, claim topo.ARPBinding
	stop       func() bool
}

// conflict handles here claiming the IP of old (another MAC). One rule
// decides (issue 11): a claim of a live binding is verified before it is
// believed. A static binding never changes. An owner whose switch has no
// session, or whose port is down or gone, is not alive: the claim is
// believed at once (it reports true; the caller sends the claimant's
// packet on). Else the owner is asked with an ARP probe (RFC 5227) and
// watched for verify_timeout, the claimant held off meanwhile: an answer
// keeps the binding and holds the claimant off longer; silence hands the
// IP over (a container re-created with its old IP and a new MAC). The
// owner is never the one held off.
func (a *App) conflict(ctx context.Context, old, here topo.ARPBinding) bool {
	hold := a.plan.holdFlow(here.OFPort, here.MAC, here.MAC, here.IP)
	if old.Static {
		a.m.conflicts.Inc()
		a.log.Warn("ARP conflict: claim of a static binding refused", "ip", here.IP, "mac", here.MAC.String(),
			"dpid", here.DPID.String(), "port", here.OFPort, "bound_mac", old.MAC.String())
		a.send(ctx, here.DPID, []flows.Message{flows.AddFlow(hold)})
		return false
	}
	owner := a.ownerPlace(old)
	if a.gone(owner) {
		a.m.changed.Inc()
		a.log.Info("ARP binding changed: the old owner is gone", "ip", here.IP, "mac", here.MAC.String(), "old_mac", old.MAC.String(),
			"host", here.Host, "port", here.OFPort)
		here.Learned = a.clock.Now()
		a.rebind(ctx, old, here)
		return true
	}
	p := &pending{old: owner, claim: here}
	a.pending[here.IP] = p
	a.m.verifications.Inc()
	secs := secs(a.opts.VerifyTimeout) + 1
	hold.HardTimeout = secs
	a.send(ctx, here.DPID, []flows.Message{flows.AddFlow(hold)})
	msgs := []flows.Message{flows.AddFlow(a.plan.watchFlow(owner, secs))}
	if po, err := apps.ARPProbe(owner.MAC, here.IP, owner.OFPort); err == nil {
		msgs = append(msgs, po)
	}
	a.send(ctx, owner.DPID, msgs)
	a.log.Info("ARP claim of a bound IP: verifying its owner", "ip", here.IP, "mac", here.MAC.String(),
		"dpid", here.DPID.String(), "port", here.OFPort, "bound_mac", old.MAC.String(), "timeout", a.opts.VerifyTimeout)
	p.stop = a.clock.AfterFunc(a.opts.VerifyTimeout, func() {
		alive := a.watchHit(p)
		a.mu.Lock()
		defer a.mu.Unlock()
		if a.pending[here.IP] == p {
			a.finish(context.Background(), here.IP, p, alive)
		}
	})
	return false
}

// watchHit reports whether p's watch flow counted ARP from the owner:
// an answer to the probe that a datapath flow cached before the watch
// existed carried past it, without a packet-in, still shows there. It
// asks the switch, so it runs without the app's lock.
func (a *App) watchHit(p *pending) bool {
	a.mu.Lock()
	c := a.switches.Get(p.old.DPID)
	a.mu.Unlock()
	if c == nil {
		return false
	}
	n, err := apps.Hits(context.Background(), c.SW, TableARP, PrioARPWatch, a.plan.watchFlow(p.old, 0).Cookie)
	if err != nil {
		a.log.Debug("reading the watch flow's counters failed; the owner counts as silent", "ip", p.claim.IP, "err", err)
	}
	return n > 0
}

// ownerPlace is b with the place where its MAC lives now, as the
// learning app has it (the binding's own place when the MAC table does
// not know the MAC).
func (a *App) ownerPlace(b topo.ARPBinding) topo.ARPBinding {
	if a.opts.MACs != nil {
		if e, ok := a.opts.MACs.Get(topo.KeyOf(0, b.MAC)); ok {
			b.DPID, b.OFPort, b.Host = e.DPID, e.OFPort, e.Host
		}
	}
	return b
}

// gone reports whether b's owner cannot be alive: no place, no session
// of its switch, or its port down or gone.
func (a *App) gone(b topo.ARPBinding) bool {
	c := a.switches.Get(b.DPID)
	return b.OFPort == 0 || c == nil || !c.State.Local[b.OFPort]
}

// isOwner reports whether here comes from owner's MAC at owner's place.
func isOwner(owner, here topo.ARPBinding) bool {
	return string(owner.MAC) == string(here.MAC) && owner.DPID == here.DPID && owner.OFPort == here.OFPort
}

// finish ends a verification: alive keeps the binding and holds the
// claimant off for the hold time; silence hands the IP to the claimant,
// if the binding is still the one verified.
func (a *App) finish(ctx context.Context, ip netip.Addr, p *pending, alive bool) {
	delete(a.pending, ip)
	p.stop()
	a.send(ctx, p.old.DPID, []flows.Message{flows.DeleteStrict(a.plan.watchFlow(p.old, 0))})
	c := p.claim
	if alive {
		a.m.conflicts.Inc()
		a.log.Warn("ARP conflict: claim of a live binding refused; the claimant is held off", "ip", ip, "mac", c.MAC.String(),
			"dpid", c.DPID.String(), "port", c.OFPort, "bound_mac", p.old.MAC.String(), "bound_host", p.old.Host, "bound_port", p.old.OFPort)
		a.send(ctx, c.DPID, []flows.Message{flows.AddFlow(a.plan.holdFlow(c.OFPort, c.MAC, c.MAC, ip))})
		return
	}
	cur, ok := a.table.Get(ip)
	if !ok || string(cur.MAC) != string(p.old.MAC) {
		return // dropped or changed meanwhile
	}
	a.m.changed.Inc()
	a.log.Info("ARP binding changed: the old owner stayed silent", "ip", ip, "mac", c.MAC.String(), "old_mac", cur.MAC.String(),
		"host", c.Host, "port", c.OFPort)
	c.Learned, c.Seen = a.clock.Now(), a.clock.Now()
	a.send(ctx, c.DPID, []flows.Message{flows.DeleteStrict(a.plan.holdFlow(c.OFPort, c.MAC, c.MAC, ip))})
	a.rebind(ctx, cur, c)
}

// cancel drops a verification whose binding went away.
func (a *App) cancel(ip netip.Addr, p *pending) {
	delete(a.pending, ip)
	p.stop()
}

// announce tells the guests that b.IP is now at b.MAC: a gratuitous ARP
// request (RFC 5227 §3) out of every local port of every mesh host but
// the owner's own, so neighbour caches holding the old MAC switch at
// once instead of failing until they expire.
func (a *App) announce(ctx context.Context, b topo.ARPBinding) {
	data, err := announcement(b)
	if err != nil {
		return
	}
	for dpid, c := range a.switches.All() {
		var actions []flows.Action
		for _, port := range apps.SortedPorts(c.State.Local) {
			if dpid == b.DPID && port == b.OFPort || port == flows.PortLocal {
				continue
			}
			actions = append(actions, flows.Output{Port: port})
		}
		if len(actions) > 0 {
			a.m.announced.Inc()
			a.send(ctx, dpid, []flows.Message{flows.PacketOut{InPort: flows.PortController, Actions: actions, Data: data}})
		}
	}
}

// announcement builds the gratuitous ARP request announcing b.IP at b.MAC.
func announcement(b topo.ARPBinding) ([]byte, error) {
	bcast := net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	return apps.ARPFrame(b.MAC, bcast, layers.ARPRequest, b.MAC, b.IP, make(net.HardwareAddr, 6), b.IP)
}
