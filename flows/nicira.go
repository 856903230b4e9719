package flows

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"net/netip"
	"strings"
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
	// nxastRegLoad is NXAST_REG_LOAD (struct nx_action_reg_load).
	nxastRegLoad uint16 = 7
	// nxastRegMove is NXAST_REG_MOVE (struct nx_action_reg_move).
	nxastRegMove uint16 = 6
	// nxastResubmitTable is NXAST_RESUBMIT_TABLE (struct nx_action_resubmit).
	nxastResubmitTable uint16 = 14
	// nxastCT is NXAST_CT (struct nx_action_conntrack).
	nxastCT uint16 = 35
	// nxastNAT is NXAST_NAT (struct nx_action_nat).
	nxastNAT uint16 = 36
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
	InPort OFPort
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
func (a Resubmit) inPort() OFPort {
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

// CT is NXAST_CT: send the packet through the connection tracker in
// Zone, optionally committing the connection and applying NAT; with
// Recirc, a copy of the packet then continues in Table with ct_state
// and the other ct_* fields set (the action list after ct goes on with
// the original packet).
//
// Wire layout (nicira-ext.h struct nx_action_conntrack), 24 bytes plus
// the nested actions (here at most one nx_action_nat):
//
//	type 0xffff (2) | len (2) | vendor 0x00002320 (4) | subtype 35 (2)
//	flags (2) | zone_src 0 (4) | zone_imm (2) | recirc_table (1) | pad (3) | alg 0 (2)
//	nested actions
//
// flags are NX_CT_F_COMMIT (1) and NX_CT_F_FORCE (2); zone_src 0 means
// zone_imm holds the zone itself; recirc_table 255 means none. OVS
// rejects ct unless the match is on IPv4 or IPv6.
//
// ovs-ofctl prints "ct(commit,zone=5,nat(src=10.0.0.1))" or
// "ct(table=3,zone=5,nat)": commit, force, table, zone (when not 0),
// then nat. Zones taken from a field and ALG helpers are not modelled.
type CT struct {
	// Commit commits the connection to the tracker (NX_CT_F_COMMIT).
	Commit bool
	// Force, with Commit, ends an existing connection in the opposite
	// direction and commits this one (NX_CT_F_FORCE).
	Force bool
	// Zone is the conntrack zone; 0 is the default zone.
	Zone uint16
	// Recirc sends the tracked packet to Table.
	Recirc bool
	// Table is the table the packet continues in when Recirc is set.
	Table TableID
	// NAT, when not nil, applies network address translation.
	NAT *NAT
}

// ctRecircNone is NX_CT_RECIRC_NONE: no recirculation.
const ctRecircNone = 0xff

// appendTo appends nx_action_conntrack and its nested nat action.
func (a CT) appendTo(b []byte) []byte {
	start := len(b)
	b = appendNXHeader(b, 0, nxastCT)
	var flags uint16
	if a.Commit {
		flags |= 1
	}
	if a.Force {
		flags |= 2
	}
	b = binary.BigEndian.AppendUint16(b, flags)
	b = binary.BigEndian.AppendUint32(b, 0) // zone_src: immediate zone
	b = binary.BigEndian.AppendUint16(b, a.Zone)
	table := byte(ctRecircNone)
	if a.Recirc {
		table = byte(a.Table)
	}
	b = append(b, table, 0, 0, 0)
	b = binary.BigEndian.AppendUint16(b, 0) // alg: none
	if a.NAT != nil {
		b = a.NAT.appendTo(b)
	}
	binary.BigEndian.PutUint16(b[start+2:], uint16(len(b)-start))
	return b
}

// String renders the ct action as OVS's format_CT does.
func (a CT) String() string {
	var parts []string
	if a.Commit {
		parts = append(parts, "commit")
	}
	if a.Force {
		parts = append(parts, "force")
	}
	if a.Recirc {
		parts = append(parts, fmt.Sprintf("table=%d", uint8(a.Table)))
	}
	if a.Zone != 0 {
		parts = append(parts, fmt.Sprintf("zone=%d", a.Zone))
	}
	if a.NAT != nil {
		parts = append(parts, a.NAT.String())
	}
	return "ct(" + strings.Join(parts, ",") + ")"
}

// NATKind says which address NAT rewrites.
type NATKind uint8

// NAT kinds.
const (
	// NATExisting applies the NAT already set up for the connection
	// ("nat" with no arguments): the reverse translation on replies and
	// the same translation on later packets.
	NATExisting NATKind = iota
	// NATSrc rewrites the source address and port (SNAT, NX_NAT_F_SRC).
	NATSrc
	// NATDst rewrites the destination address and port (DNAT, NX_NAT_F_DST).
	NATDst
)

// NAT is NXAST_NAT, valid only inside CT. With NATSrc or NATDst the
// translated address is picked from AddrMin..AddrMax (AddrMax unset:
// AddrMin alone) and the port from PortMin..PortMax (PortMin 0: the
// packet's port kept when possible; ports are sent only with an
// address, as OVS does). Only IPv4 ranges are modelled.
//
// Wire layout (nicira-ext.h struct nx_action_nat), 16 bytes plus the
// range fields range_present names, padded to 8:
//
//	type 0xffff (2) | len (2) | vendor 0x00002320 (4) | subtype 36 (2)
//	pad (2) | flags (2) | range_present (2)
//	[ipv4 min (4)] [ipv4 max (4)] [proto min (2)] [proto max (2)] | pad
//
// flags: NX_NAT_F_SRC 1, _DST 2, _PERSISTENT 4, _PROTO_HASH 8,
// _PROTO_RANDOM 16. range_present: NX_NAT_RANGE_IPV4_MIN 1, _IPV4_MAX 2,
// _PROTO_MIN 16, _PROTO_MAX 32. As OVS, a range field is sent when it
// is set (non-zero), and only with NATSrc or NATDst and an address.
//
// ovs-ofctl prints "nat", "nat(src=10.0.0.1)" or
// "nat(dst=10.0.0.2-10.0.0.9:80-90,random)".
type NAT struct {
	Kind             NATKind
	AddrMin, AddrMax netip.Addr
	PortMin, PortMax uint16
	// Persistent keeps the mapping across restarts of the translation
	// for the same addresses (NX_NAT_F_PERSISTENT).
	Persistent bool
	// Hash picks the port by hash (NX_NAT_F_PROTO_HASH); Random picks it
	// at random (NX_NAT_F_PROTO_RANDOM).
	Hash, Random bool
}

// appendTo appends nx_action_nat.
func (n NAT) appendTo(b []byte) []byte {
	start := len(b)
	b = appendNXHeader(b, 0, nxastNAT)
	b = append(b, 0, 0) // pad
	var flags, present uint16
	switch n.Kind {
	case NATSrc:
		flags |= 1
	case NATDst:
		flags |= 2
	}
	if n.Persistent {
		flags |= 4
	}
	if n.Hash {
		flags |= 8
	}
	if n.Random {
		flags |= 16
	}
	b = binary.BigEndian.AppendUint16(b, flags)
	presentAt := len(b)
	b = append(b, 0, 0)
	if lo, hi, ok := n.addrs(); ok {
		b = append(b, lo.AsSlice()...)
		present |= 1
		if hi.IsValid() {
			b = append(b, hi.AsSlice()...)
			present |= 2
		}
		if n.PortMin != 0 {
			b = binary.BigEndian.AppendUint16(b, n.PortMin)
			present |= 16
		}
		if n.PortMax != 0 {
			b = binary.BigEndian.AppendUint16(b, n.PortMax)
			present |= 32
		}
	}
	binary.BigEndian.PutUint16(b[presentAt:], present)
	b = appendPad8(b, len(b)-start)
	binary.BigEndian.PutUint16(b[start+2:], uint16(len(b)-start))
	return b
}

// addrs returns the IPv4 range to send: ok when the kind is NATSrc or
// NATDst and AddrMin is a non-zero IPv4 address, hi invalid unless
// AddrMax is one too. As OVS, ports travel only with an address.
func (n NAT) addrs() (lo, hi netip.Addr, ok bool) {
	lo, hi = n.AddrMin.Unmap(), n.AddrMax.Unmap()
	if n.Kind == NATExisting || !lo.Is4() || lo.IsUnspecified() {
		return netip.Addr{}, netip.Addr{}, false
	}
	if !hi.Is4() || hi.IsUnspecified() {
		hi = netip.Addr{}
	}
	return lo, hi, true
}

// String renders the nat action as OVS's format_NAT does.
func (n NAT) String() string {
	if n.Kind == NATExisting {
		return "nat"
	}
	s := "nat(src"
	if n.Kind == NATDst {
		s = "nat(dst"
	}
	if lo, hi, ok := n.addrs(); ok {
		s += "=" + lo.String()
		if hi.IsValid() && hi != lo {
			s += "-" + hi.String()
		}
		if n.PortMin != 0 {
			s += fmt.Sprintf(":%d", n.PortMin)
			if n.PortMax != 0 && n.PortMax != n.PortMin {
				s += fmt.Sprintf("-%d", n.PortMax)
			}
		}
	}
	if n.Persistent {
		s += ",persistent"
	}
	if n.Hash {
		s += ",hash"
	}
	if n.Random {
		s += ",random"
	}
	return s + ")"
}

// Load is NXAST_REG_LOAD: write Value into NBits bits of Dst starting
// at bit Ofs (bit 0 is the least significant); Value must fit in NBits.
// It is how OVS writes part of a field in OpenFlow 1.3, where set_field
// has no mask: `set_field:0/0x1->metadata` goes on the wire as
// "load:0->OXM_OF_METADATA[0]".
//
// Wire layout (nicira-ext.h struct nx_action_reg_load), 24 bytes:
//
//	type 0xffff (2) | len 24 (2) | vendor 0x00002320 (4) | subtype 7 (2)
//	ofs_nbits (2): ofs << 6 | (n_bits - 1) | dst header (4) | value (8)
//
// ovs-ofctl prints "load:0->OXM_OF_METADATA[0]" (value in hex with 0x
// unless 0, then the subfield as Move does).
type Load struct {
	Dst        Field
	Ofs, NBits uint16
	Value      uint64
}

// appendTo appends nx_action_reg_load.
func (a Load) appendTo(b []byte) []byte {
	b = appendNXHeader(b, 24, nxastRegLoad)
	b = binary.BigEndian.AppendUint16(b, a.Ofs<<6|(a.NBits-1))
	b = binary.BigEndian.AppendUint32(b, a.Dst.nxm)
	return binary.BigEndian.AppendUint64(b, a.Value)
}

// String renders "load:VALUE->DST[..]" as ovs-ofctl does.
func (a Load) String() string {
	v := "0"
	if a.Value != 0 {
		v = fmt.Sprintf("%#x", a.Value)
	}
	return "load:" + v + "->" + subfield(a.Dst, a.Ofs, a.NBits)
}

// ClearMetadata returns the load of 0 into the metadata bits of mask, a
// single run of set bits (MetaFromTunnel, say): an action that forgets
// what earlier stages wrote there. It panics if mask is 0 or not one run.
func ClearMetadata(mask uint64) Load {
	ofs := uint16(bits.TrailingZeros64(mask))
	n := uint16(bits.OnesCount64(mask))
	if mask == 0 || mask>>ofs != 1<<n-1 {
		panic(fmt.Sprintf("flows: ClearMetadata(%#x): want one run of set bits", mask))
	}
	return Load{Dst: FieldMetadata, Ofs: ofs, NBits: n}
}
