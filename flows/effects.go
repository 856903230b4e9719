package flows

import (
	"encoding/binary"
	"fmt"
)

// Effects is what a flow's instructions, or a group bucket's actions, do
// with a packet as far as following it goes: where copies of it leave,
// where it goes on, and whether it is changed. DecodeInstructions and
// DecodeActions build it from the wire (a flow-stats entry, a group
// description), for flows ovsmesh did not necessarily write.
type Effects struct {
	// Outputs are the ports of output actions, in order, reserved ports
	// included (PortInPort, PortController, PortLocal, PortTable,
	// PortNormal, PortFlood, PortAll). Nicira controller actions count
	// as PortController.
	Outputs []OFPort
	// Groups are the groups of group actions (OpenFlow 1.3.5 §5.6).
	Groups []GroupID
	// Resubmits are the tables of Nicira resubmit actions: the packet is
	// looked up there and comes back for the actions after.
	Resubmits []TableID
	// Recirculates are the tables where ct actions continue the packet
	// after the connection tracker (nicira-ext.h NXAST_CT recirc_table).
	Recirculates []TableID
	// Goto is the goto-table instruction's table; 0 for none.
	Goto TableID
	// WriteMetadata and WriteMetadataMask are the write-metadata
	// instruction; a zero mask means none.
	WriteMetadata, WriteMetadataMask uint64
	// Rewrites is set when an action changes the packet's headers or
	// pipeline fields (set-field, Nicira load and move, VLAN and MPLS
	// push and pop, TTL changes, ct).
	Rewrites bool
	// Unknown names actions whose effect on the packet's path ovsmesh
	// cannot tell (an output to a port held in a register, learn,
	// bundle, multipath, an unknown experimenter action).
	Unknown []string
}

// Forwards reports whether the packet goes on in this switch: a goto, a
// resubmit or a recirculation.
func (e *Effects) Forwards() bool {
	return e.Goto != 0 || len(e.Resubmits) > 0 || len(e.Recirculates) > 0
}

// Drops reports whether the packet ends here: no output, group,
// continuation, or unknown action.
func (e *Effects) Drops() bool {
	return len(e.Outputs) == 0 && len(e.Groups) == 0 && !e.Forwards() && len(e.Unknown) == 0
}

// DecodeInstructions returns the effects of an OpenFlow 1.3 instruction
// list (OpenFlow 1.3.5 §7.2.4), such as FlowStats.Instructions:
// apply-actions and write-actions (whose actions run at the end of the
// pipeline) alike. It fails on malformed input, naming what is wrong.
func DecodeInstructions(b []byte) (Effects, error) {
	var e Effects
	err := eachElem(b, "instruction", func(typ uint16, tlv []byte) error {
		body := tlv[4:]
		switch typ {
		case 1: // OFPIT_GOTO_TABLE: table_id, 3 pad
			if len(body) < 1 {
				return fmt.Errorf("goto-table of %d bytes", len(tlv))
			}
			e.Goto = TableID(body[0])
		case 2: // OFPIT_WRITE_METADATA: 4 pad, metadata, mask
			if len(body) < 20 {
				return fmt.Errorf("write-metadata of %d bytes", len(tlv))
			}
			e.WriteMetadata, e.WriteMetadataMask = binary.BigEndian.Uint64(body[4:]), binary.BigEndian.Uint64(body[12:])
		case 3, 4: // OFPIT_WRITE_ACTIONS, OFPIT_APPLY_ACTIONS: 4 pad, actions
			if len(body) < 4 {
				return fmt.Errorf("actions instruction of %d bytes", len(tlv))
			}
			return e.addActions(body[4:])
		case 5: // OFPIT_CLEAR_ACTIONS
		case 6: // OFPIT_METER
		default:
			e.Unknown = append(e.Unknown, fmt.Sprintf("instruction(type=%d)", typ))
		}
		return nil
	})
	return e, err
}

// DecodeActions returns the effects of an action list (OpenFlow 1.3.5
// §7.2.5), such as a group bucket's. It fails on malformed input.
func DecodeActions(b []byte) (Effects, error) {
	var e Effects
	err := e.addActions(b)
	return e, err
}

