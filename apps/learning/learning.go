package learning

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/ovsmesh/ovsmesh/controller"
	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/topo"
)

// Mesh is the slice of topo the app needs: which DPIDs are configured
// hosts and which tunnel port names point at which peer.
type Mesh interface {
	HostByDPID(dpid flows.DPID) (topo.Host, bool)
	PeerByTunnelPort(name string) (topo.Host, bool)
}

// Options configures the app.
type Options struct {
	// Mesh says which switches are mesh hosts; nil makes every switch
	// standalone.
	Mesh Mesh
	// Table is the MAC table to fill; nil makes a private one.
	Table *topo.MACTable
	// Generation is the cookie generation of every flow the app installs.
	Generation uint16
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
	switches map[flows.DPID]*swState
	moves    map[topo.MACKey][]time.Time // recent move times per MAC
}

// swState is the app's per-switch state. The switch's dispatcher writes
// it; other switches' dispatchers read it under App.mu.
type swState struct {
	sw     controller.Switch
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
		plan:     planner{gen: opts.Generation, idleTimeout: uint16(opts.IdleTimeout / time.Second)},
		switches: map[flows.DPID]*swState{}, moves: map[topo.MACKey][]time.Time{}}
}

// Name implements controller.App.
func (a *App) Name() string { return "learning" }

// newView classifies sw's ports: tunnel ports are ovsmesh tunnels to
// configured peers (by name); ovsmesh-named ports of unknown peers are
// ignored; every other port, LOCAL included, is local.
func (a *App) newView(sw controller.Switch) view {
	v := view{dpid: sw.DPID(), domain: sw.DPID(), local: map[flows.OFPort]bool{}, tunnels: map[string]flows.OFPort{}}
	if a.opts.Mesh != nil {
		if h, ok := a.opts.Mesh.HostByDPID(v.dpid); ok {
			v.host, v.domain = h.Name, 0
		}
	}
	for _, p := range sw.Ports() {
		a.classify(&v, p)
	}
	return v
}

func (a *App) classify(v *view, p flows.Port) {
	if v.host != "" && a.opts.Mesh != nil {
		if peer, ok := a.opts.Mesh.PeerByTunnelPort(p.Name); ok {
			if peer.Name != v.host {
				v.tunnels[peer.Name] = p.No
			}
			return
		}
	}
	if strings.HasPrefix(p.Name, topo.TunnelPortName("")) {
		return
	}
	if p.Up() {
		v.local[p.No] = true
	}
}

// domainViews returns the views of every switch in domain.
func (a *App) domainViews(domain flows.DPID) []*view {
	var out []*view
	for _, s := range a.switches {
		if s.v.domain == domain {
			out = append(out, &s.v)
		}
	}
	return out
}

// send queues msgs for dpid; a closed or slow switch is skipped (its
// session is ending and it is replayed on reconnect).
func (a *App) send(ctx context.Context, dpid flows.DPID, msgs []flows.Message) {
	s := a.switches[dpid]
	if s == nil || len(msgs) == 0 {
		return
	}
	if err := s.sw.Send(ctx, msgs...); err != nil {
		a.log.Debug("send to switch failed", "dpid", dpid.String(), "err", err)
	}
}

// SwitchUp implements controller.SwitchUpHandler: it installs the
// pipeline's baseline and replays every MAC of the switch's domain.
func (a *App) SwitchUp(ctx context.Context, sw controller.Switch) error {
	s := &swState{sw: sw, v: a.newView(sw)}
	s.parser = gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &s.eth)
	s.parser.IgnoreUnsupported = true
	a.mu.Lock()
	defer a.mu.Unlock()
	a.switches[s.v.dpid] = s
	msgs := a.plan.baseline(&s.v)
	for _, e := range a.table.Select(func(e topo.MACEntry) bool { return e.Domain == s.v.domain }) {
		if e.DPID == s.v.dpid && !s.v.local[e.OFPort] {
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
	if s := a.switches[sw.DPID()]; s != nil && s.sw == sw {
		delete(a.switches, sw.DPID())
	}
}

// isMulticast reports whether mac has the group bit set.
func isMulticast(mac net.HardwareAddr) bool { return mac[0]&1 == 1 }
