package cbench

import (
	"encoding/binary"
	"fmt"
)

// OpenFlow 1.3 wire constants used by the emulated switches (OpenFlow 1.3.5
// specification, section 7).
const (
	ofpVersion = 0x04 // OFP_VERSION for OpenFlow 1.3
	headerLen  = 8    // sizeof(struct ofp_header)

	ofptHello           = 0
	ofptError           = 1
	ofptEchoRequest     = 2
	ofptEchoReply       = 3
	ofptFeaturesRequest = 5
	ofptFeaturesReply   = 6
	ofptGetConfigReq    = 7
	ofptGetConfigReply  = 8
	ofptSetConfig       = 9
	ofptPacketIn        = 10
	ofptPacketOut       = 13
	ofptFlowMod         = 14
	ofptMultipartReq    = 18
	ofptMultipartReply  = 19
	ofptBarrierRequest  = 20
	ofptBarrierReply    = 21

	ofpmpDesc     = 0  // OFPMP_DESC
	ofpmpPortDesc = 13 // OFPMP_PORT_DESC

	noBuffer = 0xffffffff // OFP_NO_BUFFER

	portLen     = 64   // sizeof(struct ofp_port)
	descLen     = 1056 // sizeof(struct ofp_desc)
	mpHeaderLen = 16   // sizeof(struct ofp_multipart_reply) without body

	// packetInLen is the size of one generated PACKET_IN: 24 bytes of fixed
	// fields, a 16-byte match holding only OXM in_port, 2 bytes of padding
	// and the frame.
	packetInLen = 24 + 16 + 2 + frameLen
	// frameOff is the offset of the Ethernet frame inside a PACKET_IN.
	frameOff = 24 + 16 + 2
)

// Layout of the 60-byte Ethernet/IPv4/UDP frame carried by every PACKET_IN.
const (
	frameLen     = 60         // bytes: 14 Ethernet + 20 IPv4 + 8 UDP + 18 payload
	payloadOff   = 42         // offset of the UDP payload in the frame
	magicOff     = payloadOff // uint32 frameMagic
	switchIdxOff = 46         // uint32 index of the sending switch
	sentAtOff    = 50         // uint64 send time, ns since the run started
	frameMagic   = 0x6f666362 // "ofcb"
	udpSrcPort   = 40000
	udpDstPort   = 50000
)

// appendHeader appends an ofp_header.
func appendHeader(b []byte, typ uint8, length int, xid uint32) []byte {
	b = append(b, ofpVersion, typ)
	b = binary.BigEndian.AppendUint16(b, uint16(length))
	return binary.BigEndian.AppendUint32(b, xid)
}

// header is a decoded ofp_header.
type header struct {
	version uint8
	typ     uint8
	length  int
	xid     uint32
}

// parseHeader decodes the first 8 bytes of b.
func parseHeader(b []byte) header {
	return header{
		version: b[0],
		typ:     b[1],
		length:  int(binary.BigEndian.Uint16(b[2:4])),
		xid:     binary.BigEndian.Uint32(b[4:8]),
	}
}

// appendHello appends an OFPT_HELLO without elements (version 4 only).
func appendHello(b []byte, xid uint32) []byte {
	return appendHeader(b, ofptHello, headerLen, xid)
}

// appendFeaturesReply appends an OFPT_FEATURES_REPLY (struct
// ofp_switch_features, 32 bytes).
func appendFeaturesReply(b []byte, xid uint32, dpid uint64) []byte {
	b = appendHeader(b, ofptFeaturesReply, 32, xid)
	b = binary.BigEndian.AppendUint64(b, dpid) // datapath_id
	b = binary.BigEndian.AppendUint32(b, 0)    // n_buffers: OVS never buffers
	b = append(b, 254, 0, 0, 0)                // n_tables, auxiliary_id, pad[2]
	// capabilities: FLOW_STATS|TABLE_STATS|PORT_STATS|GROUP_STATS|QUEUE_STATS,
	// as OVS reports them.
	b = binary.BigEndian.AppendUint32(b, 0x4f)
	return binary.BigEndian.AppendUint32(b, 0) // reserved
}

