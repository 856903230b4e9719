package trace

import (
	"context"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/ovsmesh/ovsmesh/flows"
)

// stop is one packet-in of a temporary flow: the probe stopped at table
// on dpid, with the packet as it was there and its pipeline fields.
type stop struct {
	dpid  flows.DPID
	table flows.TableID
	data  []byte
	match []byte // the packet-in's OXM TLVs
}

// tracer is one running probe.
type tracer struct {
	a     *App
	ctx   context.Context
	seq   uint32
	id    uint16 // an IPv4 probe's IP identification
	arp   bool   // an ARP probe: tunnel crossings are emulated
	stops chan stop
	res   *Result

	hosts     map[flows.DPID]*hostView
	paths     []*path
	crossings []*crossing
	hops      int
}

// path is the probe's pass through one switch: one Visit.
type path struct {
	host   *hostView
	visit  int // index in res.Visits
	inPort flows.OFPort
	// anchor is where replays start: the packet and the pipeline state
	// to give it, and the table to resubmit it to.
	anchor anchor
	// mask has the bits of the stages passed.
	mask uint32
	// prev is the packet at the last stop, to see rewrites.
	prev *flows.PacketFields
	// waiting is set while the next stop is expected, until until.
	waiting bool
	until   time.Time
	after   string // the stage the packet left, for a loss's reason
}

// anchor is a replay's start: the packet data entering table, with the
// metadata and registers to restore first when restore is set (after
// the controller continued a packet past a flow it did not let run).
type anchor struct {
	table    flows.TableID
	data     []byte
	restore  bool
	metadata uint64
	regs     [16]uint32
}

// crossing is a copy sent through a tunnel, expected at the peer.
type crossing struct {
	Crossing
	from    *path
	dpid    flows.DPID // the peer's switch
	until   time.Time
	arrived bool
}

// run injects frame at src and follows it until every copy has ended,
// or the probe's time is up. The trace flows must be installed on the
// switches in t.hosts.
func (t *tracer) run(src end, frame []byte, deadline time.Time) {
	h := t.hosts[src.dpid]
	if h == nil {
		t.res.Warnings = append(t.res.Warnings, fmt.Sprintf("%s, where SRC sits, has no trace flows", src.Host))
		return
	}
	p := t.newPath(h, src.port, "", frame, nil)
	t.replay(p)
	step := t.a.opts.Config.StepTimeout
	for {
		next, pending := t.nextDeadline()
		if !pending {
			return
		}
		if next.After(deadline) {
			next = deadline
		}
		timer := time.NewTimer(time.Until(next))
		select {
		case ev := <-t.stops:
			timer.Stop()
			t.handle(ev)
		case <-timer.C:
			t.expire(t.a.opts.Clock.Now(), deadline)
		case <-t.ctx.Done():
			timer.Stop()
			t.expire(deadline.Add(step), deadline)
			return
		}
	}
}

// nextDeadline returns the earliest time something expected is due, and
// whether anything is.
func (t *tracer) nextDeadline() (time.Time, bool) {
	var next time.Time
	pending := false
	consider := func(u time.Time) {
		if !pending || u.Before(next) {
			next, pending = u, true
		}
	}
	for _, p := range t.paths {
		if p.waiting {
			consider(p.until)
		}
	}
	for _, c := range t.crossings {
		if !c.arrived && !c.until.IsZero() {
			consider(c.until)
		}
	}
	return next, pending
}

