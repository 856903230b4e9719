package flows

import (
	"bytes"
	"encoding/hex"
	"reflect"
	"strings"
	"testing"
	"time"
)

// portStatsRequestAny is PortStatsRequest{Port: PortAny} with xid 0x21
// (OpenFlow 1.3.5 §7.3.5 ofp_multipart_request, §7.3.5.6
// ofp_port_stats_request).
var portStatsRequestAny = []byte{
	0x04,       // version
	0x12,       // type OFPT_MULTIPART_REQUEST
	0x00, 0x18, // length 24
	0x00, 0x00, 0x00, 0x21, // xid 0x21
	0x00, 0x04, // multipart type OFPMP_PORT_STATS
	0x00, 0x00, // flags
	0x00, 0x00, 0x00, 0x00, // pad
	0xff, 0xff, 0xff, 0xff, // port_no OFPP_ANY
	0x00, 0x00, 0x00, 0x00, // pad
}

// portStatsRequestOne is PortStatsRequest{Port: 3} with xid 0x22.
var portStatsRequestOne = []byte{
	0x04,       // version
	0x12,       // type OFPT_MULTIPART_REQUEST
	0x00, 0x18, // length 24
	0x00, 0x00, 0x00, 0x22, // xid 0x22
	0x00, 0x04, // multipart type OFPMP_PORT_STATS
	0x00, 0x00, // flags
	0x00, 0x00, 0x00, 0x00, // pad
	0x00, 0x00, 0x00, 0x03, // port_no 3
	0x00, 0x00, 0x00, 0x00, // pad
}

// portStatsReply is an OFPT_MULTIPART_REPLY with two ofp_port_stats
// (§7.3.5.6) as OVS sends them: a tunnel port, and the LOCAL port with
// the counters OVS does not keep set to all ones.
var portStatsReply = []byte{
	0x04,       // version
	0x13,       // type OFPT_MULTIPART_REPLY
	0x00, 0xf0, // length 240
	0x00, 0x00, 0x00, 0x21, // xid 0x21
	0x00, 0x04, // multipart type OFPMP_PORT_STATS
	0x00, 0x00, // flags (no OFPMPF_REPLY_MORE)
	0x00, 0x00, 0x00, 0x00, // pad
	// entry 0
	0x00, 0x00, 0x00, 0x03, // port_no 3
	0x00, 0x00, 0x00, 0x00, // pad
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, // rx_packets 10
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x14, // tx_packets 20
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xe8, // rx_bytes 1000
	0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x86, 0xa0, // tx_bytes 100000
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, // rx_dropped 1
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, // tx_dropped 2
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, // rx_errors 3
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, // tx_errors 4
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, // rx_frame_err 5
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x06, // rx_over_err 6
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, // rx_crc_err 7
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, // collisions 8
	0x00, 0x00, 0x00, 0x2a, // duration_sec 42
	0x1d, 0xcd, 0x65, 0x00, // duration_nsec 500000000
	// entry 1
	0xff, 0xff, 0xff, 0xfe, // port_no OFPP_LOCAL
	0x00, 0x00, 0x00, 0x00, // pad
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // rx_packets 0
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // tx_packets 0
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // rx_bytes 0
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // tx_bytes 0
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // rx_dropped 0
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // tx_dropped 0
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // rx_errors 0
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // tx_errors 0
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // rx_frame_err unavailable
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // rx_over_err unavailable
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // rx_crc_err unavailable
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // collisions unavailable
	0x00, 0x00, 0x00, 0x07, // duration_sec 7
	0x00, 0x00, 0x00, 0x00, // duration_nsec 0
}

// wantPortStats is portStatsReply decoded.
var wantPortStats = []PortStats{
	{
		Port: 3, RxPackets: 10, TxPackets: 20, RxBytes: 1000, TxBytes: 100000, RxDropped: 1, TxDropped: 2,
		RxErrors: 3, TxErrors: 4, RxFrameErr: 5, RxOverErr: 6, RxCRCErr: 7, Collisions: 8,
		Duration: 42*time.Second + 500*time.Millisecond,
	},
	{
		Port:       PortLocal,
		RxFrameErr: CounterUnavailable, RxOverErr: CounterUnavailable, RxCRCErr: CounterUnavailable, Collisions: CounterUnavailable,
		Duration: 7 * time.Second,
	},
}

