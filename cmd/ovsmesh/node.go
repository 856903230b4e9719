package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync/atomic"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ovsmesh/ovsmesh/api"
	"github.com/ovsmesh/ovsmesh/apps"
	"github.com/ovsmesh/ovsmesh/apps/nat"
	"github.com/ovsmesh/ovsmesh/config"
	"github.com/ovsmesh/ovsmesh/controller"
	"github.com/ovsmesh/ovsmesh/ovsdb"
	"github.com/ovsmesh/ovsmesh/pki"
	"github.com/ovsmesh/ovsmesh/topo"
)

// node is one assembled controller: the state file, the apps, the
// OpenFlow controller, the OVSDB manager and the API handler. Nothing
// listens or runs yet.
type node struct {
	cfg      config.Config
	registry *apps.Registry
	mesh     *topo.Mesh
	st       *state
	ctl      *controller.Controller
	admit    *admission
	tls      *pki.Loader // the tls section's files; nil without it
	mgr      *ovsdb.Manager
	api      http.Handler
	checks   []api.Check // what /healthz and the readiness notification check
	run      *apps.Running
	runners  []apps.Runner
	serving  atomic.Bool                // the OpenFlow listeners are serving
	token    atomic.Pointer[string]     // api.token_file's token, "" for none
	reload   atomic.Pointer[reloadFunc] // set once the reloader exists
}

// reloadFunc is what POST /api/v1/reload runs.
type reloadFunc func(ctx context.Context) (any, error)

// assemble builds a node for cfg from the registry's apps, registering
// metrics with reg. On error everything opened is closed again: nothing
// is half-started.
func assemble(cfg config.Config, registry *apps.Registry, reg prometheus.Registerer, log *slog.Logger) (_ *node, err error) {
	n := &node{cfg: cfg, registry: registry, mesh: topo.NewMesh(cfg.TopoHosts())}
	n.mesh.SetAppPorts(registry.AppPorts(cfg))
	if n.st, err = openState(cfg.State, n.mesh, reg, log); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			n.st.close()
		}
	}()
	gen := n.st.gen
	run, err := registry.Start(cfg, apps.Env{Generation: gen, Mesh: n.mesh, State: n.st.State, Logger: log, Registerer: reg,
		Clock: apps.RealClock{}, Meters: meters(cfg.OpenFlow.Meters)})
	if err != nil {
		return nil, err
	}
	n.run, n.runners = run, run.Runners
	tok := ""
	if cfg.API.TokenFile != "" {
		if tok, err = config.ReadToken(cfg.API.TokenFile); err != nil {
			return nil, fmt.Errorf("api.token_file: %w", err)
		}
	}
	n.token.Store(&tok)
	listen, tlsListen, err := listeners(cfg)
	if err != nil {
		return nil, err
	}
	if n.tls, err = newTLSLoader(cfg, log); err != nil {
		return nil, err
	}
	var serverTLS *tls.Config
	var ovsdbTLS ovsdb.ClientTLS // not a nil *pki.Loader in an interface
	if n.tls != nil {
		serverTLS, ovsdbTLS = n.tls.ServerConfig(), n.tls
	}
	n.admit = newAdmission(n.mesh, cfg.Hosts)
	of := cfg.OpenFlow
	n.ctl, err = controller.New(controller.Options{
		Listen: listen, TLSListen: tlsListen, TLS: serverTLS, EchoInterval: of.EchoInterval, QueueLen: of.QueueLen,
		PacketInBytes: of.PacketInBytes, PacketInBytesTotal: of.PacketInBytesTotal,
		MaxPorts: of.MaxPorts, MaxReplyBytes: of.MaxReplyBytes,
		MaxConnections: fdBound(of.MaxConnections, log), MaxHandshaking: of.MaxHandshaking, MaxConnectionsPerIP: of.MaxConnectionsPerIP,
		Admit:      n.admit.Admit,
		Meters:     meters(of.Meters),
		Generation: gen, Pipeline: registry.Pipeline(), Baseline: registry.Baseline(gen, cfg), Logger: log, Registerer: reg,
	}, run.Registrations...)
	if err != nil {
		return nil, err
	}
	n.mgr, err = ovsdb.NewManager(ovsdb.Options{
		Mesh: cfg.Mesh, Targets: cfg.OpenFlow.Targets, PacketInRate: cfg.OpenFlow.PacketInRate, PacketInBurst: cfg.OpenFlow.PacketInBurst,
		Hosts: cfg.TopoHosts(), Publisher: persistingMesh{n.mesh, n.st.hosts}, AppPorts: n.mesh,
		Logger: log.With("component", "ovsdb"), Registerer: reg,
		TLS: ovsdbTLS,
	})
	if err != nil {
		return nil, err
	}
	n.checks = []api.Check{
		{Name: "state", Fn: n.st.Healthy},
		{Name: "listeners", Fn: func() error {
			if !n.serving.Load() {
				return errors.New("OpenFlow listeners are not serving")
			}
			return nil
		}},
	}
	macs, err := topo.OpenMACTable(n.st.State)
	if err != nil {
		return nil, fmt.Errorf("topology page: %w", err)
	}
	topology := api.NewTopologyServer(api.MeshTopology{Mesh: n.mesh, Controller: n.ctl, MACs: macs},
		api.TopologyOptions{Logger: log.With("component", "topology"), NATGateway: natGateway(cfg), Trace: lastTrace(run)})
	n.runners = append(slices.Clip(n.runners), topology) // its port-stats sampler runs with the apps' work
	promReg, _ := reg.(*prometheus.Registry)
	n.api, err = api.New(api.Sources{Mesh: n.mesh, Switches: n.ctl, AppName: registry.AppName, TableName: registry.Pipeline().Name,
		Routes: run.Routes, Generation: gen, Checks: n.checks, Registry: promReg, Topology: topology,
		Token: func() string { return *n.token.Load() },
		Reload: func(ctx context.Context) (any, error) {
			f := n.reload.Load()
			if f == nil {
				return nil, errors.New("the controller is still starting")
			}
			return (*f)(ctx)
		}})
	if err != nil {
		return nil, err
	}
	return n, nil
}