// expire reports as lost what was due before now (everything once the
// probe's deadline has passed).
func (t *tracer) expire(now, deadline time.Time) {
	late := !now.Before(deadline)
	for _, p := range t.paths {
		if p.waiting && (late || !now.Before(p.until)) {
			p.waiting = false
			v := t.res.Visits[p.visit]
			t.verdict(Verdict{Kind: Lost, Visit: p.visit, Host: v.Host, Stage: p.after,
				Reason: fmt.Sprintf("the packet did not reach the next stage after %s within %v: the switch did something else than its flows say, or dropped the packet-in", p.after, t.a.opts.Config.StepTimeout)})
		}
	}
	for _, c := range t.crossings {
		if !c.arrived && !c.until.IsZero() && (late || !now.Before(c.until)) {
			c.until = time.Time{}
			t.verdict(Verdict{Kind: Lost, Visit: c.FromVisit, Host: c.From, Stage: c.PortName,
				Reason: fmt.Sprintf("sent through the tunnel to %s (port %s); %s did not show it within %v (tunnel down, or %s not connected?)",
					c.To, flows.PortString(c.Port), c.To, t.a.opts.Config.StepTimeout, c.To)})
		}
	}
}

// newPath starts a visit of h by a packet that entered by inPort (from
// the peer from, "" for the source).
func (t *tracer) newPath(h *hostView, inPort flows.OFPort, from string, data []byte, fields *flows.PacketFields) *path {
	f := fields
	if f == nil {
		f, _ = flows.ParsePacket(data, nil)
	}
	t.res.Visits = append(t.res.Visits, Visit{Host: h.name, DPID: h.sw.DPID().String(), InPort: inPort, InPortName: h.names[inPort],
		From: from, Packet: hex.EncodeToString(data), Flow: fmt.Sprintf("in_port=%d,%s", inPort, f.FlowString()),
		Hops: []Hop{}, dpid: h.sw.DPID()})
	p := &path{host: h, visit: len(t.res.Visits) - 1, inPort: inPort, anchor: anchor{data: data}}
	t.paths = append(t.paths, p)
	return p
}

// replay injects p's packet at its anchor with the stages of p.mask
// marked as passed, and waits for the next stop.
func (t *tracer) replay(p *path) {
	var actions []flows.Action
	if a := p.anchor; a.restore {
		actions = append(actions, flows.SetMetadata{Value: a.metadata})
		for i, v := range a.regs {
			if v != 0 && uint8(i) != Reg {
				actions = append(actions, flows.SetReg{Reg: uint8(i), Value: v})
			}
		}
	}
	actions = append(actions, flows.SetReg{Reg: Reg, Value: p.mask}, flows.Resubmit{Table: p.anchor.table})
	po := flows.PacketOut{InPort: p.inPort, Actions: actions, Data: p.anchor.data}
	if err := p.host.sw.Send(t.ctx, po); err != nil {
		t.verdict(Verdict{Kind: Lost, Visit: p.visit, Host: p.host.name, Stage: p.after, Reason: fmt.Sprintf("sending the probe failed: %v", err)})
		return
	}
	p.waiting, p.until = true, t.a.opts.Clock.Now().Add(t.a.opts.Config.StepTimeout)
}

// handle takes one stop: it finds the path (or the tunnel crossing) it
// belongs to and follows the packet on.
func (t *tracer) handle(ev stop) {
	h := t.hosts[ev.dpid]
	fields, err := flows.ParsePacket(ev.data, ev.match)
	if h == nil || err != nil {
		t.stray(fmt.Sprintf("a packet-in from %s that is no stop of this probe (%v)", t.a.hostName(ev.dpid), err))
		return
	}
	if !tagged(fields, t.arp) || (!t.arp && ipID(ev.data) != t.id) {
		// Only the probe's own packets are stops (a guest's tagged
		// packet, or a late copy of an earlier probe, is not), and
		// nothing else is ever sent on.
		t.stray(fmt.Sprintf("a packet-in from %s table %d that is not this probe's: ignored", h.name, ev.table))
		return
	}
	mask, in := fields.Reg(Reg), fields.InPort()
	for _, p := range t.paths {
		if p.host == h && p.waiting && p.mask == mask && p.inPort == in {
			p.waiting = false
			t.a.m.packetIns.WithLabelValues("hop").Inc()
			t.step(p, ev, fields)
			return
		}
	}
	if mask == 0 {
		for _, c := range t.crossings {
			if c.dpid == ev.dpid && c.ToPort == in {
				if c.arrived || c.until.IsZero() {
					return // a second copy (a replay went through the tunnel again), or too late
				}
				c.arrived, c.Arrived = true, true
				p := t.newPath(h, in, c.From, ev.data, fields)
				c.ToVisit = p.visit
				t.a.m.packetIns.WithLabelValues("hop").Inc()
				t.step(p, ev, fields)
				return
			}
		}
	}
	t.stray(fmt.Sprintf("an unexpected copy of the probe at %s table %d (in_port %d)", h.name, ev.table, in))
}

