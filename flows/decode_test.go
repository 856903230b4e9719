package flows

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/netrack/openflow/ofp"
)

// msg builds a whole message: an ofp_header with the right length and
// then body.
func msg(version uint8, typ MsgType, xid uint32, body []byte) []byte {
	b := []byte{version, byte(typ), 0, 0}
	b = binary.BigEndian.AppendUint32(b, xid)
	b = append(b, body...)
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	return b
}

// cat concatenates byte slices into a new one.
func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// packetInMatch is the match OVS sends in a packet-in: in_port 3 and a
// Nicira (class 0x0001) NXM_NX_TUN_ID field that the decoder skips.
var packetInMatch = []byte{
	0x00, 0x01, // match type OFPMT_OXM
	0x00, 0x18, // match length 24
	0x80, 0x00, 0x00, 0x04, // OXM_OF_IN_PORT, length 4
	0x00, 0x00, 0x00, 0x03, // in_port 3
	0x00, 0x01, 0x20, 0x08, // class NXM_1, field 16 (tun_id) << 1, length 8
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a, // tun_id 42
}

// packetInBody is a valid OFPT_PACKET_IN body (OpenFlow 1.3.5 §7.4.1).
var packetInBody = cat([]byte{
	0xff, 0xff, 0xff, 0xff, // buffer_id OFP_NO_BUFFER
	0x00, 0x0e, // total_len 14
	0x00,                                           // reason OFPR_NO_MATCH (table-miss)
	0x00,                                           // table_id 0
	0x1a, 0x02, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, // cookie
}, packetInMatch, []byte{
	0x00, 0x00, // pad
}, frame)

// portBytes is a 64-byte ofp_port (OpenFlow 1.3.5 §7.2.1).
func portBytes(no uint32, name string, config, state uint32) []byte {
	b := binary.BigEndian.AppendUint32(nil, no)           // port_no
	b = append(b, 0, 0, 0, 0)                             // pad
	b = append(b, 0x02, 0x00, 0x00, 0x00, 0x00, byte(no)) // hw_addr
	b = append(b, 0, 0)                                   // pad
	var n [16]byte
	copy(n[:], name)
	b = append(b, n[:]...)                       // name
	b = binary.BigEndian.AppendUint32(b, config) // config
	b = binary.BigEndian.AppendUint32(b, state)  // state
	b = append(b, make([]byte, 4*6)...)          // curr, advertised, supported, peer, curr_speed, max_speed
	return b
}

// portStatusBody is a valid OFPT_PORT_STATUS body (§7.4.3).
var portStatusBody = cat([]byte{
	0x00,                                     // reason OFPPR_ADD
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // pad
}, portBytes(3, "vxlan-0a", 0, 0))

// featuresBody is a valid OFPT_FEATURES_REPLY body (§7.3.1).
var featuresBody = []byte{
	0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, // datapath_id
	0x00, 0x00, 0x00, 0x00, // n_buffers 0
	0xfe,       // n_tables 254
	0x00,       // auxiliary_id 0
	0x00, 0x00, // pad
	0x00, 0x00, 0x00, 0x4f, // capabilities
	0x00, 0x00, 0x00, 0x00, // reserved
}

// errorBody is an OFPT_ERROR body (§7.5.4): OFPET_BAD_MATCH /
// OFPBMC_BAD_LEN for flow-mod xid 7, with the offending message's start.
var errorBody = cat([]byte{
	0x00, 0x04, // type OFPET_BAD_MATCH
	0x00, 0x01, // code OFPBMC_BAD_LEN
}, []byte{
	0x04, 0x0e, 0x00, 0x38, 0x00, 0x00, 0x00, 0x07, // offending ofp_header
	0x00, 0x00, 0x00, 0x00, // more of it
})

// flowRemovedBody is a valid OFPT_FLOW_REMOVED body (§7.4.2).
var flowRemovedBody = cat([]byte{
	0x1a, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x07, // cookie
	0x00, 0xc8, // priority 200
	0x00,                   // reason OFPRR_IDLE_TIMEOUT
	0x00,                   // table_id 0
	0x00, 0x00, 0x01, 0x2c, // duration_sec 300
	0x00, 0x00, 0x00, 0x05, // duration_nsec
	0x01, 0x2c, // idle_timeout 300
	0x00, 0x00, // hard_timeout 0
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09, // packet_count 9
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x84, // byte_count 900
}, (&Match{InPort: 1, EthSrc: mac("02:00:00:00:01:01")}).appendTo(nil))

