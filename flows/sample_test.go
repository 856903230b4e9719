package flows

// Tables, priorities and groups of the sample flows the byte-level tests
// encode: the learning and proxy ARP apps' flows with the numbers they
// had when the golden bytes were written (the apps now declare their own
// tables; these tests check encoding, not the pipeline).
const (
	TableClassify     TableID = 0
	TableARP          TableID = 1
	TableARPResponder TableID = 2
	TableL2           TableID = 3

	PrioTableMiss       uint16 = 0
	PrioFloodFromTunnel uint16 = 1
	PrioTunnelIn        uint16 = 100
	PrioKnownSrc        uint16 = 200
	PrioARPKnownSender  uint16 = 200
	PrioL2Dst           uint16 = 100

	GroupFloodLocal  GroupID = 1
	GroupFloodTunnel GroupID = 2
)
