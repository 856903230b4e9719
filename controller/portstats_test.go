package controller

import (
	"context"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/ovsmesh/ovsmesh/flows"
)

// mpPortStats is the multipart type OFPMP_PORT_STATS.
const mpPortStats = 4

// portStatsEntry is an ofp_port_stats (§7.3.5.6) for port with rx and
// tx packets and bytes set, the other counters zero, duration 1 s.
func portStatsEntry(port uint32, rxPkts, txPkts, rxBytes, txBytes uint64) []byte {
	b := be32(nil, port)
	b = append(b, 0, 0, 0, 0)
	for _, c := range []uint64{rxPkts, txPkts, rxBytes, txBytes} {
		b = binary.BigEndian.AppendUint64(b, c)
	}
	b = append(b, make([]byte, 8*8)...)
	b = be32(b, 1)
	return be32(b, 0)
}

// TestPortStats: PortStats asks the switch for every port's counters
// (port_no ANY) and joins the REPLY_MORE parts; an unknown DPID is
// ErrNoSwitch; a refused request is the switch's error.
func TestPortStats(t *testing.T) {
	tc := startController(t, Options{Generation: 3})
	const dpid = flows.DPID(0xabd)
	f := tc.connect(t, dpid, ofPort(1, "eth1", 0))
	f.waitFor(tMultipartRequest, "reconciliation's FLOW stats request", nil)
	f.waitFor(tBarrierRequest, "reconciliation's final BARRIER", nil)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()

	if _, err := tc.PortStats(ctx, 0x999); !errors.Is(err, ErrNoSwitch) {
		t.Errorf("PortStats of an unknown DPID = %v, want ErrNoSwitch", err)
	}

	tests := []struct {
		name    string
		parts   [][]uint32 // port numbers per reply part
		refuse  bool
		wantErr bool
	}{
		{name: "empty", parts: [][]uint32{nil}},
		{name: "one part", parts: [][]uint32{{1, 0xfffffffe}}},
		{name: "two parts", parts: [][]uint32{{1}, {2, 3}}},
		{name: "refused", refuse: true, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			type result struct {
				ps  []flows.PortStats
				err error
			}
			done := make(chan result, 1)
			go func() {
				ps, err := tc.PortStats(ctx, dpid)
				done <- result{ps, err}
			}()
			req := f.waitFor(tMultipartRequest, "PORT_STATS request", func(m ofMsg) bool {
				return len(m.body) >= 2 && binary.BigEndian.Uint16(m.body) == mpPortStats
			})
			if len(req.body) != 16 || binary.BigEndian.Uint32(req.body[8:]) != ofppAny {
				t.Errorf("port stats request body % x, want 16 bytes asking for port ANY", req.body)
			}
			if tt.refuse {
				f.sendXID(tError, req.h.XID, errorMsg(1, 2, req.body))
			}
			var want []uint32
			for j, part := range tt.parts {
				var body []byte
				for _, p := range part {
					body = append(body, portStatsEntry(p, uint64(p), 2*uint64(p), 100*uint64(p), 200*uint64(p))...)
					want = append(want, p)
				}
				var flags uint16
				if j < len(tt.parts)-1 {
					flags = mpfReplyMore
				}
				f.sendXID(tMultipartReply, req.h.XID, multipartReply(mpPortStats, flags, body))
			}
			r := <-done
			if (r.err != nil) != tt.wantErr {
				t.Fatalf("PortStats error = %v, want error %v", r.err, tt.wantErr)
			}
			if len(r.ps) != len(want) {
				t.Fatalf("PortStats returned %d ports, want %d", len(r.ps), len(want))
			}
			for i, ps := range r.ps {
				p := uint64(want[i])
				if ps.Port != flows.OFPort(want[i]) || ps.RxPackets != p || ps.TxPackets != 2*p || ps.RxBytes != 100*p || ps.TxBytes != 200*p {
					t.Errorf("entry %d = %+v, want port %d with counters %d, %d, %d, %d", i, ps, p, p, 2*p, 100*p, 200*p)
				}
			}
		})
	}
}
