package flows

import (
	"encoding/binary"
	"fmt"
)

// SetReg is OFPAT_SET_FIELD (OpenFlow 1.3.5 §7.2.5) of a whole Nicira
// register NXM_NX_REGn, what `ovs-ofctl -O OpenFlow13` sends for
// "set_field:0x5->reg7": OVS accepts the NXM_1-class header (nicira-ext.h)
// in an OpenFlow 1.3 set-field. Packet-outs use it to give a packet the
// pipeline state it needs before a resubmit.
//
// Wire layout, 16 bytes:
//
//	type 25 (2) | len 16 (2) | header 0x0001, n<<1, 4 (4) | value (4) | pad (4)
type SetReg struct {
	// Reg is the register number, 0 to 15.
	Reg uint8
	// Value is the register's new value.
	Value uint32
}

// appendTo appends the set-field action.
func (a SetReg) appendTo(b []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, ofpatSetField)
	b = binary.BigEndian.AppendUint16(b, 16)
	b = binary.BigEndian.AppendUint32(b, tlvHeader(nxmClass1, a.Reg&0x0f, 4))
	b = binary.BigEndian.AppendUint32(b, a.Value)
	return append(b, 0, 0, 0, 0)
}

// String renders "set_field:0x5->reg7" as ovs-ofctl does.
func (a SetReg) String() string {
	return fmt.Sprintf("set_field:%s->reg%d", hexValue(binary.BigEndian.AppendUint32(nil, a.Value)), a.Reg&0x0f)
}

// SetMetadata is OFPAT_SET_FIELD of the whole OXM_OF_METADATA, which OVS
// accepts in an action list ("set_field:0x1->metadata"): a packet-out
// gives a packet the metadata an earlier stage wrote before resubmitting
// it to a later stage.
//
// Wire layout, 16 bytes:
//
//	type 25 (2) | len 16 (2) | header 0x8000, 2<<1, 8 (4) | value (8)
type SetMetadata struct {
	// Value is the new metadata.
	Value uint64
}

// appendTo appends the set-field action.
func (a SetMetadata) appendTo(b []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, ofpatSetField)
	b = binary.BigEndian.AppendUint16(b, 16)
	b = binary.BigEndian.AppendUint32(b, tlvHeader(oxmClassBasic, oxmMetadata, 8))
	return binary.BigEndian.AppendUint64(b, a.Value)
}

// String renders "set_field:0x1->metadata" as ovs-ofctl does.
func (a SetMetadata) String() string {
	return "set_field:" + hexValue(binary.BigEndian.AppendUint64(nil, a.Value)) + "->metadata"
}
