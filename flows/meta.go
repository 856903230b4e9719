package flows

// GroupID is an OpenFlow group number (OpenFlow 1.3.5 §5.6). Apps
// declare the groups they own.
type GroupID uint32

// Metadata bits (OpenFlow 1.3.5 §7.2.3.7 OXM_OF_METADATA) that carry
// facts from one stage to later ones: a contract between apps, so they
// are named here, in one place, and each says which stage writes it.
//
//	metadata[0]     MetaFromTunnel  written by classify (learning)
//
// Registers, likewise (Nicira NXM_NX_REGn, 32 bits each; they do not
// cross tunnels):
//
//	reg7            the stages a trace probe has passed on this switch,
//	                bit i for the pipeline's i-th stage in table order;
//	                written only by the trace app's packet-outs, matched
//	                only by its temporary flows (apps/trace)
const (
	// MetaFromTunnel: metadata[0] = 1 when the packet came in on a tunnel
	// port (split horizon: never flood it to another tunnel; ARP from a
	// tunnel was answered or learned at its own host).
	MetaFromTunnel uint64 = 1 << 0
)

// ProbeMAC is the Ethernet source of the controller's liveness probes
// (an ARP probe, RFC 5227, sent to a MAC whose owner must show it is
// still there). A locally administered unicast address; the l2 stage
// drops frames sent to it, so answers to probes reach the controller
// (through the stage that watches for them) and nobody else.
var ProbeMAC = [6]byte{0x0a, 0x55, 0x00, 0x00, 0x00, 0x01}
