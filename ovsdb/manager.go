package ovsdb

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ovsmesh/ovsmesh/topo"
)

// Manager keeps the mesh bridge and tunnels in place on every configured
// host, one independent goroutine per host: a host that is down is
// reported down and retried with backoff without delaying the others.
type Manager struct {
	opts    Options
	metrics *metrics

	mu      sync.Mutex
	hosts   []topo.Host
	gen     uint64 // bumped by every Reload
	appGen  uint64 // bumped by every change of the declared app ports
	running bool
	runCtx  context.Context
	workers map[string]*worker
	wg      sync.WaitGroup

	tlsRefused *prometheus.CounterVec // ovsmesh_ovsdb_tls_refused_total{host,reason}
}

// NewManager validates opts and returns a Manager that is not running
// yet. It registers the ovsmesh_ovsdb_* metrics with opts.Registerer when
// that is set; registration errors (a second Manager on one registry) are
// returned.
func NewManager(opts Options) (*Manager, error) {
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("ovsdb options: %w", err)
	}
	opts.setDefaults()
	m := &Manager{opts: opts, metrics: newMetrics(), hosts: slices.Clone(opts.Hosts), workers: map[string]*worker{}}
	if opts.Registerer != nil {
		for _, c := range m.metrics.collectors() {
			if err := opts.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("register ovsdb metrics: %w", err)
			}
		}
	}
	if err := m.registerTLSMetrics(); err != nil {
		return nil, err
	}
	m.metrics.overlayMTU.Set(float64(m.OverlayMTU()))
	return m, nil
}

// OverlayMTU returns the largest guest MTU in bytes that fits the mesh
// tunnels: the underlay MTU minus the tunnel overhead (VXLAN 50, GRE 42).
func (m *Manager) OverlayMTU() int { return m.opts.Mesh.OverlayMTU() }

// Run starts one goroutine per host and blocks until ctx is done, then
// stops them all and returns nil once they have exited. Calling Run while
// it is already running returns an error.
func (m *Manager) Run(ctx context.Context) error {
	m.mu.Lock()
	if m.running {
		m.mu.Unlock()
		return errors.New("ovsdb manager already running")
	}
	m.running, m.runCtx = true, ctx
	if src := m.opts.AppPorts; src != nil {
		cancel := src.WatchAppPorts(m.appPortsChanged)
		defer cancel()
	}
	m.opts.Logger.Info("ovsdb manager starting", "hosts", len(m.hosts), "bridge", m.opts.Mesh.Bridge,
		"tunnel", m.opts.Mesh.Tunnel, "key", m.opts.Mesh.Key, "overlay_mtu", m.OverlayMTU())
	for _, h := range m.hosts {
		m.startLocked(h, nil)
	}
	m.mu.Unlock()

	<-ctx.Done()

	m.mu.Lock()
	for name, w := range m.workers {
		w.stop()
		delete(m.workers, name)
	}
	m.running, m.runCtx = false, nil
	m.mu.Unlock()
	m.wg.Wait()
	return nil
}

// Reload applies a new host list (on SIGHUP): goroutines of departed hosts
// stop (their OVSDB is left as it is), new hosts get one, hosts whose
// OVSDB address changed reconnect, and every host reconciles its tunnels
// against the new peer list at once. The caller updates topo.Mesh's host
// list itself. An invalid list is rejected as a whole.
func (m *Manager) Reload(hosts []topo.Host) error {
	if err := validateHosts(hosts); err != nil {
		return fmt.Errorf("reload ovsdb hosts: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.hosts = slices.Clone(hosts)
	m.gen++
	if !m.running {
		return nil
	}
	want := map[string]topo.Host{}
	for _, h := range hosts {
		want[h.Name] = h
	}
	replaced := map[string]<-chan struct{}{}
	for name, w := range m.workers {
		if h, ok := want[name]; !ok || h.OVSDB != w.host.OVSDB {
			w.stop()
			delete(m.workers, name)
			if ok {
				replaced[name] = w.done
			} else {
				m.metrics.forget(name)
			}
		}
	}
	for _, h := range hosts {
		if w, ok := m.workers[h.Name]; ok {
			w.poke()
			continue
		}
		m.startLocked(h, replaced[h.Name])
	}
	return nil
}

// appPortsChanged starts a pass on every host: the apps' ports changed
// (on reload). Safe from any goroutine; it does not block.
func (m *Manager) appPortsChanged() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.appGen++
	for _, w := range m.workers {
		w.poke()
	}
}

// startLocked starts h's goroutine, which first waits for prev (the
// goroutine it replaces, if any) to exit; m.mu is held.
func (m *Manager) startLocked(h topo.Host, prev <-chan struct{}) {
	ctx, cancel := context.WithCancel(m.runCtx)
	w := newWorker(m, h, cancel, prev)
	m.workers[h.Name] = w
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		w.run(ctx)
	}()
}

// desired returns the current host list and its generation, and the
// generation of the declared app ports.
func (m *Manager) desired() (hosts []topo.Host, gen, appGen uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.hosts, m.gen, m.appGen
}

// hostRegisterer returns the registerer for host's libovsdb metrics,
// labelled host=NAME, or nil.
func (m *Manager) hostRegisterer(host string) prometheus.Registerer {
	if m.opts.Registerer == nil {
		return nil
	}
	return prometheus.WrapRegistererWith(prometheus.Labels{"host": host}, m.opts.Registerer)
}
