package flows

import (
	"encoding/binary"
	"fmt"
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
