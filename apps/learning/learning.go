package learning

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/ovsmesh/ovsmesh/apps"
	"github.com/ovsmesh/ovsmesh/controller"
	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/topo"
)

// IPs is the slice of the ARP table the app reads: the IPv4 addresses a
// MAC holds, to ask it with an ARP probe whether it is still there.
type IPs interface {
	Select(keep func(topo.ARPBinding) bool) []topo.ARPBinding
}

// Options configures the app.
type Options struct {
	// Mesh says which switches are mesh hosts; nil makes every switch
	// standalone.
	Mesh apps.Mesh
	// Meters are the controller's packet-in meters: copies of unknown
	// sources go through their port's meter when it has one.
	Meters controller.Meters
	// Table is the MAC table to fill; nil makes a private one.
	Table *topo.MACTable
	// IPs is the ARP table, read to probe a MAC's owner; nil: MAC moves
	// are verified by watching for the owner's own frames only.
	IPs IPs
	// Generation is the cookie generation of every flow the app installs.
	Generation uint16
	// Next is the stage after classify: where admitted packets go. The
	// registry composes it; default TableL2 (no stage in between).
	Next flows.TableID
	// Config holds the limits and timers (DefaultConfig when zero).
	Config Config
	// Clock is the time source; nil means apps.RealClock.
	Clock apps.Clock
	// Logger; nil discards.
	Logger *slog.Logger
	// Metrics; nil disables.
	Metrics *Metrics
}

// App is the mesh-wide learning switch.
type App struct {
	opts  Options
	cfg   Config
	plan  planner
	log   *slog.Logger
	m     *Metrics
	clock apps.Clock

	// mu orders every table change with the flow messages it causes, so
	// each switch receives them in the order the table changed. It
	// guards everything below and the table's writes.
	mu       sync.Mutex
	table    *topo.MACTable
	switches *apps.Switches[*swState]
	moves    map[topo.MACKey][]time.Time // recent move times per MAC
	perPort  map[place]int               // MACs learned behind each port
	pending  map[topo.MACKey]*pending    // moves being verified
	absent   map[flows.DPID]time.Time    // switches with MACs but no session, since when
}

// place is a switch port.
type place struct {
	dpid flows.DPID
	port flows.OFPort
}

// view is what the planner knows of one switch: its ports, and its MAC
// domain (0 for mesh hosts, the DPID for a standalone switch).
type view struct {
	apps.Ports
	domain flows.DPID
}

// swState is the app's per-switch state. The switch's dispatcher writes
// it; other switches' dispatchers read it under App.mu.
type swState struct {
	v      view
	parser *gopacket.DecodingLayerParser
	eth    layers.Ethernet
	layers []gopacket.LayerType
}

// New returns the app. Entries already in the table (restored from the
// state file) are counted against the caps, and their switches are
// absent until they connect.
func New(opts Options) *App {
	cfg := opts.Config
	def := DefaultConfig()
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = def.IdleTimeout
	}
	if cfg.FlapMoves <= 0 {
		cfg.FlapMoves = def.FlapMoves
	}
	if cfg.FlapWindow <= 0 {
		cfg.FlapWindow = def.FlapWindow
	}
	if cfg.VerifyTimeout <= 0 {
		cfg.VerifyTimeout = def.VerifyTimeout
	}
	if cfg.PortLimitHold <= 0 {
		cfg.PortLimitHold = def.PortLimitHold
	}
	if opts.Next == 0 {
		opts.Next = TableL2
	}
	if opts.Clock == nil {
		opts.Clock = apps.RealClock{}
	}
	if opts.Table == nil {
		opts.Table = topo.NewMACTable()
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := opts.Metrics
	if m == nil {
		m = NewMetrics(nil)
	}
	a := &App{opts: opts, cfg: cfg, log: log, m: m, clock: opts.Clock, table: opts.Table,
		plan:     planner{gen: opts.Generation, next: opts.Next, idleTimeout: secs(cfg.IdleTimeout), meters: opts.Meters},
		switches: apps.NewSwitches[*swState](), moves: map[topo.MACKey][]time.Time{},
		perPort: map[place]int{}, pending: map[topo.MACKey]*pending{}, absent: map[flows.DPID]time.Time{}}
	now := a.clock.Now()
	for _, e := range a.table.Select(nil) {
		a.perPort[place{e.DPID, e.OFPort}]++
		a.absent[e.DPID] = now
	}
	return a
}

