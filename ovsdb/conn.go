package ovsdb

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/go-logr/logr"
	"github.com/ovn-kubernetes/libovsdb/cache"
	"github.com/ovn-kubernetes/libovsdb/client"
	"github.com/ovn-kubernetes/libovsdb/model"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ovsmesh/ovsmesh/ovsdb/vswitchd"
)

// DatabaseName is the OVSDB database ovsmesh works on (RFC 7047 section 3.1
// "<db-name>").
const DatabaseName = "Open_vSwitch"

// DialOptions configures one OVSDB session.
type DialOptions struct {
	// Logger receives libovsdb's own logs (through logr.FromSlogHandler).
	// Nil discards them.
	Logger *slog.Logger
	// Registerer, when not nil, receives libovsdb's client metrics
	// (ovsmesh_ovsdb_libovsdb_*). They are unregistered by Close, so a
	// Registerer may serve one session after another.
	Registerer prometheus.Registerer
	// OnChange, when not nil, is called after every monitor update that
	// touches a monitored row. It runs on libovsdb's event goroutine and
	// must not block.
	OnChange func()
	// TLS configures the session of an ssl: address (TLS 1.2 or later,
	// RFC 5246 and RFC 8446), normally a ClientTLS's ClientConfig for
	// the host; an ssl: address without it is refused.
	TLS *tls.Config
}

// Conn is one OVSDB session to one host's ovsdb-server, with a monitor
// (RFC 7047 section 4.1.5) on the Open_vSwitch, Bridge, Port, Interface
// and Controller tables whose replica the Ensure methods read. A Conn does
// not reconnect: when the session drops, Done is closed and the caller
// dials again. It is safe for concurrent use.
type Conn struct {
	addr    string
	cli     client.Client
	cache   *cache.TableCache
	metrics *trackingRegisterer
	done    chan struct{}
	closed  chan struct{}
	once    sync.Once
}

// monitoredModels lists the tables ovsmesh reads; the client model holds
// only these.
func monitoredModels() map[string]model.Model {
	return map[string]model.Model{
		vswitchd.OpenvSwitchTable: &vswitchd.OpenvSwitch{},
		vswitchd.BridgeTable:      &vswitchd.Bridge{},
		vswitchd.PortTable:        &vswitchd.Port{},
		vswitchd.InterfaceTable:   &vswitchd.Interface{},
		vswitchd.ControllerTable:  &vswitchd.Controller{},
		vswitchd.SSLTable:         &vswitchd.SSL{},
	}
}

// CheckAddress reports whether addr is an OVSDB address ovsmesh can dial:
// "tcp:IP:PORT", "ssl:IP:PORT" or "unix:PATH" (ovsdb-server(1) active
// connection methods).
func CheckAddress(addr string) error {
	switch {
	case strings.HasPrefix(addr, "unix:") && len(addr) > len("unix:"):
		return nil
	case strings.HasPrefix(addr, "tcp:") && strings.Contains(addr[len("tcp:"):], ":"):
		return nil
	case strings.HasPrefix(addr, "ssl:") && strings.Contains(addr[len("ssl:"):], ":"):
		return nil
	}
	return fmt.Errorf("ovsdb address %q: want tcp:IP:PORT, ssl:IP:PORT or unix:PATH", addr)
}

