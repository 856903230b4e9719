package flows

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"

	"github.com/netrack/openflow/ofp"
)

// PacketIn is a decoded OFPT_PACKET_IN (OpenFlow 1.3.5 §7.4.1).
type PacketIn struct {
	// BufferID is NoBuffer for OVS, which never buffers.
	BufferID uint32
	// TotalLen is the full length of the frame in bytes; Data may be
	// shorter if the switch truncated it.
	TotalLen uint16
	// Reason is ofp_packet_in_reason (0 table-miss, 1 action).
	Reason uint8
	// Table is the table the packet was in.
	Table TableID
	// Cookie is the cookie of the flow that sent the packet.
	Cookie Cookie
	// InPort is the ingress OFPort, from the match's OXM_OF_IN_PORT.
	InPort OFPort
	// Match holds the pipeline fields the switch reported.
	Match Match
	// RawMatch is the match's OXM TLVs as sent (ParsePacket reads the
	// registers and conntrack fields Match leaves out). It aliases the
	// message body.
	RawMatch []byte
	// Data is the Ethernet frame. It aliases the message body.
	Data []byte
}

// NoBuffer is the buffer_id of an unbuffered packet.
const NoBuffer = ofp.NoBuffer

// DecodePacketIn decodes a packet-in body (the bytes after ofp_header):
// buffer_id, total_len, reason, table_id, cookie, match, 2 pad, data.
func DecodePacketIn(body []byte) (PacketIn, error) {
	var pi PacketIn
	if len(body) < 16+8+2 {
		return pi, fmt.Errorf("packet-in: %d bytes, need at least 26", len(body))
	}
	pi.BufferID = binary.BigEndian.Uint32(body)
	pi.TotalLen = binary.BigEndian.Uint16(body[4:])
	pi.Reason = body[6]
	pi.Table = TableID(body[7])
	pi.Cookie = Cookie(binary.BigEndian.Uint64(body[8:]))
	m, n, err := decodeMatch(body[16:])
	if err != nil {
		return pi, fmt.Errorf("packet-in: %w", err)
	}
	if 16+n+2 > len(body) {
		return pi, fmt.Errorf("packet-in: no room for padding after a %d-byte match", n)
	}
	pi.Match, pi.InPort = m, m.InPort
	pi.RawMatch = oxmTLVs(body[16:])
	if pi.InPort == 0 {
		return pi, fmt.Errorf("packet-in: match has no in_port")
	}
	pi.Data = body[16+n+2:]
	return pi, nil
}

// Port is one switch port from OFPMP_PORT_DESC or OFPT_PORT_STATUS
// (ofp_port, OpenFlow 1.3.5 §7.2.1).
type Port struct {
	// No is the OFPort number.
	No OFPort
	// Name is the interface name.
	Name string
	// HWAddr is the port's MAC address.
	HWAddr net.HardwareAddr
	// Config is the ofp_port_config bitmap (bit 0: administratively down).
	Config uint32
	// State is the ofp_port_state bitmap (bit 0: link down).
	State uint32
}

// Up reports whether the port is administratively up with link up.
func (p Port) Up() bool {
	return p.Config&uint32(ofp.PortConfigDown) == 0 && p.State&uint32(ofp.PortStateLinkDown) == 0
}

const portLen = 64

// decodePort decodes one 64-byte ofp_port: port_no, 4 pad, hw_addr,
// 2 pad, name[16], config, state, curr, advertised, supported, peer,
// curr_speed, max_speed. It is decoded by hand: netrack/openflow's
// ofp.Port.ReadFrom reads padding into shared package variables, a data
// race when two switches connect at once.
func decodePort(b []byte) (Port, error) {
	if len(b) < portLen {
		return Port{}, fmt.Errorf("port: %d bytes, need %d", len(b), portLen)
	}
	name := b[16:32]
	if i := bytes.IndexByte(name, 0); i >= 0 {
		name = name[:i]
	}
	return Port{
		No:     OFPort(binary.BigEndian.Uint32(b)),
		HWAddr: net.HardwareAddr(bytes.Clone(b[8:14])),
		Name:   string(name),
		Config: binary.BigEndian.Uint32(b[32:]),
		State:  binary.BigEndian.Uint32(b[36:]),
	}, nil
}

// PortStatus is a decoded OFPT_PORT_STATUS (OpenFlow 1.3.5 §7.4.3).
type PortStatus struct {
	// Reason is PortAdded, PortDeleted or PortModified.
	Reason uint8
	Port   Port
}

// Port status reasons (ofp_port_reason).
const (
	PortAdded    = uint8(ofp.PortReasonAdd)
	PortDeleted  = uint8(ofp.PortReasonDelete)
	PortModified = uint8(ofp.PortReasonModify)
)

