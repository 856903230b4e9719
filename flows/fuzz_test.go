package flows

import (
	"bytes"
	"testing"
)

// fuzzSeeds are whole messages a switch can send, valid and malformed.
func fuzzSeeds(tb testing.TB) [][]byte {
	valid := [][]byte{
		msg(6, MsgHello, 1, []byte{0, 1, 0, 8, 0, 0, 0, 0x7e}),
		msg(Version, MsgEchoRequest, 2, []byte("ping")),
		msg(Version, MsgBarrierReply, 3, nil),
		msg(Version, MsgFeaturesReply, 4, featuresBody),
		msg(Version, MsgPacketIn, 0, packetInBody),
		msg(Version, MsgPortStatus, 0, portStatusBody),
		msg(Version, MsgError, 5, errorBody),
		msg(Version, MsgFlowRemoved, 0, flowRemovedBody),
		msg(Version, MsgMultipartReply, 6, portDescBody),
		flowStatsReply(tb, flowARP),
		flowStatsReply(tb, flowTunnelIn),
		portStatsReply,
	}
	seeds := append([][]byte(nil), valid...)
	seeds = append(seeds,
		bytes.Join(valid, nil),                                                              // a whole session
		[]byte{4, 10, 0, 0, 0, 0, 0, 0},                                                     // length 0
		[]byte{4, 10, 0, 7, 0, 0, 0, 0},                                                     // length 7
		[]byte{4, 10, 0xff, 0xff, 0, 0, 0, 0, 1},                                            // length 65535, 1 byte of body
		[]byte{4, 10, 0, 8},                                                                 // half a header
		msg(Version, MsgPacketIn, 0, patch(packetInBody, 18, 0, 0)),                         // match length 0
		msg(Version, MsgPacketIn, 0, patch(packetInBody, 18, 0xff, 0xff)),                   // match length 65535
		msg(Version, MsgPacketIn, 0, patch(packetInBody, 23, 0xff)),                         // OXM overrun
		msg(Version, MsgMultipartReply, 0, patch(flowStatsReply(tb, flowARP)[8:], 8, 0, 0)), // entry length 0
		msg(1, MsgPacketIn, 0, packetInBody),                                                // OpenFlow 1.0
	)
	return seeds
}

// FuzzDecode frames an arbitrary byte stream with Reader.Next and decodes
// every message with Decode and with each decoder directly. Properties:
// nothing panics, a decoded packet-in's Data is the tail of its body, and
// decoded flow-stats instructions lie within the body.
//
//	go test ./flows -run '^$' -fuzz '^FuzzDecode$' -fuzztime 10s
func FuzzDecode(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, stream []byte) {
		r := NewReader(bytes.NewReader(stream))
		for {
			h, body, err := r.Next()
			if err != nil {
				return
			}
			if int(h.Length) != HeaderLen+len(body) {
				t.Fatalf("header length %d, body %d bytes", h.Length, len(body))
			}
			v, err := Decode(h, body)
			if err == nil {
				if pi, ok := v.(PacketIn); ok {
					checkPacketInData(t, pi, body)
				}
			}
			// Every decoder must survive every body.
			if pi, err := DecodePacketIn(body); err == nil {
				checkPacketInData(t, pi, body)
			}
			_, _ = DecodePortStatus(body)
			_, _ = DecodeFeatures(body)
			_, _ = DecodeError(body)
			_, _ = DecodeFlowRemoved(body)
			_, _ = DecodeMultipartReply(body)
			_, _ = DecodePortDesc(body)
			if ps, err := DecodePortStats(body); err == nil && len(ps)*portStatsLen != len(body) {
				t.Fatalf("%d port-stats entries from %d bytes", len(ps), len(body))
			}
			if stats, err := DecodeFlowStats(body); err == nil {
				for _, s := range stats {
					if len(s.Instructions) > 0 && !within(s.Instructions, body) {
						t.Fatalf("flow-stats instructions outside the body")
					}
				}
			}
			_ = NegotiateHello(h, body)
		}
	})
}

// checkPacketInData fails unless pi.Data is exactly the tail of body.
func checkPacketInData(t *testing.T, pi PacketIn, body []byte) {
	t.Helper()
	if len(pi.Data) > len(body)-26 {
		t.Fatalf("packet-in data %d bytes in a %d-byte body", len(pi.Data), len(body))
	}
	if len(pi.Data) > 0 && &pi.Data[0] != &body[len(body)-len(pi.Data)] {
		t.Fatalf("packet-in data is not the tail of the body")
	}
	if pi.InPort == 0 {
		t.Fatalf("packet-in decoded without in_port")
	}
}

// within reports whether sub shares b's backing array inside b's bounds.
func within(sub, b []byte) bool {
	for i := range b {
		if &b[i] == &sub[0] {
			return i+len(sub) <= len(b)
		}
	}
	return false
}

// FuzzNegotiateHello checks that HELLO negotiation never panics and
// agrees with the version bitmap when the first element is a well-formed
// bitmap.
//
//	go test ./flows -run '^$' -fuzz '^FuzzNegotiateHello$' -fuzztime 10s
func FuzzNegotiateHello(f *testing.F) {
	f.Add(uint8(6), []byte{0, 1, 0, 8, 0, 0, 0, 0x7e})
	f.Add(uint8(4), []byte{})
	f.Add(uint8(1), []byte{})
	f.Add(uint8(6), []byte{0, 1, 0, 8, 0, 0, 0, 0x02})
	f.Add(uint8(6), []byte{0, 9, 0, 5, 0xaa, 0, 0, 0, 0, 1, 0, 8, 0, 0, 0, 0x10})
	f.Add(uint8(6), []byte{0, 1, 0, 0})
	f.Add(uint8(6), []byte{0, 1, 0xff, 0xff, 0, 0, 0, 0x10})
	f.Fuzz(func(t *testing.T, version uint8, body []byte) {
		err := NegotiateHello(Header{Version: version, Type: MsgHello}, body)
		if len(body) >= 8 && body[0] == 0 && body[1] == 1 && body[2] == 0 && body[3] == 8 {
			has13 := body[7]&(1<<Version) != 0
			if (err == nil) != has13 {
				t.Fatalf("bitmap %x: err %v, has 1.3 %v", body[4:8], err, has13)
			}
		}
		if len(body) == 0 && (err == nil) != (version >= Version) {
			t.Fatalf("no elements, version %d: err %v", version, err)
		}
	})
}
