package api

import (
	"bytes"
	"context"
	"net"

	"github.com/ovsmesh/ovsmesh/controller"
	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/topo"
)

// PortStatser lists connected switches and reads their port counters;
// *controller.Controller satisfies it.
type PortStatser interface {
	// Switches returns the connected switches ordered by DPID.
	Switches() []controller.SwitchInfo
	// PortStats fetches every port's counters of switch dpid.
	PortStats(ctx context.Context, dpid flows.DPID) ([]flows.PortStats, error)
}

// MeshTopology is the TopologySource of a running controller: hosts,
// OVSDB state and tunnel OFPorts from Mesh, switches and counters from
// Controller, guests from MACs (the mesh-wide MAC table, which
// topo.OpenMACTable returns; nil counts no guests).
type MeshTopology struct {
	Mesh       *topo.Mesh
	Controller PortStatser
	MACs       *topo.MACTable
}

var _ TopologySource = MeshTopology{}

// Hosts implements TopologySource.
func (m MeshTopology) Hosts() []MeshHost {
	all := m.Mesh.Hosts()
	out := make([]MeshHost, 0, len(all))
	for _, h := range all {
		row := MeshHost{Name: h.Name, DPID: h.DPID(), TunnelIP: h.TunnelIP, OVSDB: m.Mesh.OVSDBState(h.Name), Tunnels: map[string]int32{}}
		for _, p := range all {
			if port, ok := m.Mesh.TunnelOFPort(h.Name, p.Name); ok {
				row.Tunnels[p.Name] = port
			}
		}
		out = append(out, row)
	}
	return out
}

// Switches implements TopologySource.
func (m MeshTopology) Switches() []controller.SwitchInfo { return m.Controller.Switches() }

// PortStats implements TopologySource.
func (m MeshTopology) PortStats(ctx context.Context, dpid flows.DPID) ([]flows.PortStats, error) {
	return m.Controller.PortStats(ctx, dpid)
}

// Guests implements TopologySource in one pass over the MAC table,
// copying nothing but the listed MACs: mesh entries (domain 0) are
// counted by the host they sit on, and the sample lowest MACs of each
// host are kept.
func (m MeshTopology) Guests(sample int) map[string]Guests {
	out := map[string]Guests{}
	if m.MACs == nil {
		return out
	}
	lowest := map[string][]net.HardwareAddr{}
	// Select calls keep for every entry under the table's read lock;
	// keeping none copies nothing.
	m.MACs.Select(func(e topo.MACEntry) bool {
		if e.Domain != 0 || e.Host == "" {
			return false
		}
		g := out[e.Host]
		g.Count++
		out[e.Host] = g
		lowest[e.Host] = insertLowest(lowest[e.Host], e.MAC, sample)
		return false
	})
	for host, macs := range lowest {
		g := out[host]
		g.MACs = make([]string, len(macs))
		for i, mac := range macs {
			g.MACs[i] = mac.String()
		}
		out[host] = g
	}
	return out
}

// insertLowest inserts mac into the ascending list macs, keeping at
// most n; it copies mac only when it is kept.
func insertLowest(macs []net.HardwareAddr, mac net.HardwareAddr, n int) []net.HardwareAddr {
	if n <= 0 || len(macs) == n && bytes.Compare(mac, macs[n-1]) >= 0 {
		return macs
	}
	i := len(macs)
	for i > 0 && bytes.Compare(mac, macs[i-1]) < 0 {
		i--
	}
	if len(macs) < n {
		macs = append(macs, nil)
	}
	copy(macs[i+1:], macs[i:])
	macs[i] = bytes.Clone(mac)
	return macs
}
