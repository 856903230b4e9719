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
}

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
// IFNAMSIZ limit) of the tunnel port that points at peer: "om-" followed by
// the peer's name, or, when that is too long or has other characters than
// letters, digits and '-', "om-" and 12 hex digits of its FNV-1a hash.
func TunnelPortName(peer string) string {
	const prefix = "om-"
	if len(prefix)+len(peer) <= 15 && strings.IndexFunc(peer, func(r rune) bool {
		return !(r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) < 0 {
		return prefix + peer
	}
	h := fnv.New64a()
	h.Write([]byte(peer))
	return fmt.Sprintf("%s%012x", prefix, h.Sum64()&(1<<48-1))
}