// secs converts d to whole seconds for a flow timeout, within 1..65535.
func secs(d time.Duration) uint16 {
	return uint16(min(max(d/time.Second, 1), 65535))
}

// Name implements controller.App.
func (a *App) Name() string { return "learning" }

// Table returns the MAC table the app fills.
func (a *App) Table() *topo.MACTable { return a.table }

// newView classifies sw's ports (apps.ClassifyPorts) and its domain.
func (a *App) newView(sw controller.Switch) view {
	v := view{Ports: apps.ClassifyPorts(a.opts.Mesh, sw)}
	if v.Host == "" {
		v.domain = v.DPID
	}
	return v
}

// domainViews returns the views of every switch in domain.
func (a *App) domainViews(domain flows.DPID) []*view {
	var out []*view
	for _, s := range a.switches.All() {
		if s.State.v.domain == domain {
			out = append(out, &s.State.v)
		}
	}
	return out
}

// send queues msgs for dpid (apps.Switches.Send).
func (a *App) send(ctx context.Context, dpid flows.DPID, msgs []flows.Message) {
	a.switches.Send(ctx, a.log, dpid, msgs)
}

// put stores e (new, moved or refreshed) and keeps the per-port counts.
func (a *App) put(e topo.MACEntry, old *topo.MACEntry) {
	if old != nil {
		a.perPort[place{old.DPID, old.OFPort}]--
	}
	a.perPort[place{e.DPID, e.OFPort}]++
	a.table.Put(e)
}

// SwitchUp implements controller.SwitchUpHandler: it installs the flood
// groups, the tunnel admission flows, one unknown-source flow per local
// port and the probe drop, and replays every MAC of the switch's domain
// (with idle timeouts spread by MAC). The stages' table-miss entries are
// the controller's baseline.
func (a *App) SwitchUp(ctx context.Context, sw controller.Switch) error {
	s := &swState{v: a.newView(sw)}
	s.parser = gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &s.eth)
	s.parser.IgnoreUnsupported = true
	a.mu.Lock()
	defer a.mu.Unlock()
	a.switches.Up(sw, s)
	delete(a.absent, s.v.DPID)
	msgs := a.plan.baseline(&s.v)
	for _, e := range a.table.Select(func(e topo.MACEntry) bool { return e.Domain == s.v.domain }) {
		if e.DPID == s.v.DPID && !s.v.Local[e.OFPort] {
			a.forget(ctx, e) // its port is gone while the switch was away
			continue
		}
		msgs = append(msgs, a.plan.replay(&s.v, e)...)
	}
	if err := sw.Send(ctx, msgs...); err != nil {
		return fmt.Errorf("install baseline: %w", err)
	}
	return nil
}

// SwitchDown implements controller.SwitchDownHandler. Learned MACs stay:
// the switch keeps forwarding on its flows (fail_mode=secure) and gets
// them replayed when it reconnects. If it stays away longer than the
// idle timeout, its MACs age out (Run).
func (a *App) SwitchDown(ctx context.Context, sw controller.Switch) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.switches.Down(sw) {
		a.absent[sw.DPID()] = a.clock.Now()
	}
}

// isMulticast reports whether mac has the group bit set.
func isMulticast(mac net.HardwareAddr) bool { return mac[0]&1 == 1 }

// ipsOf returns the IPv4 addresses bound to mac, at most n.
func (a *App) ipsOf(mac net.HardwareAddr, n int) []netip.Addr {
	if a.opts.IPs == nil {
		return nil
	}
	var out []netip.Addr
	for _, b := range a.opts.IPs.Select(func(b topo.ARPBinding) bool { return string(b.MAC) == string(mac) }) {
		if len(out) < n {
			out = append(out, b.IP)
		}
	}
	return out
}
