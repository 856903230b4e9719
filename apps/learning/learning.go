package learning

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/ovsmesh/ovsmesh/apps"
	"github.com/ovsmesh/ovsmesh/controller"
	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/topo"
)

// Options configures the app.
type Options struct {
	// Mesh says which switches are mesh hosts; nil makes every switch
	// standalone.
	Mesh apps.Mesh
	// Table is the MAC table to fill; nil makes a private one.
	Table *topo.MACTable
	// Generation is the cookie generation of every flow the app installs.
	Generation uint16
	// Next is the stage after classify: where admitted packets go. The
	// registry composes it; default TableL2 (no stage in between).
	Next flows.TableID
	// IdleTimeout ages a silent MAC; whole seconds, default 300 s.
	IdleTimeout time.Duration
	// FlapMoves moves of one MAC within FlapWindow mark it as flapping;
	// its next move is refused and the new location dropped for
	// FlapWindow. Defaults 4 and 10 s.
	FlapMoves  int
	FlapWindow time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger; nil discards.
	Logger *slog.Logger
	// Metrics; nil disables.
	Metrics *Metrics
}

// App is the mesh-wide learning switch.
type App struct {
	opts Options
	plan planner
	log  *slog.Logger
	m    *Metrics

	// mu orders every table change with the flow messages it causes, so
	// each switch receives them in the order the table changed.
	mu       sync.Mutex
	table    *topo.MACTable
	switches *apps.Switches[*swState]
	moves    map[topo.MACKey][]time.Time // recent move times per MAC
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

// New returns the app.
func New(opts Options) *App {
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = 300 * time.Second
	}
	if opts.FlapMoves <= 0 {
		opts.FlapMoves = 4
	}
	if opts.FlapWindow <= 0 {
		opts.FlapWindow = 10 * time.Second
	}
	if opts.Next == 0 {
		opts.Next = TableL2
	}
	if opts.Now == nil {
		opts.Now = time.Now
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
	return &App{opts: opts, log: log, m: m, table: opts.Table,
		plan:     planner{gen: opts.Generation, next: opts.Next, idleTimeout: uint16(opts.IdleTimeout / time.Second)},
		switches: apps.NewSwitches[*swState](), moves: map[topo.MACKey][]time.Time{}}
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

// SwitchUp implements controller.SwitchUpHandler: it installs the flood
// groups and tunnel admission flows and replays every MAC of the
// switch's domain. (The stages' table-miss entries are the controller's
// baseline.)
func (a *App) SwitchUp(ctx context.Context, sw controller.Switch) error {
	s := &swState{v: a.newView(sw)}
	s.parser = gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &s.eth)
	s.parser.IgnoreUnsupported = true
	a.mu.Lock()
	defer a.mu.Unlock()
	a.switches.Up(sw, s)
	msgs := a.plan.baseline(&s.v)
	for _, e := range a.table.Select(func(e topo.MACEntry) bool { return e.Domain == s.v.domain }) {
		if e.DPID == s.v.DPID && !s.v.Local[e.OFPort] {
			a.forget(ctx, e) // its port is gone while the switch was away
			continue
		}
		msgs = append(msgs, a.plan.install(&s.v, e)...)
	}
	if err := sw.Send(ctx, msgs...); err != nil {
		return fmt.Errorf("install baseline: %w", err)
	}
	return nil
}

// SwitchDown implements controller.SwitchDownHandler. Learned MACs stay:
// the switch keeps forwarding on its flows (fail_mode=secure) and gets
// them replayed when it reconnects.
func (a *App) SwitchDown(ctx context.Context, sw controller.Switch) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.switches.Down(sw)
}

// isMulticast reports whether mac has the group bit set.
func isMulticast(mac net.HardwareAddr) bool { return mac[0]&1 == 1 }
