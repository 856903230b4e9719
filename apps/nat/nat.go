package nat

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/ovsmesh/ovsmesh/apps"
	"github.com/ovsmesh/ovsmesh/controller"
	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/topo"
)

// Options configures the app.
type Options struct {
	// Config is the nat section, validated.
	Config Config
	// Mesh says which switch is which host; required.
	Mesh apps.Mesh
	// Rules is the app's state bucket (rules added through the API, the
	// next hop's MAC); nil makes a private table.
	Rules *RuleTable
	// ARP is the proxy ARP app's table, read to deliver to inside guests
	// and to place redirects; nil makes a private, empty one.
	ARP *topo.ARPTable
	// MACs is the learning app's MAC table, read to place a redirect
	// whose target the router resolved itself; nil: such targets are
	// not placed.
	MACs MACs
	// Generation is the cookie generation of every flow installed.
	Generation uint16
	// Next is the stage after nat, where overlay traffic goes on.
	Next flows.TableID
	// Clock is the time source; nil means apps.RealClock.
	Clock apps.Clock
	// Logger; nil discards.
	Logger *slog.Logger
	// Metrics; nil disables.
	Metrics *Metrics
}

// App is the NAT app: masquerade, forwards and redirects as flows on
// OVS conntrack.
type App struct {
	opts  Options
	log   *slog.Logger
	m     *Metrics
	clock apps.Clock
	rules *RuleTable
	arp   *topo.ARPTable

	// mu guards everything below and orders flow changes per switch.
	mu        sync.Mutex
	cfg       Config
	switches  *apps.Switches[*swState]
	forwards  map[string]ruleEntry[forwardRule]  // by key: config and API forwards
	redirects map[string]ruleEntry[redirectRule] // by key
	nh        nextHopState
	resolved  map[netip.Addr]resolvedEntry // inside IPs the router resolved itself
	asked     map[netip.Addr]time.Time     // inside IPs the router asked for, when

	// wake holds one pending wake-up of Run from the ARP table watcher
	// (which must not take mu): the table changed since Run last synced.
	wake chan struct{}
}

// MACs is the slice of the learning app's MAC table the app reads.
type MACs interface {
	Get(k topo.MACKey) (topo.MACEntry, bool)
}

// ruleEntry is a rule and where it comes from.
type ruleEntry[R any] struct {
	Rule R
	// FromConfig is true for rules of the configuration file, false for
	// rules added through the API.
	FromConfig bool
}

// resolvedEntry is an inside guest the router resolved by ARP.
type resolvedEntry struct {
	MAC  net.HardwareAddr
	Seen time.Time
}

// swState is the app's view of one switch.
type swState struct {
	ports apps.Ports
	// extMAC is the external port's MAC (gateway).
	extMAC net.HardwareAddr
	flows  apps.FlowSet
}