func TestPortStatsRequestGolden(t *testing.T) {
	tests := []struct {
		name string
		xid  uint32
		msg  PortStatsRequest
		want []byte
	}{
		{"any", 0x21, PortStatsRequest{Port: PortAny}, portStatsRequestAny},
		{"one", 0x22, PortStatsRequest{Port: 3}, portStatsRequestOne},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Encode(nil, tc.xid, tc.msg)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tc.want) {
				t.Errorf("Encode\n got %s\nwant %s", hex.EncodeToString(got), hex.EncodeToString(tc.want))
			}
		})
	}
}

func TestDecodePortStatsGolden(t *testing.T) {
	h, body, err := NewReader(bytes.NewReader(portStatsReply)).Next()
	if err != nil {
		t.Fatal(err)
	}
	v, err := Decode(h, body)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	mp, ok := v.(MultipartReply)
	if !ok || mp.Type != MultipartPortStats || mp.More {
		t.Fatalf("Decode = %#v, want a final OFPMP_PORT_STATS MultipartReply", v)
	}
	got, err := DecodePortStats(mp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, wantPortStats) {
		t.Errorf("DecodePortStats\n got %+v\nwant %+v", got, wantPortStats)
	}
	if got, err := DecodePortStats(nil); err != nil || len(got) != 0 {
		t.Errorf("empty body: %v, %v; want no entries", got, err)
	}
}

func TestDecodePortStatsMalformed(t *testing.T) {
	body := portStatsReply[16:]
	tests := []struct {
		name string
		body []byte
		want string
	}{
		{"short entry", body[:111], "port-stats: 111 bytes is not a multiple of 112"},
		{"entry and a half", body[:112+56], "port-stats: 168 bytes is not a multiple of 112"},
		{"trailing byte", cat(body, []byte{0}), "port-stats: 225 bytes is not a multiple of 112"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := DecodePortStats(tc.body); err == nil || err.Error() != tc.want {
				t.Errorf("DecodePortStats error %v, want %q", err, tc.want)
			}
			// Decode checks the body of a PORT_STATS multipart reply.
			m := msg(Version, MsgMultipartReply, 1, cat(portStatsReply[8:16], tc.body))
			h, b, err := NewReader(bytes.NewReader(m)).Next()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Decode(h, b); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Decode error %v, want %q", err, tc.want)
			}
		})
	}
}

// TestOVSDecodesPortStats feeds the golden request and reply to
// `ovs-ofctl ofp-print`: OVS reads every byte the way we mean it.
func TestOVSDecodesPortStats(t *testing.T) {
	tests := []struct {
		name string
		msg  []byte
		want string
	}{
		{"request-any", portStatsRequestAny, "OFPST_PORT request (OF1.3) (xid=0x21): port_no=ANY"},
		{"request-one", portStatsRequestOne, "OFPST_PORT request (OF1.3) (xid=0x22): port_no=3"},
		{"reply", portStatsReply, "OFPST_PORT reply (OF1.3) (xid=0x21): 2 ports\n" +
			"  port  3: rx pkts=10, bytes=1000, drop=1, errs=3, frame=5, over=6, crc=7\n" +
			"           tx pkts=20, bytes=100000, drop=2, errs=4, coll=8\n" +
			"           duration=42.500s\n" +
			"  port LOCAL: rx pkts=0, bytes=0, drop=0, errs=0, frame=?, over=?, crc=?\n" +
			"           tx pkts=0, bytes=0, drop=0, errs=0, coll=?\n" +
			"           duration=7s"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ofpPrint(t, tc.msg); got != tc.want {
				t.Errorf("ovs-ofctl ofp-print\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}