// portDescBody is a valid OFPMP_PORT_DESC reply body (§7.3.5.7).
var portDescBody = cat([]byte{
	0x00, 0x0d, // multipart type OFPMP_PORT_DESC
	0x00, 0x00, // flags
	0x00, 0x00, 0x00, 0x00, // pad
}, portBytes(1, "veth1", 0, 0), portBytes(0xfffffffe, "br-int", 1, 1))

func TestDecodeValid(t *testing.T) {
	flowStats := flowStatsReply(t, flowKnownSrc)
	tests := []struct {
		name string
		msg  []byte
		want any
	}{
		{
			name: "packet-in", msg: msg(Version, MsgPacketIn, 1, packetInBody),
			want: &PacketIn{
				BufferID: NoBuffer, TotalLen: 14, Reason: 0, Table: 0, Cookie: 0x1a02010000000000,
				InPort: 3, Match: Match{InPort: 3}, RawMatch: packetInMatch[4:], Data: frame,
			},
		},
		{
			name: "port-status", msg: msg(Version, MsgPortStatus, 0, portStatusBody),
			want: PortStatus{Reason: PortAdded, Port: Port{No: 3, Name: "vxlan-0a", HWAddr: mac("02:00:00:00:00:03")}},
		},
		{
			name: "features-reply", msg: msg(Version, MsgFeaturesReply, 2, featuresBody),
			want: Features{DPID: 0x0000020000000001, NumTables: 254},
		},
		{
			name: "error", msg: msg(Version, MsgError, 7, errorBody),
			want: SwitchError{
				Type: ErrType(ofp.ErrTypeBadMatch), Code: ErrCode(ofp.ErrCodeBadMatchBadLen),
				Offending: MsgFlowMod, OffendingXID: 7, Data: errorBody[4:],
			},
		},
		{
			name: "error-hello-failed-text", msg: msg(1, MsgError, 0, cat([]byte{0, 0, 0, 0}, []byte("We support version 0x04"))),
			want: SwitchError{Type: ErrType(ofp.ErrTypeHelloFailed), Code: 0, Offending: 0xff, Data: []byte("We support version 0x04")},
		},
		{
			name: "flow-removed", msg: msg(Version, MsgFlowRemoved, 0, flowRemovedBody),
			want: &FlowRemoved{
				Cookie: 0x1a02020000000007, Priority: 200, Reason: RemovedIdleTimeout, DurationSec: 300,
				IdleTimeout: 300, Packets: 9, Bytes: 900, Match: Match{InPort: 1, EthSrc: mac("02:00:00:00:01:01")},
			},
		},
		{
			name: "multipart-port-desc", msg: msg(Version, MsgMultipartReply, 4, portDescBody),
			want: MultipartReply{Type: MultipartPortDesc, Body: portDescBody[8:]},
		},
		{
			name: "multipart-flow-stats", msg: flowStats,
			want: MultipartReply{Type: MultipartFlow, Body: flowStats[16:]},
		},
		{name: "echo-request", msg: msg(Version, MsgEchoRequest, 9, []byte("hi")), want: EchoRequest{Data: []byte("hi")}},
		{name: "barrier-reply", msg: msg(Version, MsgBarrierReply, 9, nil), want: BarrierReply{}},
		{name: "hello-version-6-bitmap", msg: msg(6, MsgHello, 1, []byte{0, 1, 0, 8, 0, 0, 0, 0x52}), want: Hello{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, body, err := NewReader(bytes.NewReader(tc.msg)).Next()
			if err != nil {
				t.Fatalf("Reader.Next: %v", err)
			}
			got, err := Decode(h, body)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Decode\n got %#v\nwant %#v", got, tc.want)
			}
		})
	}
}

