package flows

import (
	"encoding/binary"
	"fmt"
	"strconv"

	"github.com/netrack/openflow/ofp"
)

// Reserved port numbers (OpenFlow 1.3.5 §7.2.1, enum ofp_port_no).
const (
	PortInPort     = OFPort(ofp.PortIn)
	PortTable      = OFPort(ofp.PortTable)
	PortNormal     = OFPort(ofp.PortNormal)
	PortFlood      = OFPort(ofp.PortFlood)
	PortAll        = OFPort(ofp.PortAll)
	PortController = OFPort(ofp.PortController)
	PortLocal      = OFPort(ofp.PortLocal)
	PortAny        = OFPort(ofp.PortAny)
	// PortMax is the largest number of a physical or logical port.
	PortMax = OFPort(ofp.PortMax)
)

// MaxLenNoBuffer asks the switch to send the whole packet to the
// controller (OFPCML_NO_BUFFER, OpenFlow 1.3.5 §7.2.5).
const MaxLenNoBuffer = ofp.ContentLenNoBuffer

// PortString renders a port number as ovs-ofctl does: a decimal number,
// or the reserved port's name.
func PortString(p OFPort) string {
	switch p {
	case PortInPort:
		return "IN_PORT"
	case PortTable:
		return "TABLE"
	case PortNormal:
		return "NORMAL"
	case PortFlood:
		return "FLOOD"
	case PortAll:
		return "ALL"
	case PortController:
		return "CONTROLLER"
	case PortLocal:
		return "LOCAL"
	case PortAny:
		return "ANY"
	}
	return strconv.FormatUint(uint64(p), 10)
}

// Action is one OpenFlow action (OpenFlow 1.3.5 §7.2.5) or Nicira
// extension action. String renders ovs-ofctl syntax.
type Action interface {
	appendTo(b []byte) []byte
	String() string
}

// Output is OFPAT_OUTPUT: send the packet to Port. MaxLen is the number
// of bytes sent to the controller when Port is PortController.
type Output struct {
	Port   OFPort
	MaxLen uint16
}

// appendTo appends ofp_action_output: type 0, length 16, port, max_len,
// 6 pad bytes.
func (a Output) appendTo(b []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(ofp.ActionTypeOutput))
	b = binary.BigEndian.AppendUint16(b, 16)
	b = binary.BigEndian.AppendUint32(b, uint32(a.Port))
	b = binary.BigEndian.AppendUint16(b, a.MaxLen)
	return append(b, 0, 0, 0, 0, 0, 0)
}

// String renders the action as ovs-ofctl prints it: "output:3", or the
// reserved port's name ("IN_PORT", "TABLE", "CONTROLLER:65535").
func (a Output) String() string {
	switch a.Port {
	case PortController:
		return fmt.Sprintf("CONTROLLER:%d", a.MaxLen)
	case PortInPort, PortTable, PortNormal, PortFlood, PortAll, PortLocal:
		return PortString(a.Port)
	}
	return "output:" + PortString(a.Port)
}

// ToController is the action that sends whole packets to the controller.
var ToController = Output{Port: PortController, MaxLen: MaxLenNoBuffer}

// Group is OFPAT_GROUP: process the packet through group ID.
type Group struct{ ID GroupID }

// appendTo appends ofp_action_group: type 22, length 8, group_id.
func (a Group) appendTo(b []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(ofp.ActionTypeGroup))
	b = binary.BigEndian.AppendUint16(b, 8)
	return binary.BigEndian.AppendUint32(b, uint32(a.ID))
}

// String renders the action as ovs-ofctl prints it: "group:1".
func (a Group) String() string { return fmt.Sprintf("group:%d", a.ID) }

// appendActions appends each action in order.
func appendActions(b []byte, actions []Action) []byte {
	for _, a := range actions {
		b = a.appendTo(b)
	}
	return b
}

// DecNwTTL is OFPAT_DEC_NW_TTL (OpenFlow 1.3.5 §7.2.5): decrement the
// IPv4 TTL, as a router does. OVS drops a packet whose TTL would reach
// 0 (and sends it to controllers that asked for OFPR_INVALID_TTL
// packet-ins, which ovsmesh does not). ovs-ofctl prints "dec_ttl".
type DecNwTTL struct{}

// ofpatDecNwTTL is the action type OFPAT_DEC_NW_TTL.
const ofpatDecNwTTL uint16 = 24

// appendTo appends ofp_action_generic: type 24, length 8, 4 pad bytes.
func (DecNwTTL) appendTo(b []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, ofpatDecNwTTL)
	b = binary.BigEndian.AppendUint16(b, 8)
	return append(b, 0, 0, 0, 0)
}

// String renders "dec_ttl".
func (DecNwTTL) String() string { return "dec_ttl" }