// addActions adds the effects of the actions in b.
func (e *Effects) addActions(b []byte) error {
	return eachElem(b, "action", func(typ uint16, a []byte) error {
		switch typ {
		case 0: // OFPAT_OUTPUT: port u32, max_len u16
			if len(a) < 16 {
				return fmt.Errorf("output action of %d bytes", len(a))
			}
			e.Outputs = append(e.Outputs, OFPort(binary.BigEndian.Uint32(a[4:])))
		case 22: // OFPAT_GROUP
			if len(a) < 8 {
				return fmt.Errorf("group action of %d bytes", len(a))
			}
			e.Groups = append(e.Groups, GroupID(binary.BigEndian.Uint32(a[4:])))
		case 11, 12, 15, 16, 17, 18, 19, 20, 23, 24, 25, 26, 27: // TTL, push, pop, set-field
			e.Rewrites = true
		case 21: // OFPAT_SET_QUEUE
		case ofpatExperimenter:
			return e.addExperimenter(a)
		default:
			e.Unknown = append(e.Unknown, fmt.Sprintf("action(type=%d)", typ))
		}
		return nil
	})
}

// addExperimenter adds the effects of a Nicira action (nicira-ext.h,
// OVS lib/ofp-actions.c); another vendor's action is unknown.
func (e *Effects) addExperimenter(a []byte) error {
	if len(a) < 10 {
		return fmt.Errorf("experimenter action of %d bytes", len(a))
	}
	if vendor := binary.BigEndian.Uint32(a[4:]); vendor != nxVendorID {
		e.Unknown = append(e.Unknown, fmt.Sprintf("experimenter(%#x)", vendor))
		return nil
	}
	sub := binary.BigEndian.Uint16(a[8:])
	need := map[uint16]int{1: 12, 14: 16, 44: 16, 20: 16, 35: 24, 42: 16, 39: 16}[sub]
	if len(a) < need {
		return fmt.Errorf("Nicira action subtype %d of %d bytes", sub, len(a))
	}
	switch sub {
	case 1: // NXAST_RESUBMIT: in_port; the current table
		e.Resubmits = append(e.Resubmits, TableCurrent)
	case nxastResubmitTable, 44: // NXAST_RESUBMIT_TABLE(_CT): in_port, table
		e.Resubmits = append(e.Resubmits, TableID(a[12]))
		e.Rewrites = e.Rewrites || sub == 44
	case 20, 37: // NXAST_CONTROLLER, NXAST_CONTROLLER2
		e.Outputs = append(e.Outputs, PortController)
	case 39: // NXAST_OUTPUT_TRUNC: port u16, max_len u32
		e.Outputs = append(e.Outputs, port32(binary.BigEndian.Uint16(a[10:])))
	case nxastCT: // flags, zone_src, zone, recirc_table, pad, alg, nested actions
		e.Rewrites = true
		if t := a[18]; t != ctRecircNone {
			e.Recirculates = append(e.Recirculates, TableID(t))
		}
	case 42: // NXAST_CLONE: 6 pad, nested actions run on a copy
		return e.addActions(a[16:])
	case 2, 6, 7, 9, 18, 21, 22, 27, 28, 30, 31, 33, 36, 43, 46, 47, 48, 50: // tunnel, move, load, TTL, metadata, stack, MPLS, NAT, ct_clear, encap
		e.Rewrites = true
	case 4, 5, 8, 17, 19, 29, 34, 38, 41, 49, 51, 254, 255: // queue, note, exit, fin_timeout, sample, conjunction, debug
	default: // output_reg, learn, bundle, multipath, check_pkt_larger...
		e.Unknown = append(e.Unknown, fmt.Sprintf("nx(subtype=%d)", sub))
	}
	return nil
}

// port32 maps an OpenFlow 1.0 16-bit port to its 32-bit form: reserved
// ports 0xff00 and up become 0xffffff00 and up.
func port32(p uint16) OFPort {
	if p >= 0xff00 {
		return OFPort(0xffff0000 | uint32(p))
	}
	return OFPort(p)
}

// eachElem calls fn for each TLV (type u16, length u16 counting the
// 4-byte header) of a list, with the element's bytes, header included.
// It fails when an element is shorter than 4 bytes or overruns the list.
func eachElem(b []byte, what string, fn func(typ uint16, tlv []byte) error) error {
	for i := 0; len(b) > 0; i++ {
		if len(b) < 4 {
			return fmt.Errorf("%s %d: %d bytes left, need 4", what, i, len(b))
		}
		typ, n := binary.BigEndian.Uint16(b), int(binary.BigEndian.Uint16(b[2:]))
		if n < 4 || n > len(b) {
			return fmt.Errorf("%s %d (type %d): length %d does not fit in %d bytes", what, i, typ, n, len(b))
		}
		if err := fn(typ, b[:n]); err != nil {
			return fmt.Errorf("%s %d: %w", what, i, err)
		}
		b = b[n:]
	}
	return nil
}
