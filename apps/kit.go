package apps

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/ovsmesh/ovsmesh/controller"
	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/topo"
)

// Mesh is the slice of topo.Mesh apps use to classify a switch and its
// ports; *topo.Mesh satisfies it, and tests may use a map-backed fake.
type Mesh interface {
	// HostByDPID returns the configured host whose pinned DPID is dpid.
	HostByDPID(dpid flows.DPID) (topo.Host, bool)
	// PeerByTunnelPort returns the host an ovsmesh tunnel port name
	// points at.
	PeerByTunnelPort(name string) (topo.Host, bool)
	// AppPort returns the port an app owns on host under name.
	AppPort(host, name string) (topo.AppPort, bool)
}

// Ports is how an app sees one switch: whether it is a mesh host, its
// local ports and its tunnels to peers.
type Ports struct {
	// DPID is the switch's datapath ID.
	DPID flows.DPID
	// Host is the configured host name, "" for a standalone switch.
	Host string
	// Local holds the ports that are up and are not ovsmesh tunnels
	// (LOCAL included): where guests sit.
	Local map[flows.OFPort]bool
	// Tunnels maps a peer host's name to the OFPort of the tunnel
	// towards it (mesh hosts only).
	Tunnels map[string]flows.OFPort
	// Owned maps the name of each port an app owns on this host (up or
	// not) to its OFPort; such ports are neither local nor tunnels.
	Owned map[string]flows.OFPort
}

// ClassifyPorts sorts sw's ports: on a mesh host, a port named as the
// tunnel towards a configured peer is that peer's tunnel; a port an app
// owns there is Owned; other ovsmesh-named ports (tunnels to hosts no
// longer configured) are ignored; every other port that is up is local.
// mesh may be nil: every switch is then standalone.
func ClassifyPorts(mesh Mesh, sw controller.Switch) Ports {
	p := Ports{DPID: sw.DPID(), Local: map[flows.OFPort]bool{}, Tunnels: map[string]flows.OFPort{}, Owned: map[string]flows.OFPort{}}
	if mesh != nil {
		if h, ok := mesh.HostByDPID(p.DPID); ok {
			p.Host = h.Name
		}
	}
	for _, port := range sw.Ports() {
		if p.Host != "" {
			if peer, ok := mesh.PeerByTunnelPort(port.Name); ok {
				if peer.Name != p.Host {
					p.Tunnels[peer.Name] = port.No
				}
				continue
			}
			if _, ok := mesh.AppPort(p.Host, port.Name); ok {
				p.Owned[port.Name] = port.No
				continue
			}
		}
		if topo.IsTunnelPortName(port.Name) {
			continue
		}
		if port.Up() {
			p.Local[port.No] = true
		}
	}
	return p
}

// IsTunnel reports whether port is one of p's tunnels.
func (p *Ports) IsTunnel(port flows.OFPort) bool {
	for _, t := range p.Tunnels {
		if t == port {
			return true
		}
	}
	return false
}

// CopyToController returns the action that copies a packet that came in
// on port to the controller: through the port's meter when m keeps
// per-port meters (flows.ToControllerMetered, controller(meter_id=PORT)),
// else the plain output to the controller (the switch's controller meter
// applies to both).
func CopyToController(m controller.Meters, port flows.OFPort) flows.Action {
	if id, ok := m.PortMeter(port); ok {
		return flows.ToControllerMetered{Meter: id}
	}
	return flows.ToController
}

// Switches is an app's per-switch state S, keyed by DPID, with the
// switch's session. It is not safe for concurrent use: the app's own
// lock guards it.
type Switches[S any] struct {
	m map[flows.DPID]*Connected[S]
}

// Connected is one switch's session and the app's state for it.
type Connected[S any] struct {
	// SW is the switch's current session.
	SW controller.Switch
	// State is the app's state for the switch.
	State S
}

// NewSwitches returns an empty set.
func NewSwitches[S any]() *Switches[S] {
	return &Switches[S]{m: map[flows.DPID]*Connected[S]{}}
}

// Up records sw's session with its state, replacing an older session of
// the same DPID, and returns the entry.
func (s *Switches[S]) Up(sw controller.Switch, st S) *Connected[S] {
	c := &Connected[S]{SW: sw, State: st}
	s.m[sw.DPID()] = c
	return c
}

// Down forgets sw, unless a newer session of its DPID has replaced it
// (the old session's SwitchDown can come after the new SwitchUp). It
// reports whether sw was forgotten.
func (s *Switches[S]) Down(sw controller.Switch) bool {
	if c := s.m[sw.DPID()]; c != nil && c.SW == sw {
		delete(s.m, sw.DPID())
		return true
	}
	return false
}

