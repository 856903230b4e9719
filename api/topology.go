package api

import (
	"context"
	"net/netip"
	"time"

	"github.com/ovsmesh/ovsmesh/controller"
	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/topo"
)

// TopologySource is what GET /api/v1/topology and its port-stats
// sampler read: the configured hosts, the connected switches with their
// port counters, and guest counts per host. MeshTopology is the running
// controller's; tests use fakes. Every method must be safe for
// concurrent use.
type TopologySource interface {
	// Hosts returns the configured hosts in configuration order.
	Hosts() []MeshHost
	// Switches returns the connected switches with their ports.
	Switches() []controller.SwitchInfo
	// PortStats fetches the counters of every port of switch dpid; it
	// wraps controller.ErrNoSwitch when dpid is not connected.
	PortStats(ctx context.Context, dpid flows.DPID) ([]flows.PortStats, error)
	// Guests returns, by host name, how many guest MACs sit behind each
	// host, with at most sample of them listed (the lowest first).
	Guests(sample int) map[string]Guests
}

// MeshHost is one configured host as the topology sees it.
type MeshHost struct {
	Name     string
	DPID     flows.DPID
	TunnelIP netip.Addr
	// OVSDB is the host's ovsdb-server connection state.
	OVSDB topo.OVSDBState
	// Tunnels maps peer host name to the OFPort of the tunnel towards it,
	// as OVSDB reported it.
	Tunnels map[string]int32
}

// Guests counts the guest MACs behind one host (entries of the MAC
// table located on it).
type Guests struct {
	// Count is the number of MACs.
	Count int `json:"count"`
	// MACs lists up to TopologyOptions.GuestSample of them, lowest
	// first; the other Count-len(MACs) are only counted.
	MACs []string `json:"macs"`
}

// Topology is the body of GET /api/v1/topology: what the page at / draws.
type Topology struct {
	// Time is when the answer was built.
	Time time.Time `json:"time"`
	// IntervalSeconds is the port-stats sampling interval in seconds;
	// tunnel rates are averages over the last one.
	IntervalSeconds float64 `json:"interval_seconds"`
	// Hosts are the configured hosts in configuration order.
	Hosts []TopologyHost `json:"hosts"`
	// Tunnels holds one edge per pair of hosts, in host order.
	Tunnels []TopologyTunnel `json:"tunnels"`
	// GuestsTotal is the number of guest MACs on all hosts.
	GuestsTotal int `json:"guests_total"`
	// NATGateway names the host acting as NAT gateway, "" for none.
	NATGateway string `json:"nat_gateway"`
	// Trace is the path of the last traced packet, empty for none.
	Trace []TraceHop `json:"trace"`
}

// TopologyHost is a host node of GET /api/v1/topology.
type TopologyHost struct {
	Name     string `json:"name"`
	DPID     string `json:"dpid"`
	TunnelIP string `json:"tunnel_ip"`
	// OVSDBConnected is true while the host's ovsdb-server session is up;
	// OVSDBError is its last error.
	OVSDBConnected bool   `json:"ovsdb_connected"`
	OVSDBError     string `json:"ovsdb_error,omitempty"`
	// OpenFlowConnected is true while the host's bridge has an OpenFlow
	// session with the controller.
	OpenFlowConnected bool `json:"openflow_connected"`
	// Tunnels maps peer host name to the OFPort of the tunnel towards it.
	Tunnels map[string]int32 `json:"tunnels"`
	// Guests counts the guest MACs behind the host.
	Guests Guests `json:"guests"`
}

// Tunnel states of TopologyTunnel.State.
const (
	// TunnelUp: both ends' ports exist and are up.
	TunnelUp = "up"
	// TunnelDown: an end's connected switch lacks the port, or has it down.
	TunnelDown = "down"
	// TunnelUnknown: an end's switch has no OpenFlow session, so its port
	// cannot be seen.
	TunnelUnknown = "unknown"
)

// TopologyTunnel is a tunnel edge of GET /api/v1/topology between hosts
// A and B (A first in configuration order).
type TopologyTunnel struct {
	A string `json:"a"`
	B string `json:"b"`
	// State is TunnelUp, TunnelDown or TunnelUnknown.
	State string `json:"state"`
	// AEnd and BEnd are A's tunnel port towards B and B's towards A.
	AEnd TunnelEnd `json:"a_end"`
	BEnd TunnelEnd `json:"b_end"`
}

// TunnelEnd is one host's port of a tunnel. What crossed the tunnel
// from A to B is B's rx: OVS's userspace datapath (3.1) counts a tunnel
// port's tx high, 1.8 times the packets the far end received for a TCP
// stream (measured), which the page shows as "counted ... sent".
type TunnelEnd struct {
	// Up is true when the switch is connected and has the port up.
	Up bool `json:"up"`
	// Rates are the port's rates over the last sampling interval; nil
	// until two samples of the port were taken.
	Rates *PortRates `json:"rates,omitempty"`
}