// New returns the app with the configuration's rules and those the state
// holds (a state rule that the configuration now overrides, or that no
// longer validates, is dropped and logged). It starts nothing.
func New(opts Options) (*App, error) {
	if opts.Mesh == nil {
		return nil, fmt.Errorf("nat: no mesh")
	}
	if opts.Clock == nil {
		opts.Clock = apps.RealClock{}
	}
	if opts.Rules == nil {
		opts.Rules = topo.NewTable(recordCodec)
	}
	if opts.ARP == nil {
		opts.ARP = topo.NewARPTable()
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := opts.Metrics
	if m == nil {
		m = NewMetrics(nil)
	}
	a := &App{opts: opts, log: log, m: m, clock: opts.Clock, rules: opts.Rules, arp: opts.ARP,
		switches: apps.NewSwitches[*swState](), resolved: map[netip.Addr]resolvedEntry{}, asked: map[netip.Addr]time.Time{},
		wake: make(chan struct{}, 1)}
	if err := a.setConfig(opts.Config); err != nil {
		return nil, err
	}
	if r, ok := a.rules.Get(nextHopKey); ok && r.NextHop != nil && r.NextHop.IP == a.cfg.External.NextHop {
		a.nh.mac, a.nh.resolved = r.NextHop.hw(), r.NextHop.Resolved
	}
	a.countRulesLocked()
	return a, nil
}

// setConfig installs cfg's rules next to the API's, dropping API rules
// the configuration now holds or that no longer validate.
func (a *App) setConfig(cfg Config) error {
	a.cfg = cfg
	a.forwards, a.redirects = map[string]ruleEntry[forwardRule]{}, map[string]ruleEntry[redirectRule]{}
	for _, f := range cfg.Forwards {
		r, err := f.rule(cfg.Inside)
		if err != nil {
			return fmt.Errorf("nat: forward %v: %w", f, err) // validated: cannot happen
		}
		a.forwards[r.key()] = ruleEntry[forwardRule]{Rule: r, FromConfig: true}
	}
	for _, d := range cfg.Redirects {
		r, err := d.rule()
		if err != nil {
			return fmt.Errorf("nat: redirect %v: %w", d, err)
		}
		a.redirects[r.key()] = ruleEntry[redirectRule]{Rule: r, FromConfig: true}
	}
	for _, rec := range a.rules.Select(nil) {
		switch {
		case rec.Forward != nil:
			r, err := rec.Forward.rule(cfg.Inside)
			if err == nil && a.forwards[r.key()].FromConfig {
				err = fmt.Errorf("the configuration file holds %s", r.key())
			}
			if err != nil {
				a.log.Warn("forward added through the API dropped", "forward", *rec.Forward, "reason", err)
				a.rules.Delete(rec.Key)
				continue
			}
			a.forwards[r.key()] = ruleEntry[forwardRule]{Rule: r}
		case rec.Redirect != nil:
			r, err := rec.Redirect.rule()
			if err == nil && a.redirects[r.key()].FromConfig {
				err = fmt.Errorf("the configuration file holds %s", r.key())
			}
			if err != nil {
				a.log.Warn("redirect added through the API dropped", "redirect", *rec.Redirect, "reason", err)
				a.rules.Delete(rec.Key)
				continue
			}
			a.redirects[r.key()] = ruleEntry[redirectRule]{Rule: r}
		}
	}
	return nil
}

// Name implements controller.App.
func (a *App) Name() string { return "nat" }

// planner returns the planner for the current settings and rules.
func (a *App) planner() planner {
	c := &a.cfg
	p := planner{gen: a.opts.Generation, next: a.opts.Next, zoneSNAT: uint16(c.Zone), zoneDNAT: uint16(c.Zone + 1),
		zoneRedirect: uint16(c.Zone + 2), routerIP: c.RouterIP, routerMAC: c.routerMAC(), extIP: c.External.IP.Addr(),
		nextHop: c.External.NextHop, inside: c.Inside}
	for _, k := range sortedKeys(a.forwards) {
		p.forwards = append(p.forwards, a.forwards[k].Rule)
	}
	for _, k := range sortedKeys(a.redirects) {
		p.redirects = append(p.redirects, a.redirects[k].Rule)
	}
	return p
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// view builds the planner's view of a switch.
func (a *App) view(p planner, st *swState) hostView {
	h := hostView{gateway: st.ports.Host == a.cfg.Gateway}
	if !h.gateway {
		h.toGateway = st.ports.Tunnels[a.cfg.Gateway]
	} else {
		h.ext, h.extMAC, h.nextHopMAC = st.ports.Owned[a.cfg.External.Port], st.extMAC, a.nh.mac
		h.neighbors = a.neighbors()
	}
	for _, r := range p.redirects {
		if dpid, ok := a.locate(r.IP); ok && dpid == st.ports.DPID {
			h.redirects = append(h.redirects, r)
		}
	}
	return h
}

// locate returns the switch where the guest holding ip sits: from its
// ARP binding, else from the MAC the router resolved for it and the
// learning app's MAC table. a.mu is held.
func (a *App) locate(ip netip.Addr) (flows.DPID, bool) {
	if b, ok := a.arp.Get(ip); ok && b.DPID != 0 && b.OFPort != 0 {
		return b.DPID, true
	}
	r, ok := a.resolved[ip]
	if !ok || a.opts.MACs == nil {
		return 0, false
	}
	if e, ok := a.opts.MACs.Get(topo.KeyOf(0, r.MAC)); ok && e.DPID != 0 {
		return e.DPID, true
	}
	return 0, false
}

// macOf returns the MAC of an inside guest: its ARP binding's, else the
// router's own resolution. a.mu is held.
func (a *App) macOf(ip netip.Addr) (net.HardwareAddr, bool) {
	if b, ok := a.arp.Get(ip); ok && len(b.MAC) == 6 {
		return b.MAC, true
	}
	if r, ok := a.resolved[ip]; ok {
		return r.MAC, true
	}
	return nil, false
}

// neighbors returns the inside guests the gateway delivers to: the ARP
// table's bindings of inside IPs, and the router's own resolutions of
// IPs the table does not hold.
func (a *App) neighbors() []neighbor {
	var out []neighbor
	seen := map[netip.Addr]bool{}
	for _, b := range a.arp.Select(func(b topo.ARPBinding) bool { return a.cfg.inside(b.IP) && len(b.MAC) == 6 }) {
		out = append(out, neighbor{IP: b.IP, MAC: b.MAC})
		seen[b.IP] = true
	}
	for ip, r := range a.resolved {
		if !seen[ip] {
			out = append(out, neighbor{IP: ip, MAC: r.MAC})
		}
	}
	return out
}

// syncLocked brings one switch's flows to what the planner wants; a.mu
// is held.
func (a *App) syncLocked(ctx context.Context, p planner, c *apps.Connected[*swState]) {
	if c.State.ports.Host == "" {
		return // NAT runs on mesh hosts only
	}
	msgs := c.State.flows.Sync(p.flows(a.view(p, c.State)))
	if len(msgs) == 0 {
		return
	}
	if err := c.SW.Send(ctx, msgs...); err != nil {
		a.log.Debug("send to switch failed", "dpid", c.SW.DPID().String(), "err", err)
	}
}

// syncAllLocked syncs every connected switch; a.mu is held.
func (a *App) syncAllLocked(ctx context.Context) {
	p := a.planner()
	for _, c := range a.switches.All() {
		a.syncLocked(ctx, p, c)
	}
}

// SwitchUp implements controller.SwitchUpHandler: it installs the
// switch's NAT flows under the current generation and, on the gateway,
// asks for the next hop's MAC.
func (a *App) SwitchUp(ctx context.Context, sw controller.Switch) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	st := &swState{flows: apps.FlowSet{}}
	a.classify(st, sw)
	c := a.switches.Up(sw, st)
	a.syncLocked(ctx, a.planner(), c)
	if st.ports.Host == a.cfg.Gateway {
		a.m.extPortUp.Set(b2f(st.ports.Owned[a.cfg.External.Port] != 0))
		a.askNextHopLocked(ctx)
	}
	return nil
}

// classify refreshes st's view of sw's ports.
func (a *App) classify(st *swState, sw controller.Switch) {
	st.ports = apps.ClassifyPorts(a.opts.Mesh, sw)
	st.extMAC = nil
	if ext, ok := st.ports.Owned[a.cfg.External.Port]; ok {
		for _, p := range sw.Ports() {
			if p.No == ext && p.Up() {
				st.extMAC = p.HWAddr
			}
		}
		if st.extMAC == nil {
			delete(st.ports.Owned, a.cfg.External.Port) // down: treat as missing
		}
	}
}

// PortStatus implements controller.PortStatusHandler: a tunnel towards
// the gateway or the external port coming or going changes the
// switch's flows.
func (a *App) PortStatus(ctx context.Context, sw controller.Switch, ps flows.PortStatus) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.switches.Get(sw.DPID())
	if c == nil || c.SW != sw {
		return nil
	}
	had := c.State.ports.Owned[a.cfg.External.Port]
	a.classify(c.State, sw)
	a.syncLocked(ctx, a.planner(), c)
	if c.State.ports.Host == a.cfg.Gateway {
		now := c.State.ports.Owned[a.cfg.External.Port]
		a.m.extPortUp.Set(b2f(now != 0))
		if now != 0 && had == 0 {
			a.log.Info("external port up", "port", a.cfg.External.Port, "ofport", now)
			a.askNextHopLocked(ctx)
		} else if now == 0 && had != 0 {
			a.log.Warn("external port gone", "port", a.cfg.External.Port, "host", a.cfg.Gateway)
		}
	}
	return nil
}

// SwitchDown implements controller.SwitchDownHandler.
func (a *App) SwitchDown(ctx context.Context, sw controller.Switch) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.switches.Down(sw) {
		if h, ok := a.opts.Mesh.HostByDPID(sw.DPID()); ok && h.Name == a.cfg.Gateway {
			a.m.extPortUp.Set(0)
		}
	}
}

// gatewayLocked returns the gateway's session, nil when it is not
// connected; a.mu is held.
func (a *App) gatewayLocked() *apps.Connected[*swState] {
	for _, c := range a.switches.All() {
		if c.State.ports.Host == a.cfg.Gateway {
			return c
		}
	}
	return nil
}

// countRulesLocked sets the rules gauge; a.mu is held (or a is new).
func (a *App) countRulesLocked() {
	a.m.rules.WithLabelValues("forward").Set(float64(len(a.forwards)))
	a.m.rules.WithLabelValues("redirect").Set(float64(len(a.redirects)))
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
