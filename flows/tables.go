package flows

import "fmt"

// TableID is an OpenFlow table number (OpenFlow 1.3.5 §5.1).
type TableID uint8

// The pipeline. Every table, its successors and what it matches are drawn
// in docs/pipeline.md.
const (
	// TableClassify (0) admits packets: known local sources and every
	// tunnel port go on to TableARP, tunnel packets tagged with
	// MetaFromTunnel; the table-miss entry sends unknown sources to the
	// controller.
	TableClassify TableID = 0
	// TableARP (1) checks ARP senders (apps/proxyarp): an ARP packet
	// from a local port whose (in_port, eth_src, arp_spa, arp_sha) is a
	// known binding goes on to TableARPResponder; any other ARP packet
	// from a local port goes to the controller. ARP from tunnels and
	// every non-ARP packet go straight to TableL2 (the baseline
	// table-miss, installed even with proxy ARP off).
	TableARP TableID = 1
	// TableARPResponder (2) answers ARP requests for known IPs in the
	// datapath (OVN-style responder flows, output:IN_PORT); its
	// table-miss goes on to TableL2.
	TableARPResponder TableID = 2
	// TableL2 (3) forwards by eth_dst; its table-miss entries flood with
	// split horizon through GroupFloodLocal or GroupFloodTunnel.
	TableL2 TableID = 3
)

// successors says which tables a goto_table may name from each table
// (Faucet's valve_table idea): goto only moves forward along declared edges.
var successors = map[TableID][]TableID{
	TableClassify:     {TableARP},
	TableARP:          {TableARPResponder, TableL2},
	TableARPResponder: {TableL2},
}

// tableNames gives each table a name for logs and docs.
var tableNames = map[TableID]string{
	TableClassify:     "classify",
	TableARP:          "arp",
	TableARPResponder: "arp_responder",
	TableL2:           "l2",
}

// String returns the table's pipeline name and number, e.g. "l2(1)".
func (t TableID) String() string {
	if n, ok := tableNames[t]; ok {
		return fmt.Sprintf("%s(%d)", n, uint8(t))
	}
	return fmt.Sprintf("table(%d)", uint8(t))
}

// Priorities, highest wins (OpenFlow 1.3.5 §5.3).
const (
	// PrioTableMiss is the table-miss entry of every table.
	PrioTableMiss uint16 = 0
	// PrioFloodFromTunnel (TableL2) floods packets tagged MetaFromTunnel
	// to local ports only.
	PrioFloodFromTunnel uint16 = 1
	// PrioARPBadOp (TableARP) drops ARP whose opcode is neither request
	// nor reply (RFC 826), in the datapath.
	PrioARPBadOp uint16 = 5
	// PrioARPInspect (TableARP) sends ARP requests and replies from
	// local ports that no known-sender flow admits to the controller.
	PrioARPInspect uint16 = 10
	// PrioARPResponder (TableARPResponder) answers a request for a
	// known IP (arp,arp_op=1,arp_tpa=IP).
	PrioARPResponder uint16 = 100
	// PrioARPSamePort (TableARPResponder) drops a request whose target
	// sits behind the port it came in on: the segment behind that port
	// (a Linux bridge of containers, say) already delivered it, and an
	// answer sent back into it with the target's MAC as eth_src would
	// make that bridge learn the target behind ovsmesh's port.
	PrioARPSamePort uint16 = 110
	// PrioARPProbeDrop (TableARP) drops ARP with sender IP 0.0.0.0 that
	// is not a request: malformed ARP (OVS leaves the ARP fields zero
	// unless hrd=1, pro=0x0800, hln=6, pln=4) and bogus replies, in the
	// datapath, without a packet-in.
	PrioARPProbeDrop uint16 = 140
	// PrioARPProbe (TableARP) passes ARP probes (RFC 5227: a request with
	// sender IP 0.0.0.0) to the responder without learning.
	PrioARPProbe uint16 = 150
	// PrioARPKnownSender (TableARP) admits ARP from a known binding:
	// in_port, eth_src, arp_spa and arp_sha all match.
	PrioARPKnownSender uint16 = 200
	// PrioARPHold (TableARP) drops, for a few seconds, ARP from a sender
	// whose claim was just refused (a conflict or an invalid sender), so
	// a flood of them does not reach the controller.
	PrioARPHold uint16 = 250
	// PrioARPFromTunnel (TableARP) passes ARP from tunnels to TableL2:
	// it was answered or learned, if at all, at the host it came from.
	PrioARPFromTunnel uint16 = 300
	// PrioTunnelIn (TableClassify) admits everything from a tunnel port.
	PrioTunnelIn uint16 = 100
	// PrioL2Dst (TableL2) forwards a learned eth_dst.
	PrioL2Dst uint16 = 100
	// PrioKnownSrc (TableClassify) admits a learned (in_port, eth_src).
	PrioKnownSrc uint16 = 200
	// PrioDamped (TableClassify) drops a flapping (in_port, eth_src)
	// for the damping period.
	PrioDamped uint16 = 300
)

// Metadata bits (OpenFlow 1.3.5 §7.2.3.7 OXM_OF_METADATA), written by
// TableClassify and read by later tables.
const (
	// MetaFromTunnel: metadata[0] = 1 when the packet came in on a tunnel
	// port (split horizon: never flood it to another tunnel).
	MetaFromTunnel uint64 = 1 << 0
)

// GroupID is an OpenFlow group number (OpenFlow 1.3.5 §5.6).
type GroupID uint32

// Groups, all of type ALL.
const (
	// GroupFloodLocal floods a packet from a local port: every local port
	// and every tunnel (the switch skips the in_port).
	GroupFloodLocal GroupID = 1
	// GroupFloodTunnel floods a packet from a tunnel: local ports only.
	GroupFloodTunnel GroupID = 2
)

// GotoAllowed reports whether a flow in table from may goto_table to.
func GotoAllowed(from, to TableID) bool {
	for _, t := range successors[from] {
		if t == to {
			return true
		}
	}
	return false
}