func TestDecodeFlowStatsAndPortDesc(t *testing.T) {
	reply := flowStatsReply(t, flowTunnelIn)
	stats, err := DecodeFlowStats(reply[16:])
	if err != nil {
		t.Fatal(err)
	}
	want := []FlowStats{{
		Table: 0, Priority: PrioTunnelIn, Cookie: flowTunnelIn.Cookie, Packets: 3, Bytes: 300,
		Match:    Match{InPort: 5},
		RawMatch: []byte{0x80, 0x00, 0x00, 0x04, 0, 0, 0, 5}, // OXM_OF_IN_PORT 5
		Instructions: []byte{
			0x00, 0x02, 0x00, 0x18, 0, 0, 0, 0, // write_metadata, length 24, pad
			0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, // metadata, mask
			0x00, 0x01, 0x00, 0x08, 0x01, 0, 0, 0, // goto_table 1
		},
	}}
	if !reflect.DeepEqual(stats, want) {
		t.Errorf("DecodeFlowStats\n got %+v\nwant %+v", stats, want)
	}
	// Two entries back to back.
	two := cat(reply[16:], flowStatsReply(t, flowARP)[16:])
	stats, err = DecodeFlowStats(two)
	if err != nil || len(stats) != 2 || stats[1].Match.String() != flowARP.Match.String() {
		t.Errorf("two entries: %+v, %v", stats, err)
	}
	ports, err := DecodePortDesc(portDescBody[8:])
	if err != nil {
		t.Fatal(err)
	}
	wantPorts := []Port{
		{No: 1, Name: "veth1", HWAddr: mac("02:00:00:00:00:01")},
		{No: PortLocal, Name: "br-int", HWAddr: mac("02:00:00:00:00:fe"), Config: 1, State: 1},
	}
	if !reflect.DeepEqual(ports, wantPorts) {
		t.Errorf("DecodePortDesc\n got %+v\nwant %+v", ports, wantPorts)
	}
	if !ports[0].Up() || ports[1].Up() {
		t.Errorf("Up: %v %v, want true false", ports[0].Up(), ports[1].Up())
	}
	if stats, err := DecodeFlowStats(nil); err != nil || len(stats) != 0 {
		t.Errorf("empty flow-stats body: %v, %v", stats, err)
	}
}

// TestDecodeMatchFields decodes every modelled OXM field back.
func TestDecodeMatchFields(t *testing.T) {
	for _, m := range []Match{
		{},
		flowARP.Match,
		{InPort: PortLocal, Metadata: 0xdead, MetadataMask: ^uint64(0), EthType: EthTypeIPv4},
		{ARPTPA: netip.MustParseAddr("192.0.2.1")},
		{EthType: EthTypeIPv4, IPProto: IPProtoTCP, IPv4Src: netip.MustParsePrefix("10.0.0.0/8"),
			IPv4Dst: netip.MustParsePrefix("198.18.200.1/32"), TPSrc: 1024, TPDst: 80, CTState: CTNew | CTTrk, CTStateMask: CTNew | CTTrk | CTInv},
		{EthType: EthTypeIPv4, IPProto: IPProtoUDP, TPSrc: 53, TPDst: 5353},
	} {
		b := m.appendTo(nil)
		got, n, err := decodeMatch(b)
		if err != nil {
			t.Fatalf("decodeMatch(%x): %v", b, err)
		}
		if n != len(b) || !reflect.DeepEqual(got, m) {
			t.Errorf("decodeMatch(%x) = %+v, %d; want %+v, %d", b, got, n, m, len(b))
		}
	}
}

// patch returns a copy of b with the bytes at off replaced by v.
func patch(b []byte, off int, v ...byte) []byte {
	c := append([]byte(nil), b...)
	copy(c[off:], v)
	return c
}

