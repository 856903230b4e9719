package flows

// GroupID is an OpenFlow group number (OpenFlow 1.3.5 §5.6). Apps
// declare the groups they own.
type GroupID uint32

// Metadata bits (OpenFlow 1.3.5 §7.2.3.7 OXM_OF_METADATA) that carry
// facts from one stage to later ones: a contract between apps, so they
// are named here, in one place, and each says which stage writes it.
//
//	metadata[0]     MetaFromTunnel  written by classify (learning)
const (
	// MetaFromTunnel: metadata[0] = 1 when the packet came in on a tunnel
	// port (split horizon: never flood it to another tunnel; ARP from a
	// tunnel was answered or learned at its own host).
	MetaFromTunnel uint64 = 1 << 0
)
