package topo

import (
	"slices"
	"sync"
	"time"

	"github.com/ovsmesh/ovsmesh/flows"
)

// OVSDBState is the OVSDB-side state of one host, as published by the
// ovsdb package.
type OVSDBState struct {
	// Connected is true while the host's ovsdb-server session is up.
	Connected bool
	// LastError is the last connect or transact error, "" if none.
	LastError string
	// Since is when Connected last changed.
	Since time.Time
	// Converged is true once a pass over the current configuration found
	// nothing to change on this connection; writes after that count as
	// Repairs.
	Converged bool
	// Repairs counts drift repairs on this host (rows recreated or fixed).
	Repairs uint64
}

// Mesh is the live view of the configured hosts. It is safe for
// concurrent use: the OVSDB side writes it, the controller and API read it.
type Mesh struct {
	mu      sync.RWMutex
	hosts   []Host
	byName  map[string]int
	byDPID  map[flows.DPID]int
	byPort  map[string]int // tunnel port name -> index of the peer it points at
	state   map[string]OVSDBState
	tunnels map[string]map[string]int32 // host -> peer -> OFPort
	// appPorts holds the ports apps own: host -> port name -> port.
	appPorts map[string]map[string]AppPort
	apps     appPortState // their OVSDB-side status and watchers (appports.go)
	// ifaces holds the interfaces each host's OVSDB declares (ifaces.go).
	ifaces ifaceSet
}

// NewMesh returns a Mesh holding hosts.
func NewMesh(hosts []Host) *Mesh {
	m := &Mesh{state: map[string]OVSDBState{}, tunnels: map[string]map[string]int32{}}
	m.SetHosts(hosts)
	return m
}

// SetHosts replaces the host list (on config reload). State of hosts that
// remain is kept; state of hosts that left is dropped.
func (m *Mesh) SetHosts(hosts []Host) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.hosts = slices.Clone(hosts)
	m.byName = make(map[string]int, len(hosts))
	m.byDPID = make(map[flows.DPID]int, len(hosts))
	m.byPort = make(map[string]int, len(hosts))
	for i, h := range hosts {
		m.byName[h.Name] = i
		m.byDPID[h.DPID()] = i
		m.byPort[TunnelPortName(h.Name)] = i
	}
	for name := range m.state {
		if _, ok := m.byName[name]; !ok {
			delete(m.state, name)
			delete(m.tunnels, name)
		}
	}
	for _, peers := range m.tunnels {
		for peer := range peers {
			if _, ok := m.byName[peer]; !ok {
				delete(peers, peer)
			}
		}
	}
}

// Hosts returns a copy of the configured hosts in configuration order.
func (m *Mesh) Hosts() []Host {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return slices.Clone(m.hosts)
}

// HostByDPID returns the configured host whose pinned DPID is dpid.
func (m *Mesh) HostByDPID(dpid flows.DPID) (Host, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	i, ok := m.byDPID[dpid]
	if !ok {
		return Host{}, false
	}
	return m.hosts[i], true
}

// PeerByTunnelPort returns the host a tunnel port named name points at,
// if name is an ovsmesh tunnel port name of a configured host.
func (m *Mesh) PeerByTunnelPort(name string) (Host, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	i, ok := m.byPort[name]
	if !ok {
		return Host{}, false
	}
	return m.hosts[i], true
}

// SetOVSDBState records host's OVSDB connection state.
func (m *Mesh) SetOVSDBState(host string, st OVSDBState) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.byName[host]; ok {
		m.state[host] = st
	}
}

// OVSDBState returns host's OVSDB connection state.
func (m *Mesh) OVSDBState(host string) OVSDBState {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.state[host]
}

// SetTunnelOFPort records that on host the tunnel towards peer has
// OpenFlow port number ofport (from Interface.ofport); ofport <= 0 forgets it.
func (m *Mesh) SetTunnelOFPort(host, peer string, ofport int32) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.byName[host]; !ok {
		return
	}
	if ofport <= 0 {
		delete(m.tunnels[host], peer)
		return
	}
	if m.tunnels[host] == nil {
		m.tunnels[host] = map[string]int32{}
	}
	m.tunnels[host][peer] = ofport
}

// TunnelOFPort returns the OFPort of the tunnel on host towards peer.
func (m *Mesh) TunnelOFPort(host, peer string) (int32, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	p, ok := m.tunnels[host][peer]
	return p, ok
}