func TestDecodeMalformed(t *testing.T) {
	const matchAt = 16 // offset of the match in a packet-in body
	tests := []struct {
		name    string
		version uint8
		typ     MsgType
		body    []byte
		want    string // substring of the error
	}{
		{"packet-in-short", 4, MsgPacketIn, packetInBody[:25], "packet-in: 25 bytes"},
		{"packet-in-match-zero-length", 4, MsgPacketIn, patch(packetInBody, matchAt+2, 0, 0), "packet-in: match: length 0"},
		{"packet-in-match-oversized-length", 4, MsgPacketIn, patch(packetInBody, matchAt+2, 0xff, 0xf0), "packet-in: match: length 65520"},
		{"packet-in-match-truncated", 4, MsgPacketIn, packetInBody[:matchAt+20], "packet-in: match: length 24 does not fit"},
		{"packet-in-match-type-standard", 4, MsgPacketIn, patch(packetInBody, matchAt, 0, 0), "packet-in: match: type 0"},
		{"packet-in-oxm-overrun", 4, MsgPacketIn, patch(packetInBody, matchAt+7, 0x40), "packet-in: match: OXM field 0 length 64 overruns"},
		{"packet-in-oxm-truncated-header", 4, MsgPacketIn, patch(packetInBody, matchAt+3, 0x0e), "packet-in: match: truncated OXM header"},
		{"packet-in-oxm-wrong-length", 4, MsgPacketIn, patch(packetInBody, matchAt+7, 0x02, 0x80, 0x00, 0x00, 0x00, 0x00, 0x01, 0x20, 0x08), "packet-in: match: OXM field 0 has length 2, want 4"},
		{"packet-in-no-pad", 4, MsgPacketIn, packetInBody[:matchAt+24+1], "packet-in: no room for padding"},
		{"packet-in-no-in-port", 4, MsgPacketIn, patch(packetInBody, matchAt+4, 0x00, 0x01, 0x00, 0x04), "packet-in: match has no in_port"},
		{"packet-in-wrong-version", 1, MsgPacketIn, packetInBody, "TypePacketIn: wire version 0x01, want 0x04"},
		{"port-status-short", 4, MsgPortStatus, portStatusBody[:71], "port-status: 71 bytes, want 72"},
		{"port-status-long", 4, MsgPortStatus, cat(portStatusBody, []byte{0}), "port-status: 73 bytes, want 72"},
		{"port-status-reason", 4, MsgPortStatus, patch(portStatusBody, 0, 3), "port-status: unknown reason 3"},
		{"features-short", 4, MsgFeaturesReply, featuresBody[:23], "features-reply: 23 bytes, want 24"},
		{"error-short", 4, MsgError, errorBody[:3], "error: 3 bytes"},
		{"flow-removed-short", 4, MsgFlowRemoved, flowRemovedBody[:47], "flow-removed: 47 bytes"},
		{"flow-removed-match-oversized", 4, MsgFlowRemoved, patch(flowRemovedBody, 42, 0x01, 0x00), "flow-removed: match: length 256 does not fit"},
		{"flow-removed-match-zero", 4, MsgFlowRemoved, patch(flowRemovedBody, 42, 0, 0), "flow-removed: match: length 0"},
		{"multipart-short", 4, MsgMultipartReply, portDescBody[:7], "multipart-reply: 7 bytes"},
		{"port-desc-partial-port", 4, MsgMultipartReply, portDescBody[:8+64+10], "port-desc: 74 bytes is not a multiple of 64"},
		{"flow-stats-short-entry", 4, MsgMultipartReply, cat([]byte{0, 1, 0, 0, 0, 0, 0, 0}, make([]byte, 20)), "flow-stats entry 0: 20 bytes left"},
		{"flow-stats-zero-length", 4, MsgMultipartReply, cat([]byte{0, 1, 0, 0, 0, 0, 0, 0}, make([]byte, 56)), "flow-stats entry 0: length 0 does not fit"},
		{"flow-stats-oversized-length", 4, MsgMultipartReply, patch(cat([]byte{0, 1, 0, 0, 0, 0, 0, 0}, make([]byte, 56)), 8, 0x01, 0x00), "flow-stats entry 0: length 256 does not fit in 56 bytes"},
		{"flow-stats-bad-match", 4, MsgMultipartReply, patch(cat([]byte{0, 1, 0, 0, 0, 0, 0, 0}, make([]byte, 56)), 8, 0x00, 0x38), "flow-stats entry 0: match: type 0"},
		{"hello-truncated-element", 4, MsgHello, []byte{0, 1, 0}, "hello: truncated element header"},
		{"hello-element-zero-length", 4, MsgHello, []byte{0, 1, 0, 0, 0, 0, 0, 0x10}, "hello: element type 1 length 0"},
		{"hello-element-oversized", 4, MsgHello, []byte{0, 1, 0, 0x10, 0, 0, 0, 0x10}, "hello: element type 1 length 16 does not fit in 8 bytes"},
		{"hello-short-bitmap", 4, MsgHello, []byte{0, 1, 0, 4}, "hello: version bitmap element of 4 bytes"},
		{"hello-no-1.3", 6, MsgHello, []byte{0, 1, 0, 8, 0, 0, 0, 0x42}, "hello: switch offers versions bitmap 0x42"},
		{"hello-old-switch", 1, MsgHello, nil, "hello: switch speaks OpenFlow wire version 0x01"},
		{"flow-mod-from-switch", 4, MsgFlowMod, make([]byte, 48), "unexpected message type TypeFlowMod"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := msg(tc.version, tc.typ, 1, tc.body)
			h, body, err := NewReader(bytes.NewReader(m)).Next()
			if err != nil {
				t.Fatalf("Reader.Next: %v", err)
			}
			_, err = Decode(h, body)
			if err == nil {
				t.Fatalf("Decode(%x): no error, want %q", m, tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Decode error %q, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestNegotiateHello(t *testing.T) {
	tests := []struct {
		name    string
		version uint8
		body    []byte
		ok      bool
	}{
		{"1.3-no-elements", 4, nil, true},
		{"1.5-no-elements", 6, nil, true},
		{"1.0-no-elements", 1, nil, false},
		{"ovs-bitmap-1.0-to-1.5", 6, []byte{0, 1, 0, 8, 0, 0, 0, 0x7e}, true},
		{"bitmap-wins-over-old-header", 1, []byte{0, 1, 0, 8, 0, 0, 0, 0x12}, true},
		{"bitmap-without-1.3", 6, []byte{0, 1, 0, 8, 0, 0, 0, 0x62}, false},
		{"two-bitmap-words", 6, []byte{0, 1, 0, 0x0c, 0, 0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 0}, true},
		{"unknown-element-padded-then-bitmap", 6, []byte{0, 9, 0, 5, 0xaa, 0, 0, 0, 0, 1, 0, 8, 0, 0, 0, 0x10}, true},
		{"unknown-element-unpadded-at-end", 4, []byte{0, 9, 0, 5, 0xaa}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := NegotiateHello(Header{Version: tc.version, Type: MsgHello}, tc.body)
			if (err == nil) != tc.ok {
				t.Errorf("NegotiateHello: %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestSwitchErrorString(t *testing.T) {
	e, err := DecodeError(errorBody)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := e.Error(), "ErrCodeBadMatchBadLen in reply to TypeFlowMod xid 7"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestReaderNext(t *testing.T) {
	hello, _ := Encode(nil, 1, Hello{})
	barrier, _ := Encode(nil, 2, BarrierRequest{})
	tests := []struct {
		name   string
		stream []byte
		frames int   // messages read before the error
		err    error // errors.Is target at the end
	}{
		{"empty", nil, 0, io.EOF},
		{"two-messages", cat(hello, barrier), 2, io.EOF},
		{"partial-header", hello[:5], 0, io.ErrUnexpectedEOF},
		{"truncated-body", hello[:12], 0, io.ErrUnexpectedEOF},
		{"second-truncated", cat(hello, barrier[:7]), 1, io.ErrUnexpectedEOF},
		{"length-zero", []byte{4, 0, 0, 0, 0, 0, 0, 1}, 0, ErrShortLength},
		{"length-seven", []byte{4, 0, 0, 7, 0, 0, 0, 1, 0}, 0, ErrShortLength},
		{"length-oversized", []byte{4, 0, 0xff, 0xff, 0, 0, 0, 1, 0, 0}, 0, io.ErrUnexpectedEOF},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReader(bytes.NewReader(tc.stream))
			for i := 0; ; i++ {
				h, body, err := r.Next()
				if err != nil {
					if i != tc.frames {
						t.Errorf("read %d messages, want %d", i, tc.frames)
					}
					if !errors.Is(err, tc.err) {
						t.Errorf("error %v, want %v", err, tc.err)
					}
					return
				}
				if int(h.Length) != HeaderLen+len(body) {
					t.Errorf("message %d: length %d, body %d", i, h.Length, len(body))
				}
			}
		})
	}
}

func TestReaderNextBodyIsFresh(t *testing.T) {
	a, _ := Encode(nil, 1, EchoRequest{Data: []byte("aaaa")})
	b, _ := Encode(nil, 2, EchoRequest{Data: []byte("bbbb")})
	r := NewReader(bytes.NewReader(cat(a, b)))
	_, first, _ := r.Next()
	_, _, _ = r.Next()
	if string(first) != "aaaa" {
		t.Errorf("first body became %q after the second Next", first)
	}
}
