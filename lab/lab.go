package lab

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/ovsmesh/ovsmesh/config"
)

// Lab is a running lab. Its methods are safe for concurrent use.
type Lab struct {
	dir string
	log *slog.Logger

	mu sync.Mutex
	st *state
}

// Open returns the lab recorded in dir (by an earlier Up, possibly in
// another process). It fails, wrapping a "no lab state file" error, when
// dir holds no lab.
func Open(dir string, log *slog.Logger) (*Lab, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("open lab %q: %w", dir, err)
	}
	st, err := readState(abs)
	if err != nil {
		return nil, fmt.Errorf("open lab: %w", err)
	}
	return &Lab{dir: abs, log: orDiscard(log), st: st}, nil
}

func orDiscard(log *slog.Logger) *slog.Logger {
	if log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return log
}

// Dir returns the lab directory (absolute).
func (l *Lab) Dir() string { return l.dir }

// ConfigPath returns the path of the ovsmesh.yaml that Up wrote.
func (l *Lab) ConfigPath() string { return filepath.Join(l.dir, "ovsmesh.yaml") }

// Options returns the options the lab was brought up with, defaults
// filled in.
func (l *Lab) Options() Options {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.st.Options
}

// Hosts returns the lab's hosts in order h1, h2, ...
func (l *Lab) Hosts() []Host {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Host, len(l.st.Hosts))
	for i, h := range l.st.Hosts {
		out[i] = h.clone()
	}
	return out
}

// Host returns the host named name ("h1", ...).
func (l *Lab) Host(name string) (Host, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	i, ok := l.st.host(name)
	if !ok {
		return Host{}, fmt.Errorf("lab has no host %q", name)
	}
	return l.st.Hosts[i].clone(), nil
}

// Guests returns the lab's guests in creation order.
func (l *Lab) Guests() []Guest {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.st.Guests)
}

// Guest returns the guest named name ("h1g1", ...).
func (l *Lab) Guest(name string) (Guest, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	i, ok := l.st.guest(name)
	if !ok {
		return Guest{}, fmt.Errorf("lab has no guest %q", name)
	}
	return l.st.Guests[i], nil
}

// UnderlayNS returns the namespace holding the underlay Linux bridge.
// Capture on UnderlayPort(host) there to see one host's encapsulated
// traffic; "-i any" sees every packet twice (in and out of the bridge).
func (l *Lab) UnderlayNS() string { return nsName(l.Options().Prefix, ulNSName) }

// UnderlayPort returns the interface in UnderlayNS that leads to host
// (its name: "h1", ...).
func (l *Lab) UnderlayPort(host string) string { return host }

// Config returns the ovsmesh configuration for this lab, the one written
// to ConfigPath. With Options.Outside its nat section holds a
// *NATSection; load ConfigPath with the apps' sections to get the NAT
// app's own type.
func (l *Lab) Config() config.Config {
	l.mu.Lock()
	defer l.mu.Unlock()
	return buildConfig(l.dir, l.st)
}

// update applies f to the state and writes it to disk, under the lock.
func (l *Lab) update(f func(*state)) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	f(l.st)
	return writeState(l.dir, l.st)
}

func (h Host) clone() Host {
	pids := make(map[Daemon]int, len(h.PIDs))
	for k, v := range h.PIDs {
		pids[k] = v
	}
	h.PIDs = pids
	return h
}

// buildConfig renders the ovsmesh configuration of a lab.
func buildConfig(dir string, st *state) config.Config {
	o := st.Options
	cip := ControllerIP(o.Slot)
	cfg := config.Default()
	cfg.OpenFlow.Listen = []string{fmt.Sprintf("tcp:%s:%d", cip, OpenFlowPort), fmt.Sprintf("tcp:%s:6633", cip)}
	cfg.OpenFlow.Targets = []string{fmt.Sprintf("tcp:%s:%d", cip, OpenFlowPort)}
	if o.TLS {
		tlsConfig(&cfg, dir, o.Slot)
	}
	// On the management address too, so labs in different slots can run
	// their controllers side by side.
	cfg.API.Listen = fmt.Sprintf("%s:%d", cip, APIPort)
	cfg.State = filepath.Join(dir, "ovsmesh.db")
	cfg.Mesh.Bridge = MeshBridge
	cfg.Mesh.DatapathType = "netdev"
	cfg.Mesh.Tunnel = o.Tunnel
	cfg.Hosts = make([]config.Host, len(st.Hosts))
	for i, h := range st.Hosts {
		cfg.Hosts[i] = config.Host{Name: h.Name, OVSDB: h.OVSDB(), TunnelIP: h.UnderlayIP}
		if h.TLS {
			cfg.Hosts[i].TLS = h.TLSFiles()
		}
	}
	if o.Outside {
		cfg = cfg.WithSection(natSectionPath, natSection(st.Hosts[len(st.Hosts)-1].Name))
	}
	return cfg
}

// writeConfig writes ovsmesh.yaml into dir.
func writeConfig(dir string, st *state) error {
	data, err := config.Marshal(buildConfig(dir, st))
	if err != nil {
		return fmt.Errorf("render ovsmesh.yaml: %w", err)
	}
	if _, err := config.Parse(data, natSectionDecl); err != nil {
		return fmt.Errorf("generated ovsmesh.yaml does not validate: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ovsmesh.yaml"), data, 0o644); err != nil {
		return fmt.Errorf("write ovsmesh.yaml: %w", err)
	}
	return nil
}

// parallel runs f for every i in [0, n) concurrently and joins the errors.
func parallel(n int, f func(i int) error) error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = f(i) })
	}
	wg.Wait()
	return errors.Join(errs...)
}
