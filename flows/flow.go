package flows

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/netrack/openflow/ofp"
)

// Flow is one flow entry as a value.
type Flow struct {
	// Table is the table the entry lives in.
	Table TableID
	// Priority orders overlapping entries; higher wins.
	Priority uint16
	// Cookie names the owner app and generation (see Cookie).
	Cookie Cookie
	// IdleTimeout and HardTimeout are in seconds; 0 means none.
	IdleTimeout, HardTimeout uint16
	// SendFlowRem asks for a FLOW_REMOVED message when the entry expires
	// or is deleted (OFPFF_SEND_FLOW_REM).
	SendFlowRem bool
	// Match selects packets; its zero value matches everything.
	Match Match
	// Actions is the apply-actions instruction; empty with no Goto means
	// drop.
	Actions []Action
	// WriteMetadata and WriteMetadataMask are the write-metadata
	// instruction; a zero mask means none.
	WriteMetadata, WriteMetadataMask uint64
	// Goto is the goto-table instruction; 0 means none (a goto never
	// targets table 0, OpenFlow 1.3.5 §5.1).
	Goto TableID
}

// appendInstructions appends the flow's instructions in the order OpenFlow
// executes them: apply-actions, write-metadata, goto-table
// (OpenFlow 1.3.5 §7.2.4).
func (f *Flow) appendInstructions(b []byte) []byte {
	if len(f.Actions) > 0 {
		start := len(b)
		b = binary.BigEndian.AppendUint16(b, uint16(ofp.InstructionTypeApplyActions))
		b = append(b, 0, 0, 0, 0, 0, 0) // length placeholder, 4 pad bytes
		b = appendActions(b, f.Actions)
		binary.BigEndian.PutUint16(b[start+2:], uint16(len(b)-start))
	}
	if f.WriteMetadataMask != 0 {
		b = binary.BigEndian.AppendUint16(b, uint16(ofp.InstructionTypeWriteMetadata))
		b = binary.BigEndian.AppendUint16(b, 24)
		b = append(b, 0, 0, 0, 0)
		b = binary.BigEndian.AppendUint64(b, f.WriteMetadata&f.WriteMetadataMask)
		b = binary.BigEndian.AppendUint64(b, f.WriteMetadataMask)
	}
	if f.Goto != 0 {
		b = binary.BigEndian.AppendUint16(b, uint16(ofp.InstructionTypeGotoTable))
		b = binary.BigEndian.AppendUint16(b, 8)
		b = append(b, byte(f.Goto), 0, 0, 0)
	}
	return b
}

// String renders the flow as `ovs-ofctl -O OpenFlow13 dump-flows` prints
// it, without the statistics fields (duration, n_packets, n_bytes):
//
//	cookie=0x1, table=0, idle_timeout=300, send_flow_rem priority=200,in_port=1 actions=goto_table:1
func (f Flow) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "cookie=%s, table=%d, ", f.Cookie, f.Table)
	if f.IdleTimeout != 0 {
		fmt.Fprintf(&b, "idle_timeout=%d, ", f.IdleTimeout)
	}
	if f.HardTimeout != 0 {
		fmt.Fprintf(&b, "hard_timeout=%d, ", f.HardTimeout)
	}
	if f.SendFlowRem {
		b.WriteString("send_flow_rem ")
	}
	// Like ovs-ofctl, leave out the default priority; with an empty match
	// too, "actions=" follows the last ", " or "send_flow_rem " directly.
	var m []string
	if f.Priority != defaultPriority {
		m = append(m, fmt.Sprintf("priority=%d", f.Priority))
	}
	if s := f.Match.String(); s != "" {
		m = append(m, s)
	}
	if len(m) > 0 {
		b.WriteString(strings.Join(m, ",") + " ")
	}
	b.WriteString("actions=" + f.actionsString())
	return b.String()
}

// defaultPriority is OFP_DEFAULT_PRIORITY, which ovs-ofctl does not print.
const defaultPriority = 0x8000

func (f *Flow) actionsString() string {
	var parts []string
	for _, a := range f.Actions {
		parts = append(parts, a.String())
	}
	if f.WriteMetadataMask != 0 {
		parts = append(parts, writeMetadataString(f.WriteMetadata, f.WriteMetadataMask))
	}
	if f.Goto != 0 {
		parts = append(parts, fmt.Sprintf("goto_table:%d", f.Goto))
	}
	if len(parts) == 0 {
		return "drop"
	}
	return strings.Join(parts, ",")
}

// writeMetadataString renders a write-metadata instruction as ovs-ofctl
// does, leaving out an all-ones mask.
func writeMetadataString(value, mask uint64) string {
	if mask == ^uint64(0) {
		return fmt.Sprintf("write_metadata:%#x", value)
	}
	return fmt.Sprintf("write_metadata:%#x/%#x", value&mask, mask)
}
