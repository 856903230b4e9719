package flows

import (
	"encoding/binary"
	"fmt"
)

// FlowRemoved is a decoded OFPT_FLOW_REMOVED (OpenFlow 1.3.5 §7.4.2).
type FlowRemoved struct {
	Cookie   Cookie
	Priority uint16
	// Reason is RemovedIdleTimeout, RemovedHardTimeout, RemovedDelete or
	// RemovedGroupDelete.
	Reason uint8
	Table  TableID
	// DurationSec is how long the entry lived, in seconds.
	DurationSec uint32
	// IdleTimeout and HardTimeout are the entry's timeouts in seconds.
	IdleTimeout, HardTimeout uint16
	// Packets and Bytes are the entry's counters.
	Packets, Bytes uint64
	Match          Match
}

// Flow-removed reasons (ofp_flow_removed_reason).
const (
	RemovedIdleTimeout  uint8 = 0
	RemovedHardTimeout  uint8 = 1
	RemovedDelete       uint8 = 2
	RemovedGroupDelete  uint8 = 3
	flowRemovedFixedLen       = 40
)

// DecodeFlowRemoved decodes a flow-removed body: cookie, priority,
// reason, table_id, duration_sec, duration_nsec, idle_timeout,
// hard_timeout, packet_count, byte_count, match.
func DecodeFlowRemoved(body []byte) (FlowRemoved, error) {
	if len(body) < flowRemovedFixedLen+8 {
		return FlowRemoved{}, fmt.Errorf("flow-removed: %d bytes, need at least %d", len(body), flowRemovedFixedLen+8)
	}
	fr := FlowRemoved{
		Cookie:      Cookie(binary.BigEndian.Uint64(body)),
		Priority:    binary.BigEndian.Uint16(body[8:]),
		Reason:      body[10],
		Table:       TableID(body[11]),
		DurationSec: binary.BigEndian.Uint32(body[12:]),
		IdleTimeout: binary.BigEndian.Uint16(body[20:]),
		HardTimeout: binary.BigEndian.Uint16(body[22:]),
		Packets:     binary.BigEndian.Uint64(body[24:]),
		Bytes:       binary.BigEndian.Uint64(body[32:]),
	}
	m, _, err := decodeMatch(body[flowRemovedFixedLen:])
	if err != nil {
		return FlowRemoved{}, fmt.Errorf("flow-removed: %w", err)
	}
	fr.Match = m
	return fr, nil
}

// FlowStats is one entry of an OFPMP_FLOW reply (ofp_flow_stats,
// OpenFlow 1.3.5 §7.3.5.2). Instructions are kept raw: netrack/openflow's
// decoder fails on the Nicira actions ovsmesh installs.
type FlowStats struct {
	Table    TableID
	Priority uint16
	// IdleTimeout and HardTimeout are in seconds.
	IdleTimeout, HardTimeout uint16
	// Flags is the ofp_flow_mod_flags bitmap.
	Flags  uint16
	Cookie Cookie
	// Packets and Bytes are the entry's counters.
	Packets, Bytes uint64
	Match          Match
	// RawMatch is the match's OXM TLVs as sent, for
	// PacketFields.Matches (Match leaves out fields ovsmesh does not
	// model).
	RawMatch []byte
	// Instructions is the raw instruction list.
	Instructions []byte
}

const flowStatsFixedLen = 48

// DecodeFlowStats decodes an OFPMP_FLOW reply body into its entries.
func DecodeFlowStats(body []byte) ([]FlowStats, error) {
	var out []FlowStats
	for p := body; len(p) > 0; {
		if len(p) < flowStatsFixedLen+8 {
			return nil, fmt.Errorf("flow-stats entry %d: %d bytes left, need at least %d", len(out), len(p), flowStatsFixedLen+8)
		}
		n := int(binary.BigEndian.Uint16(p))
		if n < flowStatsFixedLen+8 || n > len(p) {
			return nil, fmt.Errorf("flow-stats entry %d: length %d does not fit in %d bytes", len(out), n, len(p))
		}
		e := p[:n]
		p = p[n:]
		fs := FlowStats{
			Table:       TableID(e[2]),
			Priority:    binary.BigEndian.Uint16(e[12:]),
			IdleTimeout: binary.BigEndian.Uint16(e[14:]),
			HardTimeout: binary.BigEndian.Uint16(e[16:]),
			Flags:       binary.BigEndian.Uint16(e[18:]),
			Cookie:      Cookie(binary.BigEndian.Uint64(e[24:])),
			Packets:     binary.BigEndian.Uint64(e[32:]),
			Bytes:       binary.BigEndian.Uint64(e[40:]),
		}
		m, mlen, err := decodeMatch(e[flowStatsFixedLen:])
		if err != nil {
			return nil, fmt.Errorf("flow-stats entry %d: %w", len(out), err)
		}
		fs.Match = m
		fs.RawMatch = oxmTLVs(e[flowStatsFixedLen:])
		fs.Instructions = e[flowStatsFixedLen+mlen:]
		out = append(out, fs)
	}
	return out, nil
}
