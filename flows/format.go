package flows

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// FormatInstructions renders a raw OpenFlow 1.3 instruction list
// (OpenFlow 1.3.5 §7.2.4), such as FlowStats.Instructions, in
// ovs-ofctl-like text, best effort: goto, write-metadata, apply/write/clear
// actions, output, group and Nicira resubmit are spelled out as
// Flow.String spells them; other actions appear by type number.
// Malformed input ends the text with "...(malformed)".
func FormatInstructions(b []byte) string {
	var parts []string
	for len(b) > 0 {
		if len(b) < 4 {
			return strings.Join(append(parts, "...(malformed)"), ",")
		}
		typ, n := binary.BigEndian.Uint16(b), int(binary.BigEndian.Uint16(b[2:]))
		if n < 4 || n > len(b) {
			return strings.Join(append(parts, "...(malformed)"), ",")
		}
		body := b[4:n]
		b = b[n:]
		switch typ {
		case 1: // OFPIT_GOTO_TABLE
			if len(body) >= 1 {
				parts = append(parts, fmt.Sprintf("goto_table:%d", body[0]))
			}
		case 3, 4: // OFPIT_WRITE_ACTIONS, OFPIT_APPLY_ACTIONS: 4 pad, actions
			if len(body) < 4 {
				return strings.Join(append(parts, "...(malformed)"), ",")
			}
			acts := formatActions(body[4:])
			if typ == 3 {
				acts = "write_actions(" + acts + ")"
			}
			if acts != "" {
				parts = append(parts, acts)
			}
		case 2: // OFPIT_WRITE_METADATA: 4 pad, metadata, mask
			if len(body) < 20 {
				return strings.Join(append(parts, "...(malformed)"), ",")
			}
			parts = append(parts, writeMetadataString(binary.BigEndian.Uint64(body[4:]), binary.BigEndian.Uint64(body[12:])))
		case 5:
			parts = append(parts, "clear_actions")
		default:
			parts = append(parts, fmt.Sprintf("instruction(type=%d)", typ))
		}
	}
	if len(parts) == 0 {
		return "drop"
	}
	return strings.Join(parts, ",")
}

// formatActions renders a raw action list (OpenFlow 1.3.5 §7.2.5).
func formatActions(b []byte) string {
	var parts []string
	for len(b) > 0 {
		if len(b) < 4 {
			return strings.Join(append(parts, "...(malformed)"), ",")
		}
		typ, n := binary.BigEndian.Uint16(b), int(binary.BigEndian.Uint16(b[2:]))
		if n < 4 || n > len(b) {
			return strings.Join(append(parts, "...(malformed)"), ",")
		}
		a := b[:n]
		b = b[n:]
		switch {
		case typ == 0 && n >= 10: // OFPAT_OUTPUT: port u32, max_len u16
			parts = append(parts, Output{Port: binary.BigEndian.Uint32(a[4:]), MaxLen: binary.BigEndian.Uint16(a[8:])}.String())
		case typ == 22 && n >= 8: // OFPAT_GROUP
			parts = append(parts, fmt.Sprintf("group:%d", binary.BigEndian.Uint32(a[4:])))
		case typ == 25: // OFPAT_SET_FIELD
			parts = append(parts, "set_field")
		case typ == 0xffff && n >= 10: // experimenter: vendor u32, subtype u16
			vendor, sub := binary.BigEndian.Uint32(a[4:]), binary.BigEndian.Uint16(a[8:])
			if vendor == 0x00002320 && sub == 1 && n >= 12 { // NXAST_RESUBMIT
				parts = append(parts, fmt.Sprintf("resubmit:%s", PortString(uint32(binary.BigEndian.Uint16(a[10:])))))
				continue
			}
			if vendor == 0x00002320 && sub == 14 && n >= 13 { // NXAST_RESUBMIT_TABLE
				in := uint32(binary.BigEndian.Uint16(a[10:]))
				port := ""
				if in != 0xfff8 { // OFPP_IN_PORT in 16 bits: the default
					port = PortString(in)
				}
				parts = append(parts, fmt.Sprintf("resubmit(%s,%d)", port, a[12]))
				continue
			}
			parts = append(parts, fmt.Sprintf("nx(subtype=%d)", sub))
		default:
			parts = append(parts, fmt.Sprintf("action(type=%d)", typ))
		}
	}
	return strings.Join(parts, ",")
}
