package controller

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ovsmesh/ovsmesh/flows"
)

// Options configures a Controller.
type Options struct {
	// Listen holds host:port addresses to accept switches on (":6653"
	// listens on every address, "127.0.0.1:0" picks a free port).
	Listen []string
	// TLSListen holds host:port addresses to accept switches on over
	// TLS (openflow.listen's ssl: entries); it needs TLS.
	TLSListen []string
	// TLS configures the TLSListen listeners: normally a pki.Loader's
	// ServerConfig, which requires a client certificate of the
	// configured CA and picks up re-issued files at each handshake.
	// TLS 1.2 (RFC 5246) is the lowest version served whatever it says.
	// The TLS handshake runs inside the connection's handshake slot,
	// bounded by HandshakeTimeout. After FEATURES_REPLY the switch's
	// datapath ID must be the one its certificate binds
	// (pki.PeerIdentity), before Admit is asked; a refused switch is
	// closed, logged with both identities and counted in
	// ovsmesh_tls_refused_total{reason}.
	TLS *tls.Config
	// EchoInterval is how long a switch may be silent before it is probed
	// with an ECHO_REQUEST; it is dropped after a second silent interval.
	// Default 5 s.
	EchoInterval time.Duration
	// QueueLen bounds each switch's event queue, in messages; packet-ins
	// beyond it are dropped and counted. Default 1024.
	QueueLen int
	// SendLimit bounds each switch's send queue, in bytes; a switch that
	// falls further behind is disconnected. Default 16 MiB.
	SendLimit int
	// HandshakeTimeout bounds the TLS handshake of a TLSListen
	// connection, and then the HELLO/FEATURES/PORT_DESC exchange, each.
	// Default 10 s.
	HandshakeTimeout time.Duration
	// PacketInBytes bounds the packet-in bytes queued or being handled
	// for one switch; packet-ins beyond it are dropped and counted.
	// Default 1 MiB.
	PacketInBytes int
	// PacketInBytesTotal bounds the packet-in bytes queued or being
	// handled across all switches; packet-ins beyond it are dropped and
	// counted. Half of it is reserved, in equal parts for up to
	// MaxConnections switches, so that no switch is starved; the other
	// half is shared. Default 16 MiB.
	PacketInBytesTotal int
	// EventBytes bounds the PORT_STATUS and FLOW_REMOVED bytes queued
	// or being handled for one switch. These are never dropped: past the
	// bound the session stops reading until the apps catch up, so TCP
	// pushes back on the switch. Default 4 MiB.
	EventBytes int
	// MaxPorts bounds a switch's port list (PORT_DESC reply), in ports;
	// a longer one fails the handshake. Default 16384 (1 MiB).
	MaxPorts int
	// MaxReplyBytes bounds the bodies of one multipart reply (a flow
	// dump), in bytes; a larger reply fails the request. Default 64 MiB.
	MaxReplyBytes int
	// MaxConnections bounds the switch connections held at once,
	// handshaking or up; further connections are closed at accept.
	// Default 1024.
	MaxConnections int
	// MaxHandshaking bounds the connections that have not finished the
	// handshake; while that many are handshaking, further connections
	// wait in the listen backlog. Default 128.
	MaxHandshaking int
	// MaxConnectionsPerIP bounds the connections held from one source
	// address. Default 32.
	MaxConnectionsPerIP int
	// Admit, when set, is asked after FEATURES_REPLY whether the switch
	// at remote may claim dpid; an error refuses the switch (the
	// connection is closed, logged with both and counted). Nil admits
	// every switch.
	Admit func(dpid flows.DPID, remote netip.Addr) error
	// Generation is the current cookie generation; reconciliation deletes
	// ovsmesh flows of any other generation.
	Generation uint16
	// Pipeline is the composed table graph: every flow-mod and
	// packet-out sent is checked against it (a goto to an undeclared
	// table is refused with an error before it reaches the switch). Nil
	// checks nothing.
	Pipeline *flows.Pipeline
	// Meters are the packet-in meters kept on every switch; the zero
	// value keeps none.
	Meters Meters
	// Baseline holds the table-miss entries of every stage (cookie app
	// flows.AppBaseline), installed on each switch after the apps'
	// SwitchUp and before reconciliation.
	Baseline []flows.Flow
	// Logger receives the controller's logs; nil discards them.
	Logger *slog.Logger
	// Registerer receives the controller's metrics; nil skips them.
	Registerer prometheus.Registerer
}

