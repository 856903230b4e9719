package trace

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sort"
	"sync"

	"github.com/ovsmesh/ovsmesh/apps"
	"github.com/ovsmesh/ovsmesh/controller"
	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/topo"
)

// Mesh is the slice of topo.Mesh the app reads: which switches are
// hosts, their tunnel ports, the host list.
type Mesh interface {
	apps.Mesh
	// Hosts returns the configured hosts.
	Hosts() []topo.Host
}

// MACs is the slice of the MAC table the app reads to place SRC and
// DST; *topo.MACTable satisfies it.
type MACs interface {
	Get(k topo.MACKey) (topo.MACEntry, bool)
	Select(keep func(topo.MACEntry) bool) []topo.MACEntry
}

// ARP is the slice of the ARP table the app reads to address SRC and
// DST; *topo.ARPTable satisfies it.
type ARP interface {
	Get(ip netip.Addr) (topo.ARPBinding, bool)
	Select(keep func(topo.ARPBinding) bool) []topo.ARPBinding
}

// Options configures the app.
type Options struct {
	// Config holds the timeouts (DefaultConfig when zero).
	Config Config
	// Generation is the cookie generation of the temporary flows.
	Generation uint16
	// Pipeline is the composed table graph; required.
	Pipeline *flows.Pipeline
	// Mesh says which switches are hosts; nil: every switch standalone.
	Mesh Mesh
	// MACs and ARP are the tables SRC and DST are looked up in; nil
	// tables know nothing.
	MACs MACs
	ARP  ARP
	// AppName names cookie app bytes; nil renders numbers.
	AppName func(flows.AppID) string
	// Explainer gives each stage's explainer (apps.Env.Explainer); nil:
	// no stage is explained.
	Explainer func(stage string) (apps.Explainer, bool)
	// Clock is the time source; nil means apps.RealClock.
	Clock apps.Clock
	// Logger; nil discards.
	Logger *slog.Logger
	// Metrics; nil disables.
	Metrics *Metrics
}

// App is the trace app: it keeps the switches' sessions and runs one
// trace at a time.
type App struct {
	opts   Options
	log    *slog.Logger
	m      *Metrics
	stages []flows.Stage
	bit    map[flows.TableID]uint32

	busy chan struct{} // holds a token while a trace runs

	mu       sync.Mutex
	switches map[flows.DPID]controller.Switch
	active   *tracer // the probe receiving packet-ins, nil between probes
	seq      uint32  // the last probe's number
	last     *Result // the last probe's answer, for the topology page
}

// New returns the app. It fails when the pipeline has more stages than
// the register has bits (32).
func New(o Options) (*App, error) {
	if o.Pipeline == nil {
		return nil, errors.New("trace: no pipeline")
	}
	def := DefaultConfig()
	if o.Config.FlowTimeout <= 0 {
		o.Config.FlowTimeout = def.FlowTimeout
	}
	if o.Config.StepTimeout <= 0 {
		o.Config.StepTimeout = def.StepTimeout
	}
	if o.Config.MaxHops <= 0 {
		o.Config.MaxHops = def.MaxHops
	}
	if o.AppName == nil {
		o.AppName = func(id flows.AppID) string { return fmt.Sprintf("app%d", id) }
	}
	if o.Clock == nil {
		o.Clock = apps.RealClock{}
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := o.Metrics
	if m == nil {
		m = NewMetrics(nil)
	}
	a := &App{opts: o, log: log, m: m, stages: o.Pipeline.Stages(), bit: map[flows.TableID]uint32{},
		busy: make(chan struct{}, 1), switches: map[flows.DPID]controller.Switch{}}
	if len(a.stages) > 32 {
		return nil, fmt.Errorf("trace: %d stages, but reg%d has 32 bits, one per stage", len(a.stages), Reg)
	}
	for i, s := range a.stages {
		a.bit[s.Table] = 1 << i
	}
	return a, nil
}

// Name implements controller.App.
func (a *App) Name() string { return "trace" }

// SwitchUp implements controller.SwitchUpHandler: the switch can be
// traced through. Nothing is installed until a probe runs.
func (a *App) SwitchUp(_ context.Context, sw controller.Switch) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.switches[sw.DPID()] = sw
	return nil
}

// SwitchDown implements controller.SwitchDownHandler, unless a newer
// session of the DPID has replaced sw.
func (a *App) SwitchDown(_ context.Context, sw controller.Switch) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.switches[sw.DPID()] == sw {
		delete(a.switches, sw.DPID())
	}
}

// PacketIn implements controller.PacketInHandler: a packet-in of a
// temporary flow goes to the running probe, which tells its own stops
// from other tagged packets (probe.go); with no probe running it is
// dropped and counted as stray. The cookie's probe number is not
// checked: a datapath flow cached by the previous probe's arrival at a
// host (its action a packet-in with that probe's cookie) may carry the
// next probe's arrival until OVS revalidates it. It never blocks the
// switch's dispatcher.
func (a *App) PacketIn(_ context.Context, sw controller.Switch, pi *flows.PacketIn) error {
	a.mu.Lock()
	t := a.active
	a.mu.Unlock()
	if t == nil {
		a.m.packetIns.WithLabelValues("stray").Inc()
		return nil
	}
	ev := stop{dpid: sw.DPID(), table: pi.Table, data: append([]byte(nil), pi.Data...), match: append([]byte(nil), pi.RawMatch...)}
	select {
	case t.stops <- ev:
	default:
		a.m.packetIns.WithLabelValues("overflow").Inc()
	}
	return nil
}

// connected returns the sessions of every connected switch, by DPID
// order.
func (a *App) connected() []controller.Switch {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]controller.Switch, 0, len(a.switches))
	for _, sw := range a.switches {
		out = append(out, sw)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].DPID() < out[j].DPID() })
	return out
}

// session returns dpid's session, nil when it is not connected.
func (a *App) session(dpid flows.DPID) controller.Switch {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.switches[dpid]
}

// hostName names a switch: its configured host, else its DPID.
func (a *App) hostName(dpid flows.DPID) string {
	if a.opts.Mesh != nil {
		if h, ok := a.opts.Mesh.HostByDPID(dpid); ok {
			return h.Name
		}
	}
	return dpid.String()
}

// ports classifies sw's ports (local, tunnels).
func (a *App) ports(sw controller.Switch) apps.Ports {
	var m apps.Mesh
	if a.opts.Mesh != nil {
		m = a.opts.Mesh
	}
	return apps.ClassifyPorts(m, sw)
}
