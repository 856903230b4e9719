package portsec

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"github.com/ovsmesh/ovsmesh/apps"
	"github.com/ovsmesh/ovsmesh/controller"
	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/topo"
)

// Mesh is the slice of topo.Mesh the app reads: which switch is which
// host, its tunnels and app ports, and what each host's OVSDB declares;
// *topo.Mesh satisfies it.
type Mesh interface {
	apps.Mesh
	// Hosts returns the configured hosts.
	Hosts() []topo.Host
	// Interfaces returns host's declaring interfaces and whether its
	// OVSDB has been read since start.
	Interfaces(host string) ([]topo.Iface, bool)
	// WatchInterfaces calls fn with a host's name whenever its
	// declaring interfaces change.
	WatchInterfaces(fn func(host string)) (cancel func())
}

// Options configures the app.
type Options struct {
	// Config is the apps.portsec section, validated.
	Config Config
	// Mesh says which switch is which host and what OVSDB declares;
	// required.
	Mesh Mesh
	// Records is the app's state bucket (API ports, the OVSDB
	// declarations last read); nil makes a private table.
	Records *RecordTable
	// Bindings is the table of declared bindings the app keeps for proxy
	// ARP; nil makes a private one.
	Bindings *topo.DeclaredTable
	// Generation is the cookie generation of every flow installed.
	Generation uint16
	// Next is the stage after port_security.
	Next flows.TableID
	// Logger; nil discards.
	Logger *slog.Logger
	// Metrics; nil disables.
	Metrics *Metrics
}

// App is the port security app.
type App struct {
	opts     Options
	log      *slog.Logger
	m        *Metrics
	plan     planner
	records  *RecordTable
	bindings *topo.DeclaredTable

	// mu guards everything below and orders flow changes per switch.
	mu       sync.Mutex
	cfg      Config
	switches *apps.Switches[*swState]
	api      map[key]decl
	// ovsdb is each host's declaring interfaces: as published, or as
	// last saved until the host's OVSDB is read.
	ovsdb  map[string][]topo.Iface
	res    resolution
	ids    idAlloc
	logged map[key]string // problems already logged, per port

	// dirty holds hosts whose interfaces changed; the Mesh's watcher
	// (which must not take mu) fills it and wakes Run.
	dirtyMu sync.Mutex
	dirty   map[string]bool
	wake    chan struct{}
}

// swState is the app's view of one mesh switch.
type swState struct {
	view  switchView
	flows apps.FlowSet
}

