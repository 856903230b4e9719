package cbench

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// cat joins byte groups so that each field of a golden message sits on its
// own commented line.
func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func b(v ...byte) []byte { return v }

// TestPacketInBytes pins a PACKET_IN against struct ofp_packet_in of the
// OpenFlow 1.3.5 specification (section 7.4.1) and the frame layout.
func TestPacketInBytes(t *testing.T) {
	got := appendPacketIn(nil, 0x01020304, 0, 2, 1, 2)
	want := cat(
		// struct ofp_header
		b(0x04),                   // version: OpenFlow 1.3
		b(10),                     // type: OFPT_PACKET_IN
		b(0x00, 102),              // length: 24 + 16 + 2 + 60
		b(0x01, 0x02, 0x03, 0x04), // xid
		// struct ofp_packet_in
		b(0xff, 0xff, 0xff, 0xff), // buffer_id: OFP_NO_BUFFER
		b(0x00, 60),               // total_len: frame length
		b(0),                      // reason: OFPR_NO_MATCH
		b(0),                      // table_id
		b(0, 0, 0, 0, 0, 0, 0, 0), // cookie
		b(0x00, 0x01),             // match.type: OFPMT_OXM
		b(0x00, 12),               // match.length: 4 + one 8-byte OXM, unpadded
		b(0x80, 0x00),             // oxm_class: OFPXMC_OPENFLOW_BASIC
		b(0x00),                   // oxm_field OFPXMT_OFB_IN_PORT (0) << 1, hasmask 0
		b(4),                      // oxm_length
		b(0, 0, 0, 2),             // in_port 2
		b(0, 0, 0, 0),             // match padding to a multiple of 8
		b(0, 0),                   // pad[2]
		// Ethernet
		b(0x02, 0, 0, 0, 0, 2), // destination MAC: host 2 of switch 0
		b(0x02, 0, 0, 0, 0, 1), // source MAC: host 1 of switch 0
		b(0x08, 0x00),          // EtherType IPv4
		// IPv4
		b(0x45, 0x00),  // version 4, IHL 5; DSCP/ECN 0
		b(0x00, 46),    // total length: 20 + 8 + 18
		b(0, 0),        // identification
		b(0x40, 0x00),  // flags DF, fragment offset 0
		b(64, 17),      // TTL 64, protocol UDP
		b(0x26, 0xbd),  // header checksum: ~(0x4500+0x002e+0x4000+0x4011+0x0a00+0x0001+0x0a00+0x0002)
		b(10, 0, 0, 1), // source 10.0.0.1
		b(10, 0, 0, 2), // destination 10.0.0.2
		// UDP
		b(0x9c, 0x40), // source port 40000
		b(0xc3, 0x50), // destination port 50000
		b(0, 26),      // length: 8 + 18
		b(0, 0),       // checksum: none
		// payload
		b('o', 'f', 'c', 'b'),     // magic
		b(0, 0, 0, 0),             // switch index 0
		b(0, 0, 0, 0, 0, 0, 0, 0), // send time, patched when sent
		b(0, 0),                   // padding to 60 bytes
	)
	if !bytes.Equal(got, want) {
		t.Fatalf("packet-in\n got %x\nwant %x", got, want)
	}
	if len(got) != packetInLen || packetInLen-frameOff != frameLen {
		t.Fatalf("packet-in length %d, constants %d/%d", len(got), packetInLen, frameOff)
	}
	if c := ipChecksum(got[frameOff+14 : frameOff+34]); c != 0 {
		t.Fatalf("IPv4 header does not verify: %#x", c)
	}
}

// TestFeaturesReplyBytes pins a FEATURES_REPLY against struct
// ofp_switch_features (OpenFlow 1.3.5 section 7.3.1).
func TestFeaturesReplyBytes(t *testing.T) {
	got := appendFeaturesReply(nil, 7, 0x0000_0000_0000_0010)
	want := cat(
		b(0x04),                      // version: OpenFlow 1.3
		b(6),                         // type: OFPT_FEATURES_REPLY
		b(0x00, 32),                  // length
		b(0, 0, 0, 7),                // xid: that of the request
		b(0, 0, 0, 0, 0, 0, 0, 0x10), // datapath_id
		b(0, 0, 0, 0),                // n_buffers: 0, OVS never buffers
		b(254),                       // n_tables
		b(0),                         // auxiliary_id: main connection
		b(0, 0),                      // pad[2]
		b(0, 0, 0, 0x4f),             // capabilities: FLOW|TABLE|PORT|GROUP|QUEUE_STATS
		b(0, 0, 0, 0),                // reserved
	)
	if !bytes.Equal(got, want) {
		t.Fatalf("features reply\n got %x\nwant %x", got, want)
	}
}

// TestPortDescReply checks the OFPMP_PORT_DESC reply layout: a 16-byte
// multipart header and 64-byte struct ofp_port entries (section 7.2.1).
func TestPortDescReply(t *testing.T) {
	got := appendPortDescReply(nil, 9, 2, 3)
	if len(got) != 16+3*portLen {
		t.Fatalf("length %d, want %d", len(got), 16+3*portLen)
	}
	want := cat(
		b(0x04, 19),            // version, OFPT_MULTIPART_REPLY
		b(0x00, 16+3*64),       // length
		b(0, 0, 0, 9),          // xid
		b(0, 13),               // type: OFPMP_PORT_DESC
		b(0, 0),                // flags: no OFPMPF_REPLY_MORE
		b(0, 0, 0, 0),          // pad[4]
		b(0, 0, 0, 1),          // port_no 1
		b(0, 0, 0, 0),          // pad[4]
		b(0x06, 0, 0, 2, 0, 1), // hw_addr
		b(0, 0),                // pad2[2]
		append([]byte("s3-eth1"), make([]byte, 9)...), // name[16]
		b(0, 0, 0, 0),          // config
		b(0, 0, 0, 4),          // state: OFPPS_LIVE
		b(0, 0, 0x08, 0x40),    // curr: 10GB_FD | COPPER
		b(0, 0, 0x08, 0x40),    // advertised
		b(0, 0, 0x08, 0x40),    // supported
		b(0, 0, 0, 0),          // peer
		b(0, 0x98, 0x96, 0x80), // curr_speed: 10,000,000 kbit/s
		b(0, 0x98, 0x96, 0x80), // max_speed
	)
	if !bytes.Equal(got[:16+64], want) {
		t.Fatalf("port desc\n got %x\nwant %x", got[:16+64], want)
	}
	if p := binary.BigEndian.Uint32(got[16+2*64:]); p != 3 {
		t.Fatalf("third port_no %d", p)
	}
}

func TestDescReplyLength(t *testing.T) {
	got := appendDescReply(nil, 1, 0)
	if len(got) != 16+1056 || int(binary.BigEndian.Uint16(got[2:4])) != len(got) {
		t.Fatalf("desc reply length %d", len(got))
	}
}

func TestPacketOutFrame(t *testing.T) {
	frame := appendFrame(nil, 0, 0, 1)
	m := appendHeader(nil, ofptPacketOut, 24+16+len(frame), 1)
	m = binary.BigEndian.AppendUint32(m, noBuffer)
	m = binary.BigEndian.AppendUint32(m, 1)  // in_port
	m = binary.BigEndian.AppendUint16(m, 16) // actions_len
	m = append(m, make([]byte, 6+16)...)     // pad, one output action
	m = append(m, frame...)
	if got := packetOutFrame(m); !bytes.Equal(got, frame) {
		t.Fatalf("frame %x", got)
	}
	if packetOutFrame(m[:20]) != nil {
		t.Fatal("short packet-out accepted")
	}
}
