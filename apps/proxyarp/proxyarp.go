package proxyarp

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/ovsmesh/ovsmesh/apps"
	"github.com/ovsmesh/ovsmesh/controller"
	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/topo"
)

// MACs is the slice of the learning app's MAC table the app reads: where
// a MAC was last seen, to tell whether a binding's owner is gone.
type MACs interface {
	Get(k topo.MACKey) (topo.MACEntry, bool)
}

// Static is a configured binding: it never ages and never changes MAC.
type Static struct {
	IP  netip.Addr
	MAC net.HardwareAddr
}

// Options configures the app.
type Options struct {
	// Mesh says which switches are mesh hosts; required. Proxy ARP runs
	// on mesh hosts only; other switches flood ARP.
	Mesh apps.Mesh
	// Meters are the controller's packet-in meters: with per-port
	// meters, ARP from each local port is inspected through its port's
	// meter.
	Meters controller.Meters
	// Table is the ARP table to fill; nil makes a private one. Bindings
	// already in it (restored from the state file) are replayed.
	Table *topo.ARPTable
	// MACs is the learning app's MAC table; nil means no MAC is known to
	// have moved.
	MACs MACs
	// Generation is the cookie generation of every flow the app installs.
	Generation uint16
	// L2 is the l2 stage, where ARP from tunnels goes; the registry
	// composes it. Default 40 (the learning app's).
	L2 flows.TableID
	// Aging drops a binding whose owner sent no ARP for this long;
	// whole seconds, default 20 min.
	Aging time.Duration
	// Hold is how long ARP from a refused claim is dropped in the
	// datapath; default 5 s.
	Hold time.Duration
	// Static bindings are put in the table at start.
	Static []Static
	// Declared is port security's table of declared bindings, treated as
	// static bindings and followed while Run runs (declared.go); nil for
	// none.
	Declared Declared
	// VerifyTimeout is how long a bound IP's owner has to show it is
	// alive when another MAC claims the IP; default 1 s.
	VerifyTimeout time.Duration
	// MaxIPsPerMAC and MaxBindings cap what one MAC may claim and the
	// table; 0 disables a cap.
	MaxIPsPerMAC, MaxBindings int
	// Clock is the time source; nil means apps.RealClock.
	Clock apps.Clock
	// Logger; nil discards.
	Logger *slog.Logger
	// Metrics; nil disables.
	Metrics *Metrics
}

// App is the proxy ARP app.
type App struct {
	opts Options
	plan planner
	log  *slog.Logger
	m    *Metrics

	// mu orders every table change with the flow messages it causes.
	mu       sync.Mutex
	table    *topo.ARPTable
	switches *apps.Switches[*swState]
	clock    apps.Clock
	perMAC   map[string]int           // bindings per MAC (string of its bytes)
	pending  map[netip.Addr]*pending  // claims being verified, by IP
	absent   map[flows.DPID]time.Time // switches holding bindings but no session, since when
}

// swState is the app's per-switch state; the switch's dispatcher writes
// it, other dispatchers read it under App.mu.
type swState struct {
	apps.Ports
	p *parser
	// inspect holds the per-port inspect flows (with per-port meters).
	inspect apps.FlowSet
}

