package flows

import (
	openflow "github.com/netrack/openflow"
	"github.com/netrack/openflow/ofp"
)

// MsgType is the ofp_header type (OpenFlow 1.3.5 §7.1, enum ofp_type).
type MsgType uint8

// Message types ovsmesh sends or handles.
const (
	MsgHello            MsgType = 0
	MsgError            MsgType = 1
	MsgEchoRequest      MsgType = 2
	MsgEchoReply        MsgType = 3
	MsgExperimenter     MsgType = 4
	MsgFeaturesRequest  MsgType = 5
	MsgFeaturesReply    MsgType = 6
	MsgGetConfigReply   MsgType = 8
	MsgSetConfig        MsgType = 9
	MsgPacketIn         MsgType = 10
	MsgFlowRemoved      MsgType = 11
	MsgPortStatus       MsgType = 12
	MsgPacketOut        MsgType = 13
	MsgFlowMod          MsgType = 14
	MsgGroupMod         MsgType = 15
	MsgMultipartRequest MsgType = 18
	MsgMultipartReply   MsgType = 19
	MsgBarrierRequest   MsgType = 20
	MsgBarrierReply     MsgType = 21
	MsgRoleReply        MsgType = 25
	MsgGetAsyncReply    MsgType = 27
	MsgMeterMod         MsgType = 29
)

// String names the type as netrack/openflow does ("TypeFlowMod"); these
// names are the values of the metric label "type".
func (t MsgType) String() string { return openflow.Type(t).String() }

// ErrType is ofp_error_msg.type (OpenFlow 1.3.5 §7.5.4.1).
type ErrType uint16

// String names the type as netrack/openflow does ("ErrTypeBadRequest").
func (t ErrType) String() string { return ofp.ErrType(t).String() }

// ErrCode is ofp_error_msg.code; its meaning depends on the ErrType.
type ErrCode uint16

// Error types and codes ovsmesh sends or checks.
const (
	// ErrTypeHelloFailed is OFPET_HELLO_FAILED; its data is ASCII text.
	ErrTypeHelloFailed = ErrType(ofp.ErrTypeHelloFailed)
	// ErrTypeBadRequest is OFPET_BAD_REQUEST.
	ErrTypeBadRequest = ErrType(ofp.ErrTypeBadRequest)
	// ErrCodeHelloFailedIncompatible is OFPHFC_INCOMPATIBLE: no common
	// version.
	ErrCodeHelloFailedIncompatible = ErrCode(ofp.ErrCodeHelloFailedIncompatible)
	// ErrCodeBadRequestBadType is OFPBRC_BAD_TYPE: a message type the
	// receiver does not handle.
	ErrCodeBadRequestBadType = ErrCode(ofp.ErrCodeBadRequestBadType)
)

// errorName names a type and code as netrack/openflow does
// ("ErrCodeBadMatchBadLen").
func errorName(t ErrType, c ErrCode) string {
	return ofp.Error{Type: ofp.ErrType(t), Code: ofp.ErrCode(c)}.String()
}

// HelloFailed is the error that refuses a switch's HELLO (OpenFlow 1.3.5
// §6.3.1: OFPET_HELLO_FAILED, OFPHFC_INCOMPATIBLE) with text saying what
// ovsmesh speaks.
func HelloFailed(text string) Error {
	return Error{Type: ErrTypeHelloFailed, Code: ErrCodeHelloFailedIncompatible, Data: []byte(text)}
}

// BadType is the error that refuses a message of a type ovsmesh does not
// handle (OFPET_BAD_REQUEST, OFPBRC_BAD_TYPE), carrying the header and at
// most the first 56 bytes of its body, as OpenFlow 1.3.5 §7.5.4 asks
// ("at least 64 bytes of the failed request").
func BadType(h Header, body []byte) Error {
	if len(body) > 56 {
		body = body[:56]
	}
	data := []byte{h.Version, byte(h.Type), byte(h.Length >> 8), byte(h.Length), byte(h.XID >> 24), byte(h.XID >> 16), byte(h.XID >> 8), byte(h.XID)}
	return Error{Type: ErrTypeBadRequest, Code: ErrCodeBadRequestBadType, Data: append(data, body...)}
}