// stray counts a packet-in that is no stop of the probe, and says so.
func (t *tracer) stray(warning string) {
	t.a.m.packetIns.WithLabelValues("stray").Inc()
	t.res.Warnings = append(t.res.Warnings, warning)
}

// step is one stop of p at ev.table: find the flow that decides it,
// record the hop, and go on.
func (t *tracer) step(p *path, ev stop, fields *flows.PacketFields) {
	h := p.host
	v := &t.res.Visits[p.visit]
	stage := t.a.opts.Pipeline.Name(ev.table)
	hop := Hop{Table: uint8(ev.table), Stage: stage}
	here := Verdict{Visit: p.visit, Host: h.name, Table: hop.Table, Stage: stage}
	if p.prev != nil {
		hop.Rewrites = p.prev.Diff(fields)
	}
	p.prev, p.after = fields, stage
	if t.hops++; t.hops > t.a.opts.Config.MaxHops {
		t.verdict(here.with(Lost, fmt.Sprintf("more than %d stops: a loop?", t.a.opts.Config.MaxHops)))
		t.stopAll()
		return
	}
	f, notes, err := h.lookup(t.ctx, ev.table, fields)
	hop.Notes = notes
	if err != nil {
		hop.Outcome = "unknown"
		v.Hops = append(v.Hops, hop)
		t.verdict(here.with(Lost, fmt.Sprintf("reading the stage's flows failed: %v", err)))
		return
	}
	if f == nil {
		hop.Outcome, hop.App = "drop", "none"
		v.Hops = append(v.Hops, hop)
		t.verdict(here.with(Dropped, "no flow matches, and the table has no table-miss entry (OpenFlow 1.3 drops)"))
		return
	}
	t.describe(&hop, f)
	eff, err := flows.DecodeInstructions(f.Instructions)
	if err != nil {
		eff.Unknown = append(eff.Unknown, "instructions that do not decode: "+err.Error())
	}
	outs := t.outputs(h, &eff, fields.InPort())
	v.Hops = append(v.Hops, t.decide(p, ev, fields, hop, here, f, &eff, outs))
}

// describe fills hop with flow f: priority, cookie decoded, match and
// actions as ovs-ofctl prints them.
func (t *tracer) describe(hop *Hop, f *flows.FlowStats) {
	hop.Priority, hop.Cookie = f.Priority, f.Cookie.String()
	hop.appID, hop.Object = f.Cookie.App(), f.Cookie.Object()
	hop.App = "none"
	if f.Cookie.Owned() {
		hop.App = t.a.opts.AppName(f.Cookie.App())
	}
	hop.Match = flows.MatchString(f.Match, f.RawMatch)
	hop.Actions = flows.FormatInstructions(f.Instructions)
}

// stopAll ends every path and crossing: the probe gives up.
func (t *tracer) stopAll() {
	for _, p := range t.paths {
		p.waiting = false
	}
	for _, c := range t.crossings {
		c.until = time.Time{}
	}
}

// verdict records where a copy of the packet ended.
func (t *tracer) verdict(v Verdict) { t.res.Verdicts = append(t.res.Verdicts, v) }

// with returns v with kind and reason.
func (v Verdict) with(kind, reason string) Verdict {
	v.Kind, v.Reason = kind, reason
	return v
}