// Controller accepts OpenFlow switches and runs a session for each.
type Controller struct {
	opts    Options
	tls     *tls.Config // of the TLSListen listeners
	apps    []App
	byID    [256]App   // by cookie app byte
	byTable [256]App   // by owned table
	observe [256][]App // by observed table
	log     *slog.Logger
	metrics *metrics
	sent    [32]prometheus.Counter

	pinBudget *budget // packet-in bytes across all switches

	mu          sync.Mutex
	listeners   []net.Listener
	sessions    map[flows.DPID]*session
	conns       map[net.Conn]netip.Addr // every accepted connection, by source address
	perIP       map[netip.Addr]int
	handshaking map[net.Conn]struct{}
	slotFreed   chan struct{} // closed and replaced when a handshake slot frees
	closing     bool
	refusedLog  rateLog
	tlsLog      map[string]*rateLog // by refusal reason
}

// New returns a Controller that hands events to the registered apps in
// the given order. It fails when two registrations claim one app ID or
// one table, or an ID is 0 or flows.AppBaseline (the controller's own).
func New(opts Options, regs ...Registration) (*Controller, error) {
	if opts.EchoInterval <= 0 {
		opts.EchoInterval = 5 * time.Second
	}
	if opts.QueueLen <= 0 {
		opts.QueueLen = 1024
	}
	if opts.SendLimit <= 0 {
		opts.SendLimit = 16 << 20
	}
	if opts.HandshakeTimeout <= 0 {
		opts.HandshakeTimeout = 10 * time.Second
	}
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&opts.PacketInBytes, 1<<20)
	def(&opts.PacketInBytesTotal, 16<<20)
	def(&opts.EventBytes, 4<<20)
	def(&opts.MaxPorts, 16384)
	def(&opts.MaxReplyBytes, 64<<20)
	def(&opts.MaxConnections, 1024)
	def(&opts.MaxHandshaking, 128)
	def(&opts.MaxConnectionsPerIP, 32)
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Controller{opts: opts, log: log, metrics: newMetrics(opts.Registerer),
		pinBudget: newBudget(opts.PacketInBytesTotal, opts.MaxConnections, opts.PacketInBytes),
		sessions:  map[flows.DPID]*session{}, conns: map[net.Conn]netip.Addr{},
		perIP: map[netip.Addr]int{}, handshaking: map[net.Conn]struct{}{}, slotFreed: make(chan struct{}),
		tlsLog: map[string]*rateLog{}}
	if len(opts.TLSListen) > 0 {
		if opts.TLS == nil {
			return nil, fmt.Errorf("TLS listeners %s need a TLS configuration", strings.Join(opts.TLSListen, ", "))
		}
		c.tls = serverTLS(opts.TLS)
	}
	for _, r := range regs {
		switch {
		case r.ID == 0 || r.ID == flows.AppBaseline:
			return nil, fmt.Errorf("app %s: app ID %d is reserved", r.App.Name(), r.ID)
		case c.byID[r.ID] != nil:
			return nil, fmt.Errorf("app %s: app ID %d is also app %s's", r.App.Name(), r.ID, c.byID[r.ID].Name())
		}
		c.byID[r.ID] = r.App
		for _, t := range r.Tables {
			if other := c.byTable[t]; other != nil {
				return nil, fmt.Errorf("app %s: table %d is also app %s's", r.App.Name(), t, other.Name())
			}
			c.byTable[t] = r.App
		}
		for _, t := range r.Observe {
			c.observe[t] = append(c.observe[t], r.App)
		}
		c.apps = append(c.apps, r.App)
	}
	for _, t := range []flows.MsgType{flows.Hello{}.MsgType(), flows.EchoRequest{}.MsgType(), flows.EchoReply{}.MsgType(),
		flows.FeaturesRequest{}.MsgType(), flows.SetConfig{}.MsgType(), flows.Error{}.MsgType(), flows.FlowMod{}.MsgType(),
		flows.GroupMod{}.MsgType(), flows.PacketOut{}.MsgType(), flows.BarrierRequest{}.MsgType(), flows.PortDescRequest{}.MsgType()} {
		c.sent[t&31] = c.metrics.sent.WithLabelValues(t.String())
	}
	return c, nil
}