// New returns the app with the configuration's ports, the API's and the
// OVSDB declarations the state holds, and the declared bindings in
// Bindings set to match. It starts nothing.
func New(opts Options) (*App, error) {
	if opts.Mesh == nil {
		return nil, fmt.Errorf("portsec: no mesh")
	}
	if opts.Records == nil {
		opts.Records = topo.NewTable(recordCodec)
	}
	if opts.Bindings == nil {
		opts.Bindings = topo.NewDeclaredTable()
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := opts.Metrics
	if m == nil {
		m = NewMetrics(nil)
	}
	a := &App{opts: opts, log: log, m: m, plan: planner{gen: opts.Generation, next: opts.Next},
		records: opts.Records, bindings: opts.Bindings, cfg: opts.Config, switches: apps.NewSwitches[*swState](),
		api: map[key]decl{}, ovsdb: map[string][]topo.Iface{}, logged: map[key]string{},
		dirty: map[string]bool{}, wake: make(chan struct{}, 1)}
	for _, r := range a.records.Select(nil) {
		switch {
		case r.API != nil:
			d, err := r.API.decl(srcAPI)
			if err != nil {
				a.log.Warn("port declared through the API dropped: it no longer validates", "port", r.Key, "err", err)
				a.records.Delete(r.Key)
				continue
			}
			a.api[d.key()] = d
		case r.Host != "":
			for _, p := range r.OVSDB {
				d, err := p.decl(srcOVSDB)
				if err != nil {
					continue
				}
				a.ovsdb[r.Host] = append(a.ovsdb[r.Host], topo.Iface{Host: d.Host, Name: d.Port, MAC: d.MAC, IPs: d.IPs})
			}
		}
	}
	// The bindings in the state are the previous run's: their holders
	// keep their addresses.
	prev := map[netip.Addr]key{}
	for _, b := range a.bindings.Select(nil) {
		prev[b.IP] = key{b.Host, b.Port}
	}
	a.res.owner = prev
	a.applyLocked(context.Background())
	return a, nil
}

// Name implements controller.App.
func (a *App) Name() string { return "portsec" }

// declsLocked returns every declaration: the file's, the API's, and
// OVSDB's when from_ovsdb is on; a.mu is held.
func (a *App) declsLocked() []decl {
	var out []decl
	for _, p := range a.cfg.Ports {
		out = append(out, p.decl())
	}
	for _, d := range a.api {
		out = append(out, d)
	}
	if a.cfg.FromOVSDB {
		for _, l := range a.ovsdb {
			for _, i := range l {
				if d, ok := ifaceDecl(i); ok {
					out = append(out, d)
				}
			}
		}
	}
	return out
}

// applyLocked decides what is in force from the declarations and makes
// the world follow: the declared bindings, every connected switch's
// flows (only the difference is sent), the logs and gauges; a.mu is
// held.
func (a *App) applyLocked(ctx context.Context) {
	hosts := map[string]bool{}
	for _, h := range a.opts.Mesh.Hosts() {
		hosts[h.Name] = true
	}
	a.res = resolve(a.declsLocked(), a.res.owner, resolveEnv{
		configured: func(h string) bool { return hosts[h] },
		appPort: func(h, p string) (string, bool) {
			ap, ok := a.opts.Mesh.AppPort(h, p)
			return ap.App, ok
		},
	})
	a.ids.assign(a.res)
	a.syncBindingsLocked()
	for _, c := range a.switches.All() {
		a.syncLocked(ctx, c)
	}
	a.logProblemsLocked()
	a.gaugesLocked()
}

// syncBindingsLocked makes the declared bindings table hold exactly the
// addresses in force; a.mu is held.
func (a *App) syncBindingsLocked() {
	want := map[netip.Addr]topo.DeclaredBinding{}
	for ip, k := range a.res.owner {
		e := a.res.ports[k]
		want[ip] = topo.DeclaredBinding{IP: ip, MAC: e.MAC, Host: e.Host, Port: e.Port, Source: e.Source.String()}
	}
	for _, b := range a.bindings.Select(nil) {
		if w, ok := want[b.IP]; !ok {
			a.bindings.Delete(b.IP)
		} else if sameBinding(w, b) {
			delete(want, b.IP)
		}
	}
	for _, ip := range slices.SortedFunc(maps.Keys(want), netip.Addr.Compare) {
		a.bindings.Put(want[ip])
	}
}

// syncLocked sends c's switch what its flows lack or hold too much;
// a.mu is held.
func (a *App) syncLocked(ctx context.Context, c *apps.Connected[*swState]) {
	msgs := c.State.flows.Sync(a.plan.flows(c.State.view, a.res))
	if len(msgs) == 0 {
		return
	}
	if err := c.SW.Send(ctx, msgs...); err != nil {
		a.log.Debug("send to switch failed", "dpid", c.SW.DPID().String(), "err", err)
	}
}

// logProblemsLocked logs, once per port and problem set, what of a
// declaration is not in force; a.mu is held.
func (a *App) logProblemsLocked() {
	seen := map[key]bool{}
	for _, e := range a.res.sorted() {
		seen[e.key()] = true
		p := strings.Join(e.problems, "; ")
		if p != "" && a.logged[e.key()] != p {
			a.log.Warn("declared port not fully in force", "host", e.Host, "port", e.Port, "source", e.Source.String(), "problems", p)
		}
		a.logged[e.key()] = p
	}
	for k := range a.logged {
		if !seen[k] {
			delete(a.logged, k)
		}
	}
}

// view builds the planner's view of sw, a mesh host's switch.
func (a *App) view(sw controller.Switch) switchView {
	ports := apps.ClassifyPorts(a.opts.Mesh, sw)
	v := switchView{host: ports.Host, ports: map[string]flows.OFPort{}}
	for _, p := range sw.Ports() {
		v.ports[p.Name] = p.No
	}
	for _, t := range ports.Tunnels {
		v.pass = append(v.pass, t)
	}
	for _, o := range ports.Owned {
		v.pass = append(v.pass, o)
	}
	return v
}

// SwitchUp implements controller.SwitchUpHandler: a mesh host's switch
// gets its port_security flows under the current generation.
func (a *App) SwitchUp(ctx context.Context, sw controller.Switch) error {
	v := a.view(sw)
	if v.host == "" {
		return nil // port security is declared for mesh hosts' ports
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.switches.Up(sw, &swState{view: v, flows: apps.FlowSet{}})
	a.syncLocked(ctx, c)
	return nil
}

// PortStatus implements controller.PortStatusHandler: a port that comes,
// goes or changes number changes the switch's flows.
func (a *App) PortStatus(ctx context.Context, sw controller.Switch, ps flows.PortStatus) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.switches.Get(sw.DPID())
	if c == nil || c.SW != sw {
		return nil
	}
	c.State.view = a.view(sw)
	a.syncLocked(ctx, c)
	return nil
}

// SwitchDown implements controller.SwitchDownHandler.
func (a *App) SwitchDown(ctx context.Context, sw controller.Switch) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.switches.Down(sw)
}

func sameBinding(a, b topo.DeclaredBinding) bool {
	return a.IP == b.IP && string(a.MAC) == string(b.MAC) && a.Host == b.Host && a.Port == b.Port && a.Source == b.Source
}
