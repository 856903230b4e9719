package topo

import (
	"net"
	"time"

	"github.com/ovsmesh/ovsmesh/flows"
)

// MACKey identifies a MAC within an L2 domain: Domain 0 is the mesh;
// a standalone switch (not a configured host) is its own domain, keyed by
// its DPID.
type MACKey struct {
	Domain flows.DPID
	MAC    [6]byte
}

// MACEntry is where a MAC was learned.
type MACEntry struct {
	// MAC is the learned Ethernet address.
	MAC net.HardwareAddr
	// Domain is 0 for the mesh, else the standalone switch's DPID.
	Domain flows.DPID
	// DPID and OFPort are the switch and local port the MAC sits behind.
	DPID   flows.DPID
	OFPort flows.OFPort
	// Host is the configured host owning DPID ("" for a standalone switch).
	Host string
	// Learned is when the MAC was learned at this location; Moves counts
	// moves since it was first learned.
	Learned time.Time
	Moves   uint64
}

// MACTable is the mesh-wide MAC table, keyed by (domain, MAC); the
// learning app is its only writer.
type MACTable = Table[MACKey, MACEntry]

// NewMACTable returns an empty MAC table, not persisted.
func NewMACTable() *MACTable { return NewTable(MACCodec) }

// OpenMACTable returns the MAC table of s (bucket "macs"), restored from
// it on the first call, with its gauge ovsmesh_mac_table_entries.
func OpenMACTable(s *State) (*MACTable, error) {
	return Open(s, "macs", MACCodec, TableOptions{Gauge: "ovsmesh_mac_table_entries",
		Help: "MACs in the mesh-wide MAC table, restored ones included."})
}

// KeyOf returns the key of mac in domain; mac must be 6 bytes.
func KeyOf(domain flows.DPID, mac net.HardwareAddr) MACKey {
	return MACKey{Domain: domain, MAC: [6]byte(mac[:6])}
}
