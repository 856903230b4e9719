package flows

import (
	"fmt"
	"strings"
)

// String renders the flow-mod in ovs-ofctl-like syntax: "add " and the
// flow for adds, the selection for deletes.
func (m FlowMod) String() string {
	switch m.Command {
	case FlowAdd:
		return "add " + m.Flow.String()
	case FlowModify:
		return "modify " + m.Flow.String()
	}
	var sel []string
	if m.Flow.Table == TableAll {
		sel = append(sel, "table=all")
	} else {
		sel = append(sel, fmt.Sprintf("table=%d", m.Flow.Table))
	}
	if m.CookieMask != 0 {
		sel = append(sel, fmt.Sprintf("cookie=%s/%s", m.Flow.Cookie, m.CookieMask))
	}
	if m.Command == FlowDeleteStrict {
		sel = append(sel, fmt.Sprintf("priority=%d", m.Flow.Priority))
	}
	if s := m.Flow.Match.String(); s != "" {
		sel = append(sel, s)
	}
	if m.OutPort != 0 {
		sel = append(sel, "out_port="+PortString(m.OutPort))
	}
	verb := "delete"
	if m.Command == FlowDeleteStrict {
		verb = "delete_strict"
	}
	return verb + " " + strings.Join(sel, ",")
}

// String renders the group-mod as `ovs-ofctl dump-groups` prints a group.
func (m GroupMod) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "group_mod command=%#x group_id=%d,type=all", uint16(m.Command), m.ID)
	for _, actions := range m.Buckets {
		b.WriteString(",bucket=actions=" + actionsString(actions))
	}
	return b.String()
}

// String renders the packet-out's in_port, actions and data length.
func (m PacketOut) String() string {
	return fmt.Sprintf("packet_out in_port=%s actions=%s data_len=%d", PortString(m.InPort), actionsString(m.Actions), len(m.Data))
}

// String names the barrier.
func (BarrierRequest) String() string { return "barrier" }

func actionsString(actions []Action) string {
	if len(actions) == 0 {
		return "drop"
	}
	parts := make([]string, len(actions))
	for i, a := range actions {
		parts[i] = a.String()
	}
	return strings.Join(parts, ",")
}
