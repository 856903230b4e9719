package flows

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/netrack/openflow/ofp"
)

// MultipartPortStats is the multipart type OFPMP_PORT_STATS (OpenFlow
// 1.3.5 §7.3.5.6).
const MultipartPortStats = uint16(ofp.MultipartTypePortStats)

// CounterUnavailable is the value of a port counter the switch does not
// keep (OpenFlow 1.3.5 §7.3.5.6: "set to all ones"); OVS reports, for
// example, rx_frame_err of a tunnel port this way.
const CounterUnavailable = ^uint64(0)

// PortStatsRequest is OFPMP_PORT_STATS: the counters of Port, or of
// every port with PortAny.
type PortStatsRequest struct {
	// Port is the OFPort to read, PortAny for all.
	Port OFPort
}

// MsgType implements Message.
func (PortStatsRequest) MsgType() MsgType { return MsgMultipartRequest }

// appendBody appends ofp_multipart_request (type 4, flags 0, 4 pad) and
// ofp_port_stats_request: port_no, 4 pad.
func (m PortStatsRequest) appendBody(b []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, MultipartPortStats)
	b = append(b, 0, 0, 0, 0, 0, 0)
	b = binary.BigEndian.AppendUint32(b, uint32(m.Port))
	return append(b, 0, 0, 0, 0)
}

// PortStats is one entry of an OFPMP_PORT_STATS reply (ofp_port_stats,
// OpenFlow 1.3.5 §7.3.5.6). Counters are totals since the port was
// added; a counter the switch does not keep is CounterUnavailable.
type PortStats struct {
	// Port is the OFPort the counters belong to.
	Port OFPort
	// RxPackets and TxPackets count packets received and sent.
	RxPackets, TxPackets uint64
	// RxBytes and TxBytes count bytes received and sent.
	RxBytes, TxBytes uint64
	// RxDropped and TxDropped count packets dropped by the port.
	RxDropped, TxDropped uint64
	// RxErrors and TxErrors count packets with errors (a superset of the
	// three receive errors below for RxErrors).
	RxErrors, TxErrors uint64
	// RxFrameErr, RxOverErr and RxCRCErr count frame alignment errors,
	// receive overruns and CRC errors.
	RxFrameErr, RxOverErr, RxCRCErr uint64
	// Collisions counts collisions.
	Collisions uint64
	// Duration is how long the port has been alive, from duration_sec
	// and duration_nsec.
	Duration time.Duration
}

// portStatsLen is the size of ofp_port_stats in bytes.
const portStatsLen = 112

// DecodePortStats decodes an OFPMP_PORT_STATS reply body: a list of
// 112-byte ofp_port_stats (port_no, 4 pad, twelve 64-bit counters from
// rx_packets to collisions, duration_sec, duration_nsec). It fails when
// the body is not a whole number of entries, naming the length.
func DecodePortStats(body []byte) ([]PortStats, error) {
	if len(body)%portStatsLen != 0 {
		return nil, fmt.Errorf("port-stats: %d bytes is not a multiple of %d", len(body), portStatsLen)
	}
	out := make([]PortStats, 0, len(body)/portStatsLen)
	for p := body; len(p) > 0; p = p[portStatsLen:] {
		c := func(i int) uint64 { return binary.BigEndian.Uint64(p[8+8*i:]) }
		sec, nsec := binary.BigEndian.Uint32(p[104:]), binary.BigEndian.Uint32(p[108:])
		out = append(out, PortStats{
			Port:      OFPort(binary.BigEndian.Uint32(p)),
			RxPackets: c(0), TxPackets: c(1), RxBytes: c(2), TxBytes: c(3),
			RxDropped: c(4), TxDropped: c(5), RxErrors: c(6), TxErrors: c(7),
			RxFrameErr: c(8), RxOverErr: c(9), RxCRCErr: c(10), Collisions: c(11),
			Duration: time.Duration(sec)*time.Second + time.Duration(nsec),
		})
	}
	return out, nil
}
