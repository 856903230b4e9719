package topo

import (
	"fmt"
	"hash/fnv"
	"net/netip"
	"strings"

	"github.com/ovsmesh/ovsmesh/flows"
)

// Host is one configured mesh member.
type Host struct {
	// Name is the host's unique name from the configuration.
	Name string
	// OVSDB is the ovsdb-server address (tcp:IP:PORT or unix:PATH).
	OVSDB string
	// TunnelIP is the host's underlay IPv4 address, the remote_ip its
	// peers' tunnel ports point at.
	TunnelIP netip.Addr
	// TLS names the host's own TLS files, paths on the host, which the
	// OVSDB side writes into its Open_vSwitch SSL row; the zero value
	// when the host has none (hosts[].tls not given).
	TLS HostTLS
}

// HostTLS names a host's TLS files, absolute paths on the host
// (hosts[].tls): what ovs-vswitchd and ovsdb-server present and check
// their peers against.
type HostTLS struct {
	// Cert is the host's certificate, Key its private key.
	Cert, Key string
	// CA is the CA certificate the controller's must chain to.
	CA string
}

// Enabled reports whether the host has TLS files.
func (t HostTLS) Enabled() bool { return t != HostTLS{} }

// DPID returns the host's pinned datapath ID.
func (h Host) DPID() flows.DPID { return DPIDFor(h.Name) }

// DPIDFor derives a pinned, non-zero 64-bit datapath ID from a host name
// (FNV-1a, with the top 16 bits set to 0x0a55 so ovsmesh-pinned IDs are
// easy to tell apart in dumps). It is written into the bridge's
// other_config:datapath-id so adding ports never changes it.
func DPIDFor(name string) flows.DPID {
	h := fnv.New64a()
	h.Write([]byte(name))
	return flows.DPID(0x0a55<<48 | h.Sum64()&(1<<48-1))
}

// TunnelPortName returns the stable name (at most 15 bytes, the Linux
// IFNAMSIZ limit) of the tunnel port that points at peer: "om-" followed
// by the peer's name when it fits and has only letters, digits and '-',
// else "om_" and 12 hex digits of its FNV-1a hash. The two forms cannot
// meet: no host name puts '_' after "om", so a host literally named like
// another's hash (say "90b9869aa6fd" next to "rack12-compute-node-0042")
// gets a port of its own. Two long names whose hashes agree would share
// one; configuration validation refuses that (see TunnelPortCollision).
func TunnelPortName(peer string) string {
	const prefix = "om-"
	if peer != "" && len(prefix)+len(peer) <= 15 && strings.IndexFunc(peer, func(r rune) bool {
		return !(r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) < 0 {
		return prefix + peer
	}
	h := fnv.New64a()
	h.Write([]byte(peer))
	return fmt.Sprintf("om_%012x", h.Sum64()&(1<<48-1))
}

// IsTunnelPortName reports whether name has the form of an ovsmesh
// tunnel port ("om-..." or "om_..."), whichever peer it points at.
func IsTunnelPortName(name string) bool {
	return strings.HasPrefix(name, "om-") || strings.HasPrefix(name, "om_")
}

// Collisions returns, for hosts whose tunnel port names or pinned DPIDs
// coincide, one message per clash naming both hosts (in order): such
// hosts would share a port on every peer, or a datapath ID, and cut each
// other off.
func Collisions(names []string) []string { return collisions(names, TunnelPortName, DPIDFor) }

// collisions is Collisions with the naming functions given, for tests
// (a real 48-bit clash is too costly to find).
func collisions(names []string, portName func(string) string, dpidFor func(string) flows.DPID) []string {
	var out []string
	ports := map[string]string{}
	dpids := map[flows.DPID]string{}
	for _, n := range names {
		p, d := portName(n), dpidFor(n)
		if o, dup := ports[p]; dup && o != n {
			out = append(out, fmt.Sprintf("hosts %q and %q would share the tunnel port name %s", o, n, p))
		}
		if o, dup := dpids[d]; dup && o != n {
			out = append(out, fmt.Sprintf("hosts %q and %q would share the datapath ID %s", o, n, d))
		}
		ports[p], dpids[d] = n, n
	}
	return out
}
