package proxyarp

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/ovsmesh/ovsmesh/controller"
	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/topo"
)

// Mesh is the slice of topo the app needs: which DPIDs are configured
// hosts. Proxy ARP runs on mesh hosts only; other switches flood ARP.
type Mesh interface {
	HostByDPID(dpid flows.DPID) (topo.Host, bool)
}

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
	// Mesh says which switches are mesh hosts; required.
	Mesh Mesh
	// Table is the ARP table to fill; nil makes a private one. Bindings
	// already in it (restored from the state file) are replayed.
	Table *topo.ARPTable
	// MACs is the learning app's MAC table; nil means no MAC is known to
	// have moved.
	MACs MACs
	// Generation is the cookie generation of every flow the app installs.
	Generation uint16
	// Aging drops a binding whose owner sent no ARP for this long;
	// whole seconds, default 20 min.
	Aging time.Duration
	// Hold is how long ARP from a refused claim is dropped in the
	// datapath; default 5 s.
	Hold time.Duration
	// Static bindings are put in the table at start.
	Static []Static
	// Now is the clock; default time.Now.
	Now func() time.Time
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
	switches map[flows.DPID]*swState
}

// swState is the app's per-switch state; the switch's dispatcher writes
// it, other dispatchers read it under App.mu.
type swState struct {
	sw    controller.Switch
	dpid  flows.DPID
	host  string
	local map[flows.OFPort]bool
	p     *parser
}

// New returns the app, with the static bindings in its table.
func New(opts Options) *App {
	if opts.Aging <= 0 {
		opts.Aging = 20 * time.Minute
	}
	if opts.Hold <= 0 {
		opts.Hold = 5 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
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
	a := &App{opts: opts, log: log, m: m, table: opts.Table, switches: map[flows.DPID]*swState{},
		plan: planner{gen: opts.Generation, aging: secs(opts.Aging), hold: secs(opts.Hold)}}
	now := opts.Now()
	for _, s := range opts.Static {
		b, ok := a.table.Get(s.IP)
		if ok && b.Static && string(b.MAC) == string(s.MAC) {
			continue
		}
		a.table.Put(topo.ARPBinding{IP: s.IP, MAC: append(net.HardwareAddr(nil), s.MAC...), Static: true, Learned: now, Seen: now})
	}
	// A binding restored as static that the configuration no longer
	// lists is dropped.
	for _, b := range a.table.Select(func(b topo.ARPBinding) bool { return b.Static }) {
		if !isStatic(opts.Static, b) {
			a.table.Delete(b.IP)
		}
	}
	m.bindings.Set(float64(a.table.Len()))
	return a
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

// localPorts returns sw's up ports that are not ovsmesh tunnels.
func localPorts(sw controller.Switch) map[flows.OFPort]bool {
	local := map[flows.OFPort]bool{}
	for _, p := range sw.Ports() {
		if p.Up() && !strings.HasPrefix(p.Name, topo.TunnelPortName("")) {
			local[p.No] = true
		}
	}
	return local
}

// send queues msgs for dpid; a closed or slow switch is skipped (it is
// replayed when it reconnects).
func (a *App) send(ctx context.Context, dpid flows.DPID, msgs []flows.Message) {
	s := a.switches[dpid]
	if s == nil || len(msgs) == 0 {
		return
	}
	if err := s.sw.Send(ctx, msgs...); err != nil {
		a.log.Debug("send to switch failed", "dpid", dpid.String(), "err", err)
	}
}

// gauges updates the bindings and responder-flow gauges.
func (a *App) gauges() {
	n := a.table.Len()
	a.m.bindings.Set(float64(n))
	a.m.responders.Set(float64(n * len(a.switches)))
}

// SwitchUp implements controller.SwitchUpHandler: on a mesh host it
// installs the ARP table's baseline and replays every binding (a
// responder each, and the known-sender flows of the bindings on this
// switch). Bindings whose port is gone while the switch was away are
// dropped.
func (a *App) SwitchUp(ctx context.Context, sw controller.Switch) error {
	h, ok := a.opts.Mesh.HostByDPID(sw.DPID())
	if !ok {
		return nil // not a mesh host: ARP is flooded as any broadcast
	}
	s := &swState{sw: sw, dpid: sw.DPID(), host: h.Name, local: localPorts(sw), p: newParser()}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.switches[s.dpid] = s
	msgs := a.plan.baseline()
	for _, b := range a.table.Select(nil) {
		if located(b, s.dpid) && !s.local[b.OFPort] {
			a.m.portGone.Inc()
			a.forget(ctx, b)
			continue
		}
		msgs = append(msgs, a.plan.install(s.dpid, b)...)
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
	if s := a.switches[sw.DPID()]; s != nil && s.sw == sw {
		delete(a.switches, sw.DPID())
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
		if s := a.switches[b.DPID]; s != nil {
			a.send(ctx, b.DPID, []flows.Message{flows.DeleteStrict(a.plan.senderFlow(b))})
		}
		return
	}
	if !a.table.Delete(b.IP) {
		return
	}
	for dpid := range a.switches {
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
	s := a.switches[sw.DPID()]
	if s == nil {
		return nil
	}
	s.local = localPorts(sw)
	for _, b := range a.table.Select(func(b topo.ARPBinding) bool { return located(b, s.dpid) && !s.local[b.OFPort] }) {
		a.m.portGone.Inc()
		a.log.Info("ARP binding dropped: its port is gone", "ip", b.IP, "mac", b.MAC.String(), "dpid", s.dpid.String(), "port", b.OFPort)
		a.forget(ctx, b)
	}
	return nil
}

// FlowRemoved implements controller.FlowRemovedHandler: a known-sender
// flow that idled out means the binding's owner sent no ARP for the
// aging time; the binding is dropped mesh-wide.
func (a *App) FlowRemoved(ctx context.Context, sw controller.Switch, fr *flows.FlowRemoved) error {
	if fr.Cookie.App() != flows.AppProxyARP || fr.Table != flows.TableARP || fr.Priority != flows.PrioARPKnownSender ||
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
