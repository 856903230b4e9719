package topo

import (
	"net"
	"net/netip"
	"time"

	"github.com/ovsmesh/ovsmesh/flows"
)

// ARPBinding is one IPv4-to-MAC binding (RFC 826) in the mesh, with where
// it was learned.
type ARPBinding struct {
	// IP is the bound IPv4 address.
	IP netip.Addr
	// MAC is the hardware address IP resolves to.
	MAC net.HardwareAddr
	// Host, DPID and OFPort say where the binding was last seen (the
	// sender's switch and local port); Host is "" for a standalone switch.
	Host   string
	DPID   flows.DPID
	OFPort flows.OFPort
	// Static bindings come from the configuration and never age.
	Static bool
	// Learned is when the binding took its current MAC; Seen is when it
	// was last refreshed.
	Learned, Seen time.Time
}

// ARPTable is the mesh-wide IP-to-MAC table, keyed by IP; the proxy ARP
// app is its only writer.
type ARPTable = Table[netip.Addr, ARPBinding]

// NewARPTable returns an empty ARP table, not persisted.
func NewARPTable() *ARPTable { return NewTable(ARPCodec) }

// OpenARPTable returns the ARP table of s (bucket "arp"), restored from
// it on the first call, with its gauge ovsmesh_arp_bindings.
func OpenARPTable(s *State) (*ARPTable, error) {
	return Open(s, "arp", ARPCodec, TableOptions{Gauge: "ovsmesh_arp_bindings",
		Help: "IPv4-to-MAC bindings in the mesh-wide ARP table."})
}
