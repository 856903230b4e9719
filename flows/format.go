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
	s := formatList(b, func(typ uint16, tlv []byte) (string, bool) {
		body := tlv[4:]
		switch typ {
		case 1: // OFPIT_GOTO_TABLE
			if len(body) >= 1 {
				return fmt.Sprintf("goto_table:%d", body[0]), true
			}
			return "", true
		case 3, 4: // OFPIT_WRITE_ACTIONS, OFPIT_APPLY_ACTIONS: 4 pad, actions
			if len(body) < 4 {
				return "", false
			}
			acts := formatList(body[4:], formatAction)
			if typ == 3 {
				acts = "write_actions(" + acts + ")"
			}
			return acts, true
		case 2: // OFPIT_WRITE_METADATA: 4 pad, metadata, mask
			if len(body) < 20 {
				return "", false
			}
			return writeMetadataString(binary.BigEndian.Uint64(body[4:]), binary.BigEndian.Uint64(body[12:])), true
		case 5:
			return "clear_actions", true
		}
		return fmt.Sprintf("instruction(type=%d)", typ), true
	})
	if s == "" {
		return "drop"
	}
	return s
}

// formatList renders a list of OpenFlow TLVs (type u16, then length u16
// counting the 4-byte header), one element at a time with one, joined by
// commas. one gets the element's type and its bytes (header included) and
// returns its text ("" for none) and false when the element is malformed;
// a malformed element or list ends the text with "...(malformed)".
func formatList(b []byte, one func(typ uint16, tlv []byte) (string, bool)) string {
	var parts []string
	for len(b) > 0 {
		if len(b) < 4 {
			return strings.Join(append(parts, "...(malformed)"), ",")
		}
		typ, n := binary.BigEndian.Uint16(b), int(binary.BigEndian.Uint16(b[2:]))
		if n < 4 || n > len(b) {
			return strings.Join(append(parts, "...(malformed)"), ",")
		}
		s, ok := one(typ, b[:n])
		if !ok {
			return strings.Join(append(parts, "...(malformed)"), ",")
		}
		if s != "" {
			parts = append(parts, s)
		}
		b = b[n:]
	}
	return strings.Join(parts, ",")
}

// formatAction renders one raw action a of type typ (OpenFlow 1.3.5
// §7.2.5) for formatList.
func formatAction(typ uint16, a []byte) (string, bool) {
	n := len(a)
	switch {
	case typ == 0 && n >= 10: // OFPAT_OUTPUT: port u32, max_len u16
		return Output{Port: OFPort(binary.BigEndian.Uint32(a[4:])), MaxLen: binary.BigEndian.Uint16(a[8:])}.String(), true
	case typ == ofpatDecNwTTL:
		return DecNwTTL{}.String(), true
	case typ == 22 && n >= 8: // OFPAT_GROUP
		return fmt.Sprintf("group:%d", binary.BigEndian.Uint32(a[4:])), true
	case typ == 25: // OFPAT_SET_FIELD
		return formatSetField(a), true
	case typ == 0xffff && n >= 10: // experimenter: vendor u32, subtype u16
		vendor, sub := binary.BigEndian.Uint32(a[4:]), binary.BigEndian.Uint16(a[8:])
		if vendor == 0x00002320 && sub == 1 && n >= 12 { // NXAST_RESUBMIT
			return fmt.Sprintf("resubmit:%s", PortString(OFPort(binary.BigEndian.Uint16(a[10:])))), true
		}
		if vendor == 0x00002320 && sub == nxastRegMove {
			return formatMove(a), true
		}
		if vendor == 0x00002320 && sub == nxastCT {
			return formatCT(a), true
		}
		if vendor == 0x00002320 && sub == 14 && n >= 13 { // NXAST_RESUBMIT_TABLE
			in := OFPort(binary.BigEndian.Uint16(a[10:]))
			port := ""
			if in != 0xfff8 { // OFPP_IN_PORT in 16 bits: the default
				port = PortString(in)
			}
			return fmt.Sprintf("resubmit(%s,%d)", port, a[12]), true
		}
		return fmt.Sprintf("nx(subtype=%d)", sub), true
	}
	return fmt.Sprintf("action(type=%d)", typ), true
}