// Get returns the entry of dpid, nil when it is not connected.
func (s *Switches[S]) Get(dpid flows.DPID) *Connected[S] { return s.m[dpid] }

// Len returns how many switches are connected.
func (s *Switches[S]) Len() int { return len(s.m) }

// All returns every entry, in no particular order.
func (s *Switches[S]) All() map[flows.DPID]*Connected[S] { return s.m }

// Send queues msgs for dpid. A switch that is not connected, or whose
// session is closed or too slow, is skipped and logged at debug: its
// session is ending, and it is replayed when it reconnects.
func (s *Switches[S]) Send(ctx context.Context, log *slog.Logger, dpid flows.DPID, msgs []flows.Message) {
	c := s.m[dpid]
	if c == nil || len(msgs) == 0 {
		return
	}
	if err := c.SW.Send(ctx, msgs...); err != nil {
		log.Debug("send to switch failed", "dpid", dpid.String(), "err", err)
	}
}

// Clock is the time source of an app: Now for timestamps, AfterFunc for
// work that must happen later (a verification window ends). RealClock is
// the default; tests use controllertest.Clock.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// AfterFunc calls f in its own goroutine after d, unless the
	// returned stop function is called first (stop reports whether it
	// prevented the call).
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

// RealClock is the wall clock.
type RealClock struct{}

// Now implements Clock.
func (RealClock) Now() time.Time { return time.Now() }

// AfterFunc implements Clock with time.AfterFunc.
func (RealClock) AfterFunc(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }

// Every calls f every d, timed by clock, until ctx ends. f runs in the
// caller's goroutine, so a slow f delays the next call.
func Every(ctx context.Context, clock Clock, d time.Duration, f func()) {
	for {
		tick := make(chan struct{})
		stop := clock.AfterFunc(d, func() { close(tick) })
		select {
		case <-ctx.Done():
			stop()
			return
		case <-tick:
		}
		f()
	}
}

// Expired removes from absent (a switch's DPID to when it lost its
// session) the switches that have been away for at least after at now,
// and returns them: those whose learned state no FLOW_REMOVED will ever
// age.
func Expired(absent map[flows.DPID]time.Time, now time.Time, after time.Duration) map[flows.DPID]bool {
	out := map[flows.DPID]bool{}
	for dpid, since := range absent {
		if now.Sub(since) >= after {
			out[dpid] = true
			delete(absent, dpid)
		}
	}
	return out
}

// Runner is implemented by apps with background work (aging sweeps): the
// daemon calls Run once the controller serves and cancels ctx at
// shutdown; Run returns when ctx is done.
type Runner interface {
	Run(ctx context.Context)
}

// Reloader is implemented by apps whose settings change without a
// restart. Reload gets the app's new section (Spec.Config's type),
// already validated, applies what can change live (reinstalling flows
// whose timeouts changed) and returns the names of the settings it left
// unchanged because they need a restart (YAML paths relative to the
// section). It runs while the controller serves.
type Reloader interface {
	Reload(ctx context.Context, cfg any) (restart []string, err error)
}

// flowStatser is a switch that lists its flows' counters; a session
// does (controller), and so does controllertest.Recorder.
type flowStatser interface {
	FlowStats(ctx context.Context, req flows.FlowStatsRequest) ([]flows.FlowStats, error)
}

// FlowStats lists sw's flows that req selects (OFPMP_FLOW, OpenFlow
// 1.3.5 §7.3.5.2) with their counters, within a second. It fails when
// sw cannot list its flows or does not answer in time.
func FlowStats(ctx context.Context, sw controller.Switch, req flows.FlowStatsRequest) ([]flows.FlowStats, error) {
	st, ok := sw.(flowStatser)
	if !ok {
		return nil, fmt.Errorf("switch %s cannot list its flows", sw.DPID())
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	return st.FlowStats(ctx, req)
}

// Hits returns the packet count of the flow of sw at table and priority
// whose cookie is exactly cookie, within a second. OVS credits a rule's
// counters for every packet its datapath flows carried, even a packet
// that took a datapath flow cached before the rule existed (the rule's
// own action, a packet-in, may then not happen): a verification that
// sees no packet-in still sees the hit here. It fails when sw cannot
// list its flows.
func Hits(ctx context.Context, sw controller.Switch, table flows.TableID, priority uint16, cookie flows.Cookie) (uint64, error) {
	fs, err := FlowStats(ctx, sw, flows.FlowStatsRequest{Table: table, Cookie: cookie, CookieMask: ^flows.Cookie(0)})
	if err != nil {
		return 0, err
	}
	var n uint64
	for _, f := range fs {
		if f.Priority == priority {
			n += f.Packets
		}
	}
	return n, nil
}