// New returns the app, with the static bindings in its table.
func New(opts Options) *App {
	if opts.Aging <= 0 {
		opts.Aging = 20 * time.Minute
	}
	if opts.Hold <= 0 {
		opts.Hold = 5 * time.Second
	}
	if opts.L2 == 0 {
		opts.L2 = 40
	}
	if opts.Clock == nil {
		opts.Clock = apps.RealClock{}
	}
	if opts.VerifyTimeout <= 0 {
		opts.VerifyTimeout = time.Second
	}
	if opts.Table == nil {
		opts.Table = topo.NewARPTable()
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := opts.Metrics
	if m == nil {
		m = NewMetrics(nil)
	}
	a := &App{opts: opts, log: log, m: m, table: opts.Table, switches: apps.NewSwitches[*swState](), clock: opts.Clock,
		perMAC: map[string]int{}, pending: map[netip.Addr]*pending{}, absent: map[flows.DPID]time.Time{},
		plan: planner{gen: opts.Generation, l2: opts.L2, aging: secs(opts.Aging), hold: secs(opts.Hold), meters: opts.Meters}}
	now := opts.Clock.Now()
	for _, b := range a.table.Select(nil) {
		a.perMAC[string(b.MAC)]++
		if b.DPID != 0 {
			a.absent[b.DPID] = now
		}
	}
	a.setStatic(context.Background(), opts.Static, now)
	return a
}

// setStatic makes the table's static bindings exactly list and the
// declared bindings (withDeclared): a new or changed static binding
// replaces whatever the IP had (a learned binding of the same MAC just
// becomes static, in its place, its flows untouched), a static binding
// no longer listed is dropped, and the flows of connected switches
// follow (none are connected at start).
func (a *App) setStatic(ctx context.Context, list []Static, now time.Time) {
	list = a.withDeclared(list)
	for _, s := range list {
		b, ok := a.table.Get(s.IP)
		if ok && b.Static && string(b.MAC) == string(s.MAC) {
			continue
		}
		if ok && string(b.MAC) == string(s.MAC) {
			b.Static = true
			a.table.Put(b)
			continue
		}
		st := topo.ARPBinding{IP: s.IP, MAC: append(net.HardwareAddr(nil), s.MAC...), Static: true, Learned: now, Seen: now}
		if ok {
			a.drop(ctx, b)
		}
		a.put(st, nil)
		for dpid := range a.switches.All() {
			a.send(ctx, dpid, a.plan.install(dpid, st))
		}
	}
	for _, b := range a.table.Select(func(b topo.ARPBinding) bool { return b.Static }) {
		if !isStatic(list, b) {
			a.drop(ctx, b)
		}
	}
	a.gauges()
}

func isStatic(list []Static, b topo.ARPBinding) bool {
	for _, s := range list {
		if s.IP == b.IP && string(s.MAC) == string(b.MAC) {
			return true
		}
	}
	return false
}

// secs converts d to whole seconds for a flow timeout, within 1..65535.
func secs(d time.Duration) uint16 {
	return uint16(min(max(d/time.Second, 1), 65535))
}

// Name implements controller.App.
func (a *App) Name() string { return "proxyarp" }

// send queues msgs for dpid (apps.Switches.Send).
func (a *App) send(ctx context.Context, dpid flows.DPID, msgs []flows.Message) {
	a.switches.Send(ctx, a.log, dpid, msgs)
}

// gauges updates the responder-flow gauge (the binding count is the ARP
// table's own gauge, ovsmesh_arp_bindings).
func (a *App) gauges() {
	a.m.responders.Set(float64(a.table.Len() * a.switches.Len()))
}

// SwitchUp implements controller.SwitchUpHandler: on a mesh host it
// installs the ARP table's baseline and replays every binding (a
// responder each, and the known-sender flows of the bindings on this
// switch). Bindings whose port is gone while the switch was away are
// dropped.
func (a *App) SwitchUp(ctx context.Context, sw controller.Switch) error {
	s := &swState{Ports: apps.ClassifyPorts(a.opts.Mesh, sw), p: newParser(), inspect: apps.FlowSet{}}
	if s.Host == "" {
		return nil // not a mesh host: ARP is flooded as any broadcast
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.switches.Up(sw, s)
	delete(a.absent, s.DPID)
	msgs := append(a.plan.baseline(), s.inspect.Sync(a.plan.inspectPorts(s.Local))...)
	for _, b := range a.table.Select(nil) {
		if located(b, s.DPID) && !s.Local[b.OFPort] {
			a.m.portGone.Inc()
			a.forget(ctx, b)
			continue
		}
		msgs = append(msgs, a.plan.install(s.DPID, b)...)
	}
	a.gauges()
	if err := sw.Send(ctx, msgs...); err != nil {
		return fmt.Errorf("install proxy ARP flows: %w", err)
	}
	return nil
}

// SwitchDown implements controller.SwitchDownHandler. Bindings stay: the
// switch keeps answering from its flows and gets them replayed when it
// reconnects.
func (a *App) SwitchDown(ctx context.Context, sw controller.Switch) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.switches.Down(sw) {
		a.absent[sw.DPID()] = a.clock.Now()
	}
	a.gauges()
}

// forget drops b and its flows from every switch; a static binding only
// loses its place.
func (a *App) forget(ctx context.Context, b topo.ARPBinding) {
	if b.Static {
		now := b
		now.DPID, now.OFPort, now.Host = 0, 0, ""
		a.table.Put(now)
		a.send(ctx, b.DPID, []flows.Message{flows.DeleteStrict(a.plan.senderFlow(b))})
		return
	}
	a.drop(ctx, b)
}

// drop removes b, static or not, and its flows from every switch.
func (a *App) drop(ctx context.Context, b topo.ARPBinding) {
	if !a.table.Delete(b.IP) {
		return
	}
	a.perMAC[string(b.MAC)]--
	if p := a.pending[b.IP]; p != nil {
		a.cancel(b.IP, p)
	}
	for dpid := range a.switches.All() {
		a.send(ctx, dpid, a.plan.uninstall(dpid, b))
	}
	a.gauges()
}

// PortStatus implements controller.PortStatusHandler: a local port that
// goes down or away takes its bindings with it, everywhere (their owner
// is gone; a new owner's gratuitous ARP is then accepted).
func (a *App) PortStatus(ctx context.Context, sw controller.Switch, ps flows.PortStatus) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.switches.Get(sw.DPID())
	if c == nil {
		return nil
	}
	s := c.State
	s.Ports = apps.ClassifyPorts(a.opts.Mesh, sw)
	a.send(ctx, s.DPID, s.inspect.Sync(a.plan.inspectPorts(s.Local)))
	for _, b := range a.table.Select(func(b topo.ARPBinding) bool { return located(b, s.DPID) && !s.Local[b.OFPort] }) {
		a.m.portGone.Inc()
		a.log.Info("ARP binding dropped: its port is gone", "ip", b.IP, "mac", b.MAC.String(), "dpid", s.DPID.String(), "port", b.OFPort)
		a.forget(ctx, b)
	}
	return nil
}

// FlowRemoved implements controller.FlowRemovedHandler: a known-sender
// flow that idled out means the binding's owner sent no ARP for the
// aging time; the binding is dropped mesh-wide.
func (a *App) FlowRemoved(ctx context.Context, sw controller.Switch, fr *flows.FlowRemoved) error {
	if fr.Table != TableARP || fr.Priority != PrioARPKnownSender ||
		fr.Reason != flows.RemovedIdleTimeout || !fr.Match.ARPSPA.IsValid() {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	b, ok := a.table.Get(fr.Match.ARPSPA)
	if !ok || !located(b, sw.DPID()) || b.OFPort != fr.Match.InPort || string(b.MAC) != string(fr.Match.EthSrc) {
		return nil // changed or dropped already
	}
	a.m.aged.Inc()
	a.log.Info("ARP binding aged out", "ip", b.IP, "mac", b.MAC.String(), "host", b.Host, "port", b.OFPort)
	if b.Static {
		return nil // static bindings never age; the next ARP reinstalls the flow
	}
	a.forget(ctx, b)
	return nil
}