// DecodePortStatus decodes a port-status body: reason, 7 pad, ofp_port.
func DecodePortStatus(body []byte) (PortStatus, error) {
	if len(body) != 8+portLen {
		return PortStatus{}, fmt.Errorf("port-status: %d bytes, want %d", len(body), 8+portLen)
	}
	p, err := decodePort(body[8:])
	if err != nil {
		return PortStatus{}, fmt.Errorf("port-status: %w", err)
	}
	if body[0] > PortModified {
		return PortStatus{}, fmt.Errorf("port-status: unknown reason %d", body[0])
	}
	return PortStatus{Reason: body[0], Port: p}, nil
}

// Features is a decoded OFPT_FEATURES_REPLY (OpenFlow 1.3.5 §7.3.1).
type Features struct {
	// DPID is the datapath ID.
	DPID DPID
	// NumTables is the number of tables.
	NumTables uint8
	// AuxiliaryID is non-zero on auxiliary connections.
	AuxiliaryID uint8
}

// DecodeFeatures decodes a features-reply body: datapath_id, n_buffers,
// n_tables, auxiliary_id, 2 pad, capabilities, reserved (by hand, for
// the same reason as decodePort).
func DecodeFeatures(body []byte) (Features, error) {
	if len(body) != 24 {
		return Features{}, fmt.Errorf("features-reply: %d bytes, want 24", len(body))
	}
	return Features{DPID: DPID(binary.BigEndian.Uint64(body)), NumTables: body[12], AuxiliaryID: body[13]}, nil
}

// SwitchError is a decoded OFPT_ERROR from a switch (OpenFlow 1.3.5 §7.5.4).
type SwitchError struct {
	Type ErrType
	Code ErrCode
	// Offending is the type of the message that caused the error, from
	// the header at the start of Data (when Data holds one).
	Offending MsgType
	// OffendingXID is that message's xid.
	OffendingXID uint32
	// Data is the error's data: the start of the offending message for
	// most types, text for HELLO_FAILED.
	Data []byte
}

// DecodeError decodes an error body: type, code, data.
func DecodeError(body []byte) (SwitchError, error) {
	if len(body) < 4 {
		return SwitchError{}, fmt.Errorf("error: %d bytes, need at least 4", len(body))
	}
	e := SwitchError{
		Type:      ErrType(binary.BigEndian.Uint16(body)),
		Code:      ErrCode(binary.BigEndian.Uint16(body[2:])),
		Data:      body[4:],
		Offending: 0xff,
	}
	if len(e.Data) >= HeaderLen && e.Type != ErrTypeHelloFailed {
		h := ParseHeader(e.Data)
		e.Offending, e.OffendingXID = h.Type, h.XID
	}
	return e, nil
}

// Error implements error: "ErrCodeBadMatchBadLen in reply to TypeFlowMod xid 7"
// (netrack/openflow names the code; the name includes the type).
func (e SwitchError) Error() string {
	s := errorName(e.Type, e.Code)
	if e.Offending != 0xff {
		s += fmt.Sprintf(" in reply to %s xid %d", msgTypeName(e.Offending), e.OffendingXID)
	}
	return s
}

// MultipartReply is the fixed part of OFPT_MULTIPART_REPLY.
type MultipartReply struct {
	// Type is the multipart type (MultipartFlow, MultipartPortDesc...).
	Type uint16
	// More is set when further replies follow (OFPMPF_REPLY_MORE).
	More bool
	// Body is the type-specific body.
	Body []byte
}

// DecodeMultipartReply decodes a multipart-reply body: type, flags, 4 pad.
func DecodeMultipartReply(body []byte) (MultipartReply, error) {
	if len(body) < 8 {
		return MultipartReply{}, fmt.Errorf("multipart-reply: %d bytes, need at least 8", len(body))
	}
	return MultipartReply{
		Type: binary.BigEndian.Uint16(body),
		More: binary.BigEndian.Uint16(body[2:])&1 != 0,
		Body: body[8:],
	}, nil
}

// DecodePortDesc decodes an OFPMP_PORT_DESC reply body: a list of ofp_port.
func DecodePortDesc(body []byte) ([]Port, error) {
	if len(body)%portLen != 0 {
		return nil, fmt.Errorf("port-desc: %d bytes is not a multiple of %d", len(body), portLen)
	}
	ports := make([]Port, 0, len(body)/portLen)
	for p := body; len(p) > 0; p = p[portLen:] {
		port, err := decodePort(p)
		if err != nil {
			return nil, fmt.Errorf("port-desc entry %d: %w", len(ports), err)
		}
		ports = append(ports, port)
	}
	return ports, nil
}
