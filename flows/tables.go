package flows

import "fmt"

// TableID is an OpenFlow table number (OpenFlow 1.3.5 §5.1).
type TableID uint8

// The pipeline. Every table, its successors and what it matches are drawn
// in docs/pipeline.md.
const (
	// TableClassify (0) admits packets: known local sources and every
	// tunnel port go on to TableL2, tunnel packets tagged with
	// MetaFromTunnel; the table-miss entry sends unknown sources to the
	// controller.
	TableClassify TableID = 0
	// TableL2 (1) forwards by eth_dst; its table-miss entries flood with
	// split horizon through GroupFloodLocal or GroupFloodTunnel.
	TableL2 TableID = 1
)

// successors says which tables a goto_table may name from each table
// (Faucet's valve_table idea): goto only moves forward along declared edges.
var successors = map[TableID][]TableID{
	TableClassify: {TableL2},
}

// tableNames gives each table a name for logs and docs.
var tableNames = map[TableID]string{
	TableClassify: "classify",
	TableL2:       "l2",
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
