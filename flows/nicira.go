package flows

import (
	"encoding/binary"
	"fmt"
)

// Nicira extension actions (OVS include/openflow/nicira-ext.h,
// lib/ofp-actions.c). Each is an OpenFlow experimenter action
// (OFPAT_EXPERIMENTER, OpenFlow 1.3.5 §7.2.5.12) whose body starts:
//
//	type 0xffff (2) | len (2) | vendor NX_VENDOR_ID 0x00002320 (4) | subtype (2)
//
// and is padded to a multiple of 8 bytes.
const (
	ofpatExperimenter uint16 = 0xffff
	// nxVendorID is NX_VENDOR_ID, the Nicira experimenter ID.
	nxVendorID uint32 = 0x00002320
	// nxastRegMove is NXAST_REG_MOVE (struct nx_action_reg_move).
	nxastRegMove uint16 = 6
	// nxastResubmitTable is NXAST_RESUBMIT_TABLE (struct nx_action_resubmit).
	nxastResubmitTable uint16 = 14
)

// NXM header classes (nicira-ext.h "Flexible flow matching").
const (
	// nxmClass0 is NXM_OF_*: the fields OpenFlow 1.0 matched.
	nxmClass0 uint16 = 0x0000
	// nxmClass1 is NXM_NX_*: Nicira's own fields (registers, ARP SHA/THA).
	nxmClass1 uint16 = 0x0001
)

// appendNXHeader appends the 10 bytes every Nicira action starts with.
func appendNXHeader(b []byte, length, subtype uint16) []byte {
	b = binary.BigEndian.AppendUint16(b, ofpatExperimenter)
	b = binary.BigEndian.AppendUint16(b, length)
	b = binary.BigEndian.AppendUint32(b, nxVendorID)
	return binary.BigEndian.AppendUint16(b, subtype)
}

// Move is NXAST_REG_MOVE: copy NBits bits from Src starting at bit
// SrcOfs to Dst starting at bit DstOfs (bit 0 is the least significant).
// OVS rejects the flow unless both ranges lie inside their fields and the
// match meets both fields' prerequisites. MoveField builds the common
// whole-field move.
//
// Wire layout (nicira-ext.h struct nx_action_reg_move), 24 bytes:
//
//	type 0xffff (2) | len 24 (2) | vendor 0x00002320 (4) | subtype 6 (2)
//	n_bits (2) | src_ofs (2) | dst_ofs (2) | src header (4) | dst header (4)
//
// The headers are the fields' NXM headers (OXM for fields without one),
// as `ovs-ofctl -O OpenFlow13` writes them. ovs-ofctl prints
// "move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[]", with "[]" for a whole field,
// "[n]" for one bit and "[lo..hi]" otherwise.
type Move struct {
	Src, Dst       Field
	NBits          uint16
	SrcOfs, DstOfs uint16
}

// MoveField returns the move of the whole of src into the whole of dst:
// "move:NXM_NX_ARP_SHA[]->NXM_NX_ARP_THA[]". It panics if the fields
// differ in width (ovs-ofctl refuses such a move); use a Move literal to
// move part of a field.
func MoveField(src, dst Field) Move {
	if src.bits != dst.bits {
		panic(fmt.Sprintf("flows: move %s[]->%s[]: source is %d bits wide, destination %d", src, dst, src.bits, dst.bits))
	}
	return Move{Src: src, Dst: dst, NBits: src.bits}
}

// appendTo appends nx_action_reg_move.
func (a Move) appendTo(b []byte) []byte {
	b = appendNXHeader(b, 24, nxastRegMove)
	b = binary.BigEndian.AppendUint16(b, a.NBits)
	b = binary.BigEndian.AppendUint16(b, a.SrcOfs)
	b = binary.BigEndian.AppendUint16(b, a.DstOfs)
	b = binary.BigEndian.AppendUint32(b, a.Src.nxm)
	return binary.BigEndian.AppendUint32(b, a.Dst.nxm)
}

// String renders "move:SRC[..]->DST[..]" as ovs-ofctl does.
func (a Move) String() string {
	return "move:" + subfield(a.Src, a.SrcOfs, a.NBits) + "->" + subfield(a.Dst, a.DstOfs, a.NBits)
}

// subfield renders a bit range of f as OVS's mf_format_subfield does.
func subfield(f Field, ofs, n uint16) string {
	switch {
	case ofs == 0 && n == f.bits:
		return f.nxmName + "[]"
	case n == 1:
		return fmt.Sprintf("%s[%d]", f.nxmName, ofs)
	}
	return fmt.Sprintf("%s[%d..%d]", f.nxmName, ofs, int(ofs)+int(n)-1)
}

// TableCurrent, as Resubmit.Table, resubmits to the table the packet is
// in (255 in nx_action_resubmit).
const TableCurrent TableID = 0xff

// Resubmit is NXAST_RESUBMIT_TABLE: look the packet up again in Table as
// if it had arrived on InPort, run the matching entry's actions, then go
// on with the actions after this one. InPort 0 or PortInPort keeps the
// packet's in_port; Table TableCurrent keeps its table.
//
// Wire layout (nicira-ext.h struct nx_action_resubmit), 16 bytes:
//
//	type 0xffff (2) | len 16 (2) | vendor 0x00002320 (4) | subtype 14 (2)
//	in_port (2) | table (1) | pad (3)
//
// in_port is a 16-bit OpenFlow 1.0 port: reserved ports 0xffffff00 and
// up are sent as 0xff00 and up (IN_PORT 0xfff8), as OVS maps them; other
// ports must be below 0xff00 and are otherwise sent as 0xffff (OFPP_NONE),
// which OVS refuses. OVS 3.1 writes subtype 14 even for table 255.
//
// ovs-ofctl prints "resubmit(,5)", "resubmit(1,5)" or, with TableCurrent,
// "resubmit:1".
type Resubmit struct {
	InPort uint32
	Table  TableID
}

// port16 maps the 32-bit port to its 16-bit form.
func (a Resubmit) port16() uint16 {
	switch p := a.inPort(); {
	case p >= 0xffffff00:
		return uint16(p)
	case p < 0xff00:
		return uint16(p)
	}
	return 0xffff
}

// inPort returns InPort with 0 meaning PortInPort.
func (a Resubmit) inPort() uint32 {
	if a.InPort == 0 {
		return PortInPort
	}
	return a.InPort
}

// appendTo appends nx_action_resubmit with subtype NXAST_RESUBMIT_TABLE.
func (a Resubmit) appendTo(b []byte) []byte {
	b = appendNXHeader(b, 16, nxastResubmitTable)
	b = binary.BigEndian.AppendUint16(b, a.port16())
	return append(b, byte(a.Table), 0, 0, 0)
}

// String renders the resubmit as OVS's format_RESUBMIT does.
func (a Resubmit) String() string {
	p := a.inPort()
	if p != PortInPort && a.Table == TableCurrent {
		return "resubmit:" + PortString(p)
	}
	s := "resubmit("
	if p != PortInPort {
		s += PortString(p)
	}
	s += ","
	if a.Table != TableCurrent {
		s += fmt.Sprint(uint8(a.Table))
	}
	return s + ")"
}
