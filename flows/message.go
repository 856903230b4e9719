package flows

import (
	"encoding/binary"
	"fmt"

	"github.com/netrack/openflow/ofp"
)

// Version is the OpenFlow wire version ovsmesh speaks: 0x04, OpenFlow 1.3.
const Version uint8 = 4

// HeaderLen is the size of ofp_header in bytes.
const HeaderLen = 8

// Message is something the controller sends to a switch.
type Message interface {
	// MsgType is the ofp_header type.
	MsgType() MsgType
	// appendBody appends everything after the ofp_header.
	appendBody(b []byte) []byte
}

// Encode appends m to b with an ofp_header carrying xid. It fails when
// the message would exceed the 65535-byte OpenFlow length limit, leaving
// b as it was.
func Encode(b []byte, xid uint32, m Message) ([]byte, error) {
	start := len(b)
	b = append(b, Version, byte(m.MsgType()), 0, 0)
	b = binary.BigEndian.AppendUint32(b, xid)
	b = m.appendBody(b)
	n := len(b) - start
	if n > 0xffff {
		return b[:start], fmt.Errorf("encode %s: %d bytes exceeds the OpenFlow limit of 65535", m.MsgType(), n)
	}
	binary.BigEndian.PutUint16(b[start+2:], uint16(n))
	return b, nil
}

// Hello is OFPT_HELLO with a version bitmap element offering only
// OpenFlow 1.3 (OpenFlow 1.3.5 §7.5.1).
type Hello struct{}

// MsgType implements Message.
func (Hello) MsgType() MsgType { return MsgHello }

// appendBody appends one OFPHET_VERSIONBITMAP element: type 1, length 8,
// bitmap with bit 4 (wire version 0x04) set.
func (Hello) appendBody(b []byte) []byte {
	return append(b, 0, 1, 0, 8, 0, 0, 0, 1<<Version)
}

// FeaturesRequest is OFPT_FEATURES_REQUEST (OpenFlow 1.3.5 §7.3.1).
type FeaturesRequest struct{}

// MsgType implements Message.
func (FeaturesRequest) MsgType() MsgType { return MsgFeaturesRequest }

func (FeaturesRequest) appendBody(b []byte) []byte { return b }

// BarrierRequest is OFPT_BARRIER_REQUEST (OpenFlow 1.3.5 §7.3.8): the
// switch finishes every earlier message before any later one.
type BarrierRequest struct{}

// MsgType implements Message.
func (BarrierRequest) MsgType() MsgType { return MsgBarrierRequest }

func (BarrierRequest) appendBody(b []byte) []byte { return b }

// EchoRequest is OFPT_ECHO_REQUEST carrying Data (OpenFlow 1.3.5 §7.5.3).
type EchoRequest struct{ Data []byte }

// MsgType implements Message.
func (EchoRequest) MsgType() MsgType { return MsgEchoRequest }

func (m EchoRequest) appendBody(b []byte) []byte { return append(b, m.Data...) }

// EchoReply is OFPT_ECHO_REPLY; it echoes the request's Data and xid.
type EchoReply struct{ Data []byte }

// MsgType implements Message.
func (EchoReply) MsgType() MsgType { return MsgEchoReply }

func (m EchoReply) appendBody(b []byte) []byte { return append(b, m.Data...) }

// SetConfig is OFPT_SET_CONFIG (OpenFlow 1.3.5 §7.3.2). ovsmesh sends
// flags 0 (normal fragment handling) and MissSendLen MaxLenNoBuffer.
type SetConfig struct {
	// Flags is the ofp_config_flags bitmap.
	Flags uint16
	// MissSendLen is the number of bytes of a packet sent to the
	// controller by a table-miss.
	MissSendLen uint16
}

// MsgType implements Message.
func (SetConfig) MsgType() MsgType { return MsgSetConfig }

func (m SetConfig) appendBody(b []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, m.Flags)
	return binary.BigEndian.AppendUint16(b, m.MissSendLen)
}

// Error is OFPT_ERROR (OpenFlow 1.3.5 §7.5.4), sent by ovsmesh only to
// refuse a HELLO. Data is ASCII text or the offending message.
type Error struct {
	Type ErrType
	Code ErrCode
	Data []byte
}

// MsgType implements Message.
func (Error) MsgType() MsgType { return MsgError }

func (m Error) appendBody(b []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(m.Type))
	b = binary.BigEndian.AppendUint16(b, uint16(m.Code))
	return append(b, m.Data...)
}

// String names the error type and code as netrack/openflow does.
func (m Error) String() string {
	return errorName(m.Type, m.Code)
}

// Multipart types ovsmesh requests (OpenFlow 1.3.5 §7.3.5).
const (
	MultipartFlow     = uint16(ofp.MultipartTypeFlow)
	MultipartPortDesc = uint16(ofp.MultipartTypePortDescription)
)

// PortDescRequest is OFPMP_PORT_DESC: list every port of the switch.
type PortDescRequest struct{}

// MsgType implements Message.
func (PortDescRequest) MsgType() MsgType { return MsgMultipartRequest }

// appendBody appends ofp_multipart_request: type 13, flags 0, 4 pad.
func (PortDescRequest) appendBody(b []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, MultipartPortDesc)
	return append(b, 0, 0, 0, 0, 0, 0)
}

// FlowStatsRequest is OFPMP_FLOW: list flows in Table (TableAll for
// every table) whose cookie matches Cookie under CookieMask.
type FlowStatsRequest struct {
	Table              TableID
	Cookie, CookieMask Cookie
}

// TableAll names every table in requests (OFPTT_ALL).
const TableAll TableID = 0xff

// MsgType implements Message.
func (FlowStatsRequest) MsgType() MsgType { return MsgMultipartRequest }

// appendBody appends ofp_multipart_request (type 1) and
// ofp_flow_stats_request: table_id, 3 pad, out_port ANY, out_group ANY,
// 4 pad, cookie, cookie_mask, empty match.
func (m FlowStatsRequest) appendBody(b []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, MultipartFlow)
	b = append(b, 0, 0, 0, 0, 0, 0)
	b = append(b, byte(m.Table), 0, 0, 0)
	b = binary.BigEndian.AppendUint32(b, uint32(PortAny))
	b = binary.BigEndian.AppendUint32(b, uint32(ofp.GroupAny))
	b = append(b, 0, 0, 0, 0)
	b = binary.BigEndian.AppendUint64(b, uint64(m.Cookie))
	b = binary.BigEndian.AppendUint64(b, uint64(m.CookieMask))
	return (&Match{}).appendTo(b)
}