// appendGetConfigReply appends an OFPT_GET_CONFIG_REPLY (struct
// ofp_switch_config, 12 bytes).
func appendGetConfigReply(b []byte, xid uint32, flags, missSendLen uint16) []byte {
	b = appendHeader(b, ofptGetConfigReply, 12, xid)
	b = binary.BigEndian.AppendUint16(b, flags)
	return binary.BigEndian.AppendUint16(b, missSendLen)
}

// appendMultipartReplyHeader appends the fixed part of an
// OFPT_MULTIPART_REPLY whose body is bodyLen bytes long.
func appendMultipartReplyHeader(b []byte, xid uint32, mpType uint16, bodyLen int) []byte {
	b = appendHeader(b, ofptMultipartReply, mpHeaderLen+bodyLen, xid)
	b = binary.BigEndian.AppendUint16(b, mpType)
	b = binary.BigEndian.AppendUint16(b, 0) // flags: no OFPMPF_REPLY_MORE
	return append(b, 0, 0, 0, 0)            // pad[4]
}

// portMAC is the hardware address of port (1-based) of switch sw (0-based).
func portMAC(sw, port int) [6]byte {
	return [6]byte{0x06, 0, byte(sw >> 8), byte(sw), byte(port >> 8), byte(port)}
}

// appendPort appends one struct ofp_port (64 bytes) for port of switch sw.
func appendPort(b []byte, sw, port int) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(port)) // port_no
	b = append(b, 0, 0, 0, 0)                          // pad[4]
	mac := portMAC(sw, port)
	b = append(b, mac[:]...) // hw_addr
	b = append(b, 0, 0)      // pad2[2]
	var name [16]byte        // name, NUL padded
	copy(name[:15], fmt.Sprintf("s%d-eth%d", sw+1, port))
	b = append(b, name[:]...)
	b = binary.BigEndian.AppendUint32(b, 0) // config
	b = binary.BigEndian.AppendUint32(b, 4) // state: OFPPS_LIVE
	// curr, advertised, supported: OFPPF_10GB_FD|OFPPF_COPPER; peer: none.
	feat := uint32(1<<6 | 1<<11)
	b = binary.BigEndian.AppendUint32(b, feat)
	b = binary.BigEndian.AppendUint32(b, feat)
	b = binary.BigEndian.AppendUint32(b, feat)
	b = binary.BigEndian.AppendUint32(b, 0)
	b = binary.BigEndian.AppendUint32(b, 10_000_000) // curr_speed, kbit/s
	return binary.BigEndian.AppendUint32(b, 10_000_000)
}

// appendPortDescReply appends an OFPMP_PORT_DESC reply listing ports 1..n.
func appendPortDescReply(b []byte, xid uint32, sw, n int) []byte {
	b = appendMultipartReplyHeader(b, xid, ofpmpPortDesc, n*portLen)
	for p := 1; p <= n; p++ {
		b = appendPort(b, sw, p)
	}
	return b
}

// appendDescReply appends an OFPMP_DESC reply (struct ofp_desc).
func appendDescReply(b []byte, xid uint32, sw int) []byte {
	b = appendMultipartReplyHeader(b, xid, ofpmpDesc, descLen)
	field := func(b []byte, s string, n int) []byte {
		start := len(b)
		b = append(b, make([]byte, n)...)
		copy(b[start:start+n-1], s)
		return b
	}
	b = field(b, "ovsmesh", 256)                         // mfr_desc
	b = field(b, "ofcbench emulated switch", 256)        // hw_desc
	b = field(b, "ofcbench", 256)                        // sw_desc
	b = field(b, fmt.Sprintf("%d", sw+1), 32)            // serial_num
	return field(b, fmt.Sprintf("switch %d", sw+1), 256) // dp_desc
}

// macAddr is MAC address number i of the pool of switch sw. The addresses
// are unicast and locally administered.
func macAddr(sw, i int) [6]byte {
	return [6]byte{0x02, byte(sw >> 8), byte(sw), byte(i >> 16), byte(i >> 8), byte(i)}
}