// tracePather is the app whose last trace the topology page draws (the
// trace app).
type tracePather interface {
	LastPath() []api.TraceHop
}

// lastTrace returns the running trace app's LastPath, nil when it does
// not run.
func lastTrace(run *apps.Running) func() []api.TraceHop {
	for _, r := range run.Registrations {
		if p, ok := r.App.(tracePather); ok {
			return p.LastPath
		}
	}
	return nil
}

// runApps runs the apps' background work until ctx ends.
func (n *node) runApps(ctx context.Context) {
	for _, r := range n.runners {
		go r.Run(ctx)
	}
}

// natGateway returns the NAT gateway the topology page marks: the nat
// section's gateway while NAT runs, else "".
func natGateway(cfg config.Config) func() string {
	gw := ""
	if c, ok := cfg.Section(nat.Spec.ConfigPath).(*nat.Config); ok && c.Enabled() {
		gw = c.Gateway
	}
	return func() string { return gw }
}

// meters converts the configured meter rates (validated: 0 to 10^7).
func meters(m config.Meters) controller.Meters {
	return controller.Meters{SwitchPPS: uint32(m.SwitchPPS), SwitchBurst: uint32(m.SwitchBurst),
		PortPPS: uint32(m.PortPPS), PortBurst: uint32(m.PortBurst)}
}

// close commits the state and closes its file.
func (n *node) close() error { return n.st.close() }

// fdReserve is the file descriptors kept for everything but switch
// connections: OVSDB sessions, the state file, API connections, logs.
const fdReserve = 128

// fdBound lowers the switch connection limit below the process's file
// descriptor limit (RLIMIT_NOFILE), keeping fdReserve for the rest, and
// says so: past the fd limit accept fails for everything, OVSDB and the
// API included.
func fdBound(maxConns int, log *slog.Logger) int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur > uint64(maxConns+fdReserve) {
		return maxConns
	}
	bound := max(int(rl.Cur)-fdReserve, 1)
	log.Warn("openflow.max_connections lowered to fit the file descriptor limit", "configured", maxConns,
		"rlimit_nofile", rl.Cur, "reserved", fdReserve, "max_connections", bound)
	return bound
}