// PortRates are a port's counters turned into rates over a sampling
// interval, rounded to whole numbers; a rate the switch does not count,
// or 0, is left out of the JSON.
type PortRates struct {
	// TxPackets and RxPackets are in packets/s.
	TxPackets float64 `json:"tx_packets_per_s,omitempty"`
	RxPackets float64 `json:"rx_packets_per_s,omitempty"`
	// TxBytes and RxBytes are in bytes/s.
	TxBytes float64 `json:"tx_bytes_per_s,omitempty"`
	RxBytes float64 `json:"rx_bytes_per_s,omitempty"`
}

// TraceHop is one hop of a traced packet's path, drawn on the page.
// The trace command of a later issue fills it.
type TraceHop struct {
	// Host is the host the packet crossed.
	Host string `json:"host"`
	// Note says what happened there ("in from h1g1", "to h2", "drop").
	Note string `json:"note,omitempty"`
}

// buildTopology assembles the answer from src, the sampler's rates and
// the options' gateway and trace. It costs one pass over the hosts, one
// over every pair of hosts, and one over the MAC table (in src.Guests).
func buildTopology(src TopologySource, rates *sampler, o TopologyOptions, now time.Time) Topology {
	hosts := src.Hosts()
	out := Topology{Time: now, IntervalSeconds: o.Interval.Seconds(), Hosts: make([]TopologyHost, 0, len(hosts)),
		Tunnels: make([]TopologyTunnel, 0, len(hosts)*(len(hosts)-1)/2), Trace: []TraceHop{}}
	if o.NATGateway != nil {
		out.NATGateway = o.NATGateway()
	}
	if o.Trace != nil {
		if t := o.Trace(); t != nil {
			out.Trace = t
		}
	}
	sws := map[flows.DPID]controller.SwitchInfo{}
	for _, s := range src.Switches() {
		sws[s.DPID] = s
	}
	guests := src.Guests(o.GuestSample)
	// ends[i][j] is host i's end of the tunnel towards host j.
	type end struct {
		port      flows.OFPort
		connected bool
		found, up bool
	}
	ends := make([][]end, len(hosts))
	index := make(map[string]int, len(hosts))      // host name -> i
	byPortName := make(map[string]int, len(hosts)) // tunnel port name -> the peer it points at
	for i, h := range hosts {
		index[h.Name], byPortName[topo.TunnelPortName(h.Name)] = i, i
	}
	for i, h := range hosts {
		sw, connected := sws[h.DPID]
		tunnels := h.Tunnels
		if tunnels == nil {
			tunnels = map[string]int32{}
		}
		g := guests[h.Name]
		if g.MACs == nil {
			g.MACs = []string{}
		}
		out.GuestsTotal += g.Count
		out.Hosts = append(out.Hosts, TopologyHost{Name: h.Name, DPID: h.DPID.String(), TunnelIP: addrString(h.TunnelIP),
			OVSDBConnected: h.OVSDB.Connected, OVSDBError: h.OVSDB.LastError, OpenFlowConnected: connected,
			Tunnels: tunnels, Guests: g})
		ends[i] = make([]end, len(hosts))
		byOFPort := make(map[flows.OFPort]int, len(tunnels)) // OFPort -> the peer OVSDB says it points at
		for peer, no := range tunnels {
			if j, ok := index[peer]; ok {
				byOFPort[flows.OFPort(no)] = j
			}
		}
		for j := range ends[i] {
			ends[i][j].connected = connected
		}
		// The OFPort OVSDB reported finds a tunnel port; its name does
		// until OVSDB has reported one. The switch's port list says
		// whether it is up.
		for _, p := range sw.Ports {
			j, ok := byOFPort[p.No]
			if !ok {
				if j, ok = byPortName[p.Name]; !ok {
					continue
				}
				if _, reported := tunnels[hosts[j].Name]; reported {
					continue
				}
			}
			if j != i {
				ends[i][j] = end{port: p.No, connected: connected, found: true, up: p.Up()}
			}
		}
	}
	for i, a := range hosts {
		for j := i + 1; j < len(hosts); j++ {
			b := hosts[j]
			ea, eb := ends[i][j], ends[j][i]
			t := TopologyTunnel{A: a.Name, B: b.Name, State: TunnelUp,
				AEnd: TunnelEnd{Up: ea.connected && ea.up}, BEnd: TunnelEnd{Up: eb.connected && eb.up}}
			switch {
			case !ea.connected || !eb.connected:
				t.State = TunnelUnknown
			case !ea.up || !eb.up:
				t.State = TunnelDown
			}
			if ea.found {
				t.AEnd.Rates = rates.rates(a.DPID, ea.port)
			}
			if eb.found {
				t.BEnd.Rates = rates.rates(b.DPID, eb.port)
			}
			out.Tunnels = append(out.Tunnels, t)
		}
	}
	return out
}

// addrString renders a, or "" for the zero address.
func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}
