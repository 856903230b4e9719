package flows

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// knownFields are the fields set-field and move actions are rendered
// with by name (setfield.go).
var knownFields = []Field{
	FieldInPort, FieldMetadata, FieldEthDst, FieldEthSrc, FieldIPv4Src, FieldIPv4Dst,
	FieldTCPSrc, FieldTCPDst, FieldUDPSrc, FieldUDPDst,
	FieldARPOp, FieldARPSPA, FieldARPTPA, FieldARPSHA, FieldARPTHA,
	FieldReg0, FieldReg1, FieldReg2, FieldReg3, FieldReg4, FieldReg5, FieldReg6, FieldReg7,
}

// fieldByHeader returns the field whose NXM or OXM header (mask bit
// clear) is h.
func fieldByHeader(h uint32) (Field, bool) {
	h &^= 0x100
	for _, f := range knownFields {
		if f.nxm == h || (f.oxm != 0 && f.oxm == h) {
			return f, true
		}
	}
	return Field{}, false
}

// formatSetField renders a raw OFPAT_SET_FIELD action (type, len, OXM
// header, value) as ovs-ofctl does, "set_field" alone for a field
// ovsmesh has no name for.
func formatSetField(a []byte) string {
	if len(a) < 8 {
		return "set_field"
	}
	h := binary.BigEndian.Uint32(a[4:])
	n := int(h & 0xff)
	f, ok := fieldByHeader(h)
	if !ok || n > 8 || 8+n > len(a) || int(f.bits)/8 != n {
		return "set_field"
	}
	var v uint64
	for _, c := range a[8 : 8+n] {
		v = v<<8 | uint64(c)
	}
	switch {
	case f.nxm == FieldMetadata.nxm:
		return SetMetadata{Value: v}.String()
	case f.oxm == 0 && len(f.name) > 3 && f.name[:3] == "reg":
		return SetReg{Reg: uint8(f.nxm >> 9 & 0x7f), Value: uint32(v)}.String()
	}
	return SetField{field: f, value: v}.String()
}

// formatMove renders a raw NXAST_REG_MOVE (n_bits, src_ofs, dst_ofs, src
// and dst headers after the 10-byte Nicira header) as Move.String does.
func formatMove(a []byte) string {
	if len(a) < 24 {
		return "move"
	}
	src, okS := fieldByHeader(binary.BigEndian.Uint32(a[16:]))
	dst, okD := fieldByHeader(binary.BigEndian.Uint32(a[20:]))
	if !okS || !okD {
		return fmt.Sprintf("move(%#x->%#x)", binary.BigEndian.Uint32(a[16:]), binary.BigEndian.Uint32(a[20:]))
	}
	return Move{Src: src, Dst: dst, NBits: binary.BigEndian.Uint16(a[10:]), SrcOfs: binary.BigEndian.Uint16(a[12:]), DstOfs: binary.BigEndian.Uint16(a[14:])}.String()
}

// formatCT renders a raw NXAST_CT (flags, zone_src, zone, recirc_table,
// pad, alg, then at most a nested NXAST_NAT) as CT.String does; "ct"
// alone for what CT does not model (a zone from a field, an ALG, other
// nested actions).
func formatCT(a []byte) string {
	if len(a) < 24 {
		return "ct"
	}
	flags, zoneSrc, zone, table, alg := binary.BigEndian.Uint16(a[10:]), binary.BigEndian.Uint32(a[12:]),
		binary.BigEndian.Uint16(a[16:]), a[18], binary.BigEndian.Uint16(a[22:])
	if zoneSrc != 0 || alg != 0 {
		return "ct"
	}
	ct := CT{Commit: flags&1 != 0, Force: flags&2 != 0, Zone: zone, Recirc: table != ctRecircNone, Table: TableID(table)}
	if nested := a[24:]; len(nested) > 0 {
		n, ok := decodeNAT(nested)
		if !ok {
			return "ct"
		}
		ct.NAT = &n
	}
	return ct.String()
}

// decodeNAT reads one NXAST_NAT (pad, flags, range_present, ranges) that
// fills b.
func decodeNAT(b []byte) (NAT, bool) {
	if len(b) < 16 || binary.BigEndian.Uint16(b) != ofpatExperimenter || int(binary.BigEndian.Uint16(b[2:])) != len(b) ||
		binary.BigEndian.Uint32(b[4:]) != nxVendorID || binary.BigEndian.Uint16(b[8:]) != nxastNAT {
		return NAT{}, false
	}
	flags, present := binary.BigEndian.Uint16(b[12:]), binary.BigEndian.Uint16(b[14:])
	n := NAT{Persistent: flags&4 != 0, Hash: flags&8 != 0, Random: flags&16 != 0}
	switch {
	case flags&1 != 0:
		n.Kind = NATSrc
	case flags&2 != 0:
		n.Kind = NATDst
	}
	r := b[16:]
	take := func(k int) ([]byte, bool) {
		if len(r) < k {
			return nil, false
		}
		v := r[:k]
		r = r[k:]
		return v, true
	}
	if present&^(1|2|16|32) != 0 {
		return NAT{}, false // IPv6 ranges: not modelled
	}
	for _, f := range []struct {
		bit  uint16
		size int
		set  func(v []byte)
	}{
		{1, 4, func(v []byte) { n.AddrMin = netip.AddrFrom4([4]byte(v)) }},
		{2, 4, func(v []byte) { n.AddrMax = netip.AddrFrom4([4]byte(v)) }},
		{16, 2, func(v []byte) { n.PortMin = binary.BigEndian.Uint16(v) }},
		{32, 2, func(v []byte) { n.PortMax = binary.BigEndian.Uint16(v) }},
	} {
		if present&f.bit == 0 {
			continue
		}
		v, ok := take(f.size)
		if !ok {
			return NAT{}, false
		}
		f.set(v)
	}
	return n, true
}