// ipAddr is the IPv4 address that goes with macAddr(sw, i).
func ipAddr(sw, i int) [4]byte {
	return [4]byte{10, byte(sw), byte(i >> 8), byte(i)}
}

// appendFrame appends a 60-byte Ethernet/IPv4/UDP frame from host src to host
// dst of switch sw. The payload carries frameMagic and sw; the send time is
// left zero and patched in when the frame is sent.
func appendFrame(b []byte, sw, src, dst int) []byte {
	dmac, smac := macAddr(sw, dst), macAddr(sw, src)
	b = append(b, dmac[:]...)
	b = append(b, smac[:]...)
	b = binary.BigEndian.AppendUint16(b, 0x0800) // EtherType IPv4
	ip := len(b)
	b = append(b, 0x45, 0)                        // version 4, IHL 5; DSCP/ECN
	b = binary.BigEndian.AppendUint16(b, 20+8+18) // total length
	b = append(b, 0, 0, 0x40, 0, 64, 17, 0, 0)    // id, DF, TTL 64, UDP, checksum
	sip, dip := ipAddr(sw, src), ipAddr(sw, dst)
	b = append(b, sip[:]...)
	b = append(b, dip[:]...)
	binary.BigEndian.PutUint16(b[ip+10:], ipChecksum(b[ip:ip+20]))
	b = binary.BigEndian.AppendUint16(b, udpSrcPort)
	b = binary.BigEndian.AppendUint16(b, udpDstPort)
	b = binary.BigEndian.AppendUint16(b, 8+18) // UDP length
	b = binary.BigEndian.AppendUint16(b, 0)    // checksum: none (IPv4)
	b = binary.BigEndian.AppendUint32(b, frameMagic)
	b = binary.BigEndian.AppendUint32(b, uint32(sw))
	b = binary.BigEndian.AppendUint64(b, 0) // send time
	return append(b, 0, 0)                  // pad to 60 bytes
}

// ipChecksum is the Internet checksum of h.
func ipChecksum(h []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(h); i += 2 {
		sum += uint32(h[i])<<8 | uint32(h[i+1])
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// packetInTableOff is the offset of table_id in a PACKET_IN: header 8,
// buffer_id 4, total_len 2, reason 1.
const packetInTableOff = 15

// appendPacketIn appends an OFPT_PACKET_IN (no buffer, reason no-match,
// table 0, cookie 0, match OXM in_port) carrying a frame from host src to
// host dst of switch sw, received on inPort.
func appendPacketIn(b []byte, xid uint32, sw, inPort, src, dst int) []byte {
	b = appendHeader(b, ofptPacketIn, packetInLen, xid)
	b = binary.BigEndian.AppendUint32(b, noBuffer) // buffer_id
	b = binary.BigEndian.AppendUint16(b, frameLen) // total_len
	b = append(b, 0, 0)                            // reason OFPR_NO_MATCH, table_id 0
	b = binary.BigEndian.AppendUint64(b, 0)        // cookie
	b = binary.BigEndian.AppendUint16(b, 1)        // match type OFPMT_OXM
	b = binary.BigEndian.AppendUint16(b, 4+8)      // match length without padding
	// OXM_OF_IN_PORT: class OPENFLOW_BASIC, field 0, no mask, 4 bytes.
	b = binary.BigEndian.AppendUint32(b, 0x80000004)
	b = binary.BigEndian.AppendUint32(b, uint32(inPort))
	b = append(b, 0, 0, 0, 0) // match padding to 8 bytes
	b = append(b, 0, 0)       // pad[2]
	return appendFrame(b, sw, src, dst)
}

// packetOutFrame returns the data of an OFPT_PACKET_OUT message m (header
// included), or nil if m is malformed.
func packetOutFrame(m []byte) []byte {
	if len(m) < 24 {
		return nil
	}
	actionsLen := int(binary.BigEndian.Uint16(m[16:18]))
	if 24+actionsLen > len(m) {
		return nil
	}
	return m[24+actionsLen:]
}
