package flows

import (
	"encoding/binary"

	"github.com/netrack/openflow/ofp"
)

// FlowModCommand is ofp_flow_mod_command (OpenFlow 1.3.5 §7.3.4.1).
type FlowModCommand uint8

// Flow-mod commands.
const (
	FlowAdd          = FlowModCommand(ofp.FlowAdd)
	FlowModify       = FlowModCommand(ofp.FlowModify)
	FlowDelete       = FlowModCommand(ofp.FlowDelete)
	FlowDeleteStrict = FlowModCommand(ofp.FlowDeleteStrict)
)

// FlowMod is OFPT_FLOW_MOD. For adds, Flow is the entry. For deletes,
// Flow.Table (or TableAll), Flow.Match, Flow.Priority (strict only) and
// CookieMask select entries: those whose cookie equals Flow.Cookie under
// CookieMask, and, when OutPort is not 0, that output to OutPort.
type FlowMod struct {
	Command FlowModCommand
	Flow    Flow
	// CookieMask restricts deletes and modifies by cookie.
	CookieMask Cookie
	// OutPort restricts deletes to entries that output to it; 0 means
	// any (sent as OFPP_ANY).
	OutPort OFPort
}

// AddFlow returns the flow-mod that adds f, replacing any entry with the
// same table, priority and match (OpenFlow 1.3.5 §6.4).
func AddFlow(f Flow) FlowMod { return FlowMod{Command: FlowAdd, Flow: f} }

// DeleteByCookie returns the flow-mod that deletes, in every table, all
// entries whose cookie equals c under mask.
func DeleteByCookie(c, mask Cookie) FlowMod {
	return FlowMod{Command: FlowDelete, Flow: Flow{Table: TableAll, Cookie: c}, CookieMask: mask}
}

// DeleteStrict returns the flow-mod that deletes exactly the entry with
// f's table, priority and match.
func DeleteStrict(f Flow) FlowMod {
	return FlowMod{Command: FlowDeleteStrict, Flow: Flow{Table: f.Table, Priority: f.Priority, Match: f.Match}}
}

// MsgType implements Message.
func (FlowMod) MsgType() MsgType { return MsgFlowMod }

// appendBody appends ofp_flow_mod after the header: cookie, cookie_mask,
// table_id, command, idle_timeout, hard_timeout, priority, buffer_id
// (NO_BUFFER), out_port, out_group (ANY), flags, 2 pad, match,
// instructions.
func (m FlowMod) appendBody(b []byte) []byte {
	f := &m.Flow
	b = binary.BigEndian.AppendUint64(b, uint64(f.Cookie))
	b = binary.BigEndian.AppendUint64(b, uint64(m.CookieMask))
	b = append(b, byte(f.Table), byte(m.Command))
	b = binary.BigEndian.AppendUint16(b, f.IdleTimeout)
	b = binary.BigEndian.AppendUint16(b, f.HardTimeout)
	b = binary.BigEndian.AppendUint16(b, f.Priority)
	b = binary.BigEndian.AppendUint32(b, ofp.NoBuffer)
	out := m.OutPort
	if out == 0 {
		out = PortAny
	}
	b = binary.BigEndian.AppendUint32(b, uint32(out))
	b = binary.BigEndian.AppendUint32(b, uint32(ofp.GroupAny))
	var flags uint16
	if f.SendFlowRem {
		flags |= uint16(ofp.FlowFlagSendFlowRem)
	}
	b = binary.BigEndian.AppendUint16(b, flags)
	b = append(b, 0, 0)
	b = f.Match.appendTo(b)
	if m.Command == FlowAdd || m.Command == FlowModify {
		b = f.appendInstructions(b)
	}
	return b
}

// PacketOut is OFPT_PACKET_OUT (OpenFlow 1.3.5 §7.3.7). OVS never
// buffers, so Data always carries the whole packet.
type PacketOut struct {
	// InPort is the packet's ingress port (PortController if none); with
	// Output{Port: PortTable} the pipeline sees this in_port.
	InPort  OFPort
	Actions []Action
	Data    []byte
}

// MsgType implements Message.
func (PacketOut) MsgType() MsgType { return MsgPacketOut }

// appendBody appends buffer_id (NO_BUFFER), in_port, actions_len, 6 pad,
// actions, data.
func (m PacketOut) appendBody(b []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, ofp.NoBuffer)
	b = binary.BigEndian.AppendUint32(b, uint32(m.InPort))
	lenAt := len(b)
	b = append(b, 0, 0, 0, 0, 0, 0, 0, 0)
	b = appendActions(b, m.Actions)
	binary.BigEndian.PutUint16(b[lenAt:], uint16(len(b)-lenAt-8))
	return append(b, m.Data...)
}

// GroupModCommand is ofp_group_mod_command (OpenFlow 1.3.5 §7.3.4.2).
type GroupModCommand uint16

// Group-mod commands. GroupAddOrModify is the Open vSwitch extension
// OFPGC11_ADD_OR_MOD (0x8000, what `ovs-ofctl mod-group --may-create`
// sends): it creates the group or replaces its buckets, so replaying a
// group on reconnect is idempotent and never deletes the flows that use it.
const (
	GroupAdd         GroupModCommand = 0
	GroupModify      GroupModCommand = 1
	GroupDelete      GroupModCommand = 2
	GroupAddOrModify GroupModCommand = 0x8000
)

// GroupMod is OFPT_GROUP_MOD for a group of type ALL whose buckets each
// hold one action list.
type GroupMod struct {
	Command GroupModCommand
	ID      GroupID
	// Buckets holds one action list per bucket; each copy of the packet
	// runs one list.
	Buckets [][]Action
}

// MsgType implements Message.
func (GroupMod) MsgType() MsgType { return MsgGroupMod }

// appendBody appends command, type ALL, 1 pad, group_id, then each
// ofp_bucket: len, weight 0, watch_port ANY, watch_group ANY, 4 pad,
// actions.
func (m GroupMod) appendBody(b []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(m.Command))
	b = append(b, byte(ofp.GroupTypeAll), 0)
	b = binary.BigEndian.AppendUint32(b, uint32(m.ID))
	for _, actions := range m.Buckets {
		start := len(b)
		b = append(b, 0, 0, 0, 0)
		b = binary.BigEndian.AppendUint32(b, uint32(PortAny))
		b = binary.BigEndian.AppendUint32(b, uint32(ofp.GroupAny))
		b = append(b, 0, 0, 0, 0)
		b = appendActions(b, actions)
		binary.BigEndian.PutUint16(b[start:], uint16(len(b)-start))
	}
	return b
}