// AppName names the app owning a cookie's app byte, for metric labels
// and the API: the registered app's name, "baseline" for the
// controller's table-miss entries, "none" for foreign flows (app 0),
// else "app" and the number.
func (c *Controller) AppName(id flows.AppID) string {
	switch {
	case id == 0:
		return "none"
	case id == flows.AppBaseline:
		return "baseline"
	case c.byID[id] != nil:
		return c.byID[id].Name()
	}
	return "app" + strconv.Itoa(int(id))
}

// route returns the app that handles a packet-in or FLOW_REMOVED of a
// flow with cookie app byte id in table t, or nil.
func (c *Controller) route(id flows.AppID, t flows.TableID) App {
	if a := c.byID[id]; a != nil {
		return a
	}
	return c.byTable[t]
}

// Listen binds every address in Options.Listen, then every address in
// Options.TLSListen. It fails, closing what it bound, if any address
// cannot be bound.
func (c *Controller) Listen() error {
	for i, addr := range append(slices.Clone(c.opts.Listen), c.opts.TLSListen...) {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			c.closeListeners()
			return fmt.Errorf("listen for switches on %s: %w", addr, err)
		}
		if i >= len(c.opts.Listen) {
			ln = tlsListener{ln}
		}
		c.mu.Lock()
		c.listeners = append(c.listeners, ln)
		c.mu.Unlock()
	}
	return nil
}

// Addrs returns the bound listener addresses (after Listen): those of
// Options.Listen, then those of Options.TLSListen.
func (c *Controller) Addrs() []net.Addr {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]net.Addr, len(c.listeners))
	for i, ln := range c.listeners {
		out[i] = ln.Addr()
	}
	return out
}

// Serve accepts switches on the bound listeners until ctx is done, then
// closes every session and waits for them to end. It returns nil after a
// cancelled ctx, or the first accept error.
func (c *Controller) Serve(ctx context.Context) error {
	c.mu.Lock()
	lns := c.listeners
	c.mu.Unlock()
	var wg sync.WaitGroup
	errc := make(chan error, len(lns))
	for _, ln := range lns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errc <- c.accept(ctx, ln, &wg)
		}()
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	c.mu.Lock()
	c.closing = true
	for conn := range c.conns {
		conn.Close()
	}
	c.mu.Unlock()
	c.closeListeners()
	wg.Wait()
	return err
}

// Run is Listen followed by Serve.
func (c *Controller) Run(ctx context.Context) error {
	if err := c.Listen(); err != nil {
		return err
	}
	return c.Serve(ctx)
}

func (c *Controller) closeListeners() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ln := range c.listeners {
		ln.Close()
	}
}

// register makes s the session of its DPID, closing an older session of
// the same switch (it reconnected before the old one timed out).
func (c *Controller) register(s *session) {
	c.mu.Lock()
	old := c.sessions[s.dpid]
	c.sessions[s.dpid] = s
	c.mu.Unlock()
	if old != nil {
		old.log.Info("switch reconnected: closing its older session", "newer", s.conn.RemoteAddr().String())
		old.closeWith(fmt.Errorf("replaced by a newer session of the same datapath ID from %s", s.conn.RemoteAddr()))
	}
	c.metrics.connected.Inc()
}

func (c *Controller) unregister(s *session) {
	c.mu.Lock()
	if c.sessions[s.dpid] == s {
		delete(c.sessions, s.dpid)
	}
	c.mu.Unlock()
	c.metrics.connected.Dec()
}

// SwitchInfo describes a connected switch for the API.
type SwitchInfo struct {
	// DPID is the datapath ID.
	DPID flows.DPID
	// Remote is the switch's address.
	Remote string
	// Since is when the handshake completed.
	Since time.Time
	// Ports holds the switch's ports ordered by OFPort.
	Ports []flows.Port
	// Meters summarises the packet-in meters set up on the switch
	// ("controller 1000/s burst 250, 4 ports 200/s burst 100"), "" for
	// none.
	Meters string
}

// Switches returns the connected switches ordered by DPID.
func (c *Controller) Switches() []SwitchInfo {
	c.mu.Lock()
	out := make([]SwitchInfo, 0, len(c.sessions))
	for _, s := range c.sessions {
		out = append(out, SwitchInfo{DPID: s.dpid, Remote: s.conn.RemoteAddr().String(), Since: s.since, Ports: s.Ports(), Meters: s.meterSummary()})
	}
	c.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].DPID < out[j].DPID })
	return out
}

// isClosedErr reports whether err is the normal end of a connection.
func isClosedErr(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed)
}