// Dial connects to the ovsdb-server at addr (see CheckAddress), checks
// that it serves the Open_vSwitch database, and starts the monitor. It
// returns once the replica holds the initial contents, or with an error
// when ctx ends first or the server refuses; nothing is left running on
// error.
func Dial(ctx context.Context, addr string, opts DialOptions) (*Conn, error) {
	if err := CheckAddress(addr); err != nil {
		return nil, err
	}
	if strings.HasPrefix(addr, "ssl:") && opts.TLS == nil {
		return nil, fmt.Errorf("ovsdb address %q: ssl: needs a TLS configuration (the tls section)", addr)
	}
	dbModel, err := model.NewClientDBModel(DatabaseName, monitoredModels())
	if err != nil {
		return nil, fmt.Errorf("client model: %w", err)
	}
	c := &Conn{addr: addr, done: make(chan struct{}), closed: make(chan struct{})}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	lr := logr.FromSlogHandler(logger.Handler())
	cliOpts := []client.Option{client.WithEndpoint(addr), client.WithLogger(&lr)}
	if opts.Registerer != nil {
		c.metrics = &trackingRegisterer{inner: opts.Registerer, log: logger}
		cliOpts = append(cliOpts, client.WithMetricsRegistryNamespaceSubsystem(c.metrics, "ovsmesh", "ovsdb_libovsdb"))
	}
	if opts.TLS != nil {
		cliOpts = append(cliOpts, client.WithTLSConfig(opts.TLS))
	}
	cli, err := client.NewOVSDBClient(dbModel, cliOpts...)
	if err != nil {
		c.metrics.unregisterAll()
		return nil, fmt.Errorf("ovsdb client for %s: %w", addr, err)
	}
	c.cli = cli
	if err := cli.Connect(ctx); err != nil {
		c.Close()
		return nil, fmt.Errorf("connect %s: %w", addr, err)
	}
	c.cache = cli.Cache()
	if c.cache == nil {
		c.Close()
		return nil, fmt.Errorf("connect %s: %w", addr, errors.New("no cache after connect"))
	}
	if opts.OnChange != nil {
		f := opts.OnChange
		c.cache.AddEventHandler(&cache.EventHandlerFuncs{
			AddFunc:    func(string, model.Model) { f() },
			UpdateFunc: func(string, model.Model, model.Model) { f() },
			DeleteFunc: func(string, model.Model) { f() },
		})
	}
	go c.watch()
	if _, err := cli.Monitor(ctx, newMonitor(cli)); err != nil {
		c.Close()
		return nil, fmt.Errorf("monitor %s: %w", addr, err)
	}
	return c, nil
}

// newMonitor asks only for the columns ovsmesh reads, so the counters
// ovs-vswitchd rewrites every few seconds (statistics, status) do not
// wake the reconcile loop.
func newMonitor(cli client.Client) *client.Monitor {
	ovs, br, port, iface, ctl := &vswitchd.OpenvSwitch{}, &vswitchd.Bridge{}, &vswitchd.Port{}, &vswitchd.Interface{}, &vswitchd.Controller{}
	return cli.NewMonitor(
		client.WithTable(ovs, &ovs.Bridges, &ovs.NextCfg, &ovs.CurCfg),
		client.WithTable(br, &br.Name, &br.Ports, &br.Controller, &br.DatapathType, &br.Protocols,
			&br.FailMode, &br.OtherConfig, &br.ExternalIDs),
		client.WithTable(port, &port.Name, &port.Interfaces, &port.ExternalIDs),
		client.WithTable(iface, &iface.Name, &iface.Type, &iface.Options, &iface.ExternalIDs,
			&iface.Ofport, &iface.MTU, &iface.Error, &iface.Ifindex),
		client.WithTable(ctl, &ctl.Target, &ctl.ConnectionMode, &ctl.ControllerRateLimit, &ctl.ControllerBurstLimit),
		client.WithTable(&vswitchd.SSL{}), // every column: the paths and bootstrap_ca_cert (EnsureSSL)
	)
}

// watch closes done when the session ends, whether the server went away
// or Close was called.
func (c *Conn) watch() {
	select {
	case <-c.cli.DisconnectNotify():
	case <-c.closed:
	}
	close(c.done)
}

// Addr returns the address the Conn was dialled with.
func (c *Conn) Addr() string { return c.addr }

// Done returns a channel that is closed when the session has ended.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Close ends the session and unregisters its libovsdb metrics. It is safe
// to call more than once.
func (c *Conn) Close() {
	c.once.Do(func() {
		if c.cli != nil {
			c.cli.Close()
		}
		close(c.closed)
		c.metrics.unregisterAll()
	})
}
