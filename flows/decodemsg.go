package flows

import (
	"errors"
	"fmt"
)

// BarrierReply is a decoded OFPT_BARRIER_REPLY (OpenFlow 1.3.5 §7.3.8).
type BarrierReply struct{}

// Ignored is a message a switch may send that ovsmesh reads and drops:
// GET_CONFIG, ROLE and GET_ASYNC replies, experimenter messages, and a
// late FEATURES_REPLY.
type Ignored struct {
	// Type is the message type.
	Type MsgType
}

// ErrUnexpectedType is wrapped in Decode's error for a well-formed
// message of a type a switch never sends; the session refuses it with
// BadType and goes on, where a malformed message ends the session.
var ErrUnexpectedType = errors.New("unexpected message type")

// Decode is the one decoder of messages from a switch. It checks the wire
// version (HELLO and ERROR may carry another one) and returns, by type:
//
//	HELLO              Hello{} (after NegotiateHello)
//	ECHO_REQUEST       EchoRequest{Data}
//	ECHO_REPLY         EchoReply{Data}
//	FEATURES_REPLY     Features
//	ERROR              SwitchError
//	PACKET_IN          *PacketIn
//	PORT_STATUS        PortStatus
//	FLOW_REMOVED       *FlowRemoved
//	MULTIPART_REPLY    MultipartReply (a PORT_DESC, FLOW or PORT_STATS body checked)
//	BARRIER_REPLY      BarrierReply{}
//	GET_CONFIG_REPLY, ROLE_REPLY, GET_ASYNC_REPLY, EXPERIMENTER: Ignored
//
// Byte slices in the result alias body. Malformed input is an error
// naming the message type; any other type is an error wrapping
// ErrUnexpectedType.
func Decode(h Header, body []byte) (any, error) {
	if h.Version != Version && h.Type != MsgHello && h.Type != MsgError {
		return nil, fmt.Errorf("%s: wire version %#02x, want 0x04", h.Type, h.Version)
	}
	switch h.Type {
	case MsgHello:
		return Hello{}, NegotiateHello(h, body)
	case MsgEchoRequest:
		return EchoRequest{Data: body}, nil
	case MsgEchoReply:
		return EchoReply{Data: body}, nil
	case MsgBarrierReply:
		return BarrierReply{}, nil
	case MsgPacketIn:
		pi, err := DecodePacketIn(body)
		if err != nil {
			return nil, err
		}
		return &pi, nil
	case MsgPortStatus:
		return DecodePortStatus(body)
	case MsgFeaturesReply:
		return DecodeFeatures(body)
	case MsgError:
		return DecodeError(body)
	case MsgFlowRemoved:
		fr, err := DecodeFlowRemoved(body)
		if err != nil {
			return nil, err
		}
		return &fr, nil
	case MsgMultipartReply:
		mp, err := DecodeMultipartReply(body)
		if err != nil {
			return nil, err
		}
		switch mp.Type {
		case MultipartPortDesc:
			_, err = DecodePortDesc(mp.Body)
		case MultipartFlow:
			_, err = DecodeFlowStats(mp.Body)
		case MultipartMeterConfig:
			_, err = DecodeMeterConfig(mp.Body)
		case MultipartPortStats:
			_, err = DecodePortStats(mp.Body)
		}
		return mp, err
	case MsgGetConfigReply, MsgRoleReply, MsgGetAsyncReply, MsgExperimenter:
		return Ignored{Type: h.Type}, nil
	}
	return nil, fmt.Errorf("%w %s from a switch", ErrUnexpectedType, h.Type)
}
