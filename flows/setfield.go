package flows

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
)

// Field is a packet or pipeline field that [SetField] writes and [Move]
// copies. Its zero value names no field; use the Field* variables.
//
// A field carries the two 32-bit TLV headers OVS uses for it
// (nicira-ext.h "Flexible flow matching", OpenFlow 1.3.5 §7.2.3.2):
// the NXM header (class 0x0000 NXM_OF_* or 0x0001 NXM_NX_*) that OVS
// writes into nx_action_reg_move, or the OXM header when the field has
// no NXM form (OXM_OF_METADATA); and the OXM basic-class header
// (class 0x8000) that OFPAT_SET_FIELD carries. A header is
// class<<16 | field<<9 | hasmask<<8 | length.
type Field struct {
	// name is the ovs-ofctl name set_field prints ("eth_src").
	name string
	// nxmName is the name move prints ("NXM_OF_ETH_SRC").
	nxmName string
	// nxm is the header nx_action_reg_move carries.
	nxm uint32
	// oxm is the OXM_OF_* header OFPAT_SET_FIELD carries; 0 if the
	// field has none in OpenFlow 1.3.
	oxm uint32
	// bits is the field's width.
	bits uint16
	// format renders a value for set_field.
	format fieldFormat
}

// fieldFormat says how ovs-ofctl prints a field's value.
type fieldFormat uint8

const (
	formatDecimal fieldFormat = iota
	formatMAC
	formatIPv4
)

// tlvHeader builds an NXM/OXM header without mask: class, field<<1,
// length in bytes.
func tlvHeader(class uint16, field uint8, length uint8) uint32 {
	return uint32(class)<<16 | uint32(field)<<9 | uint32(length)
}

// ofpatSetField is the action type OFPAT_SET_FIELD (OpenFlow 1.3.5
// §7.2.5, enum ofp_action_type).
const ofpatSetField uint16 = 25

// Fields. The NXM and OXM numbers are from nicira-ext.h and OVS's
// lib/meta-flow.xml; the OXM basic numbers from OpenFlow 1.3.5 §7.2.3.7
// (enum oxm_ofb_match_fields).
var (
	// FieldInPort is the 16-bit NXM_OF_IN_PORT (OVS's in_port; reserved
	// ports in their 16-bit form, IN_PORT = 0xfff8). Move only.
	FieldInPort = Field{name: "in_port", nxmName: "NXM_OF_IN_PORT", nxm: tlvHeader(nxmClass0, 0, 2), bits: 16}
	// FieldMetadata is the 64-bit OXM_OF_METADATA (no NXM form). Move only.
	FieldMetadata = Field{name: "metadata", nxmName: "OXM_OF_METADATA", nxm: tlvHeader(oxmClassBasic, 2, 8), oxm: tlvHeader(oxmClassBasic, 2, 8), bits: 64}
	// FieldEthDst is NXM_OF_ETH_DST / OXM_OF_ETH_DST (OXM field 3).
	FieldEthDst = Field{name: "eth_dst", nxmName: "NXM_OF_ETH_DST", nxm: tlvHeader(nxmClass0, 1, 6), oxm: tlvHeader(oxmClassBasic, 3, 6), bits: 48, format: formatMAC}
	// FieldEthSrc is NXM_OF_ETH_SRC / OXM_OF_ETH_SRC (OXM field 4).
	FieldEthSrc = Field{name: "eth_src", nxmName: "NXM_OF_ETH_SRC", nxm: tlvHeader(nxmClass0, 2, 6), oxm: tlvHeader(oxmClassBasic, 4, 6), bits: 48, format: formatMAC}
	// FieldIPv4Src is NXM_OF_IP_SRC / OXM_OF_IPV4_SRC (OXM field 11),
	// which ovs-ofctl names ip_src.
	FieldIPv4Src = Field{name: "ip_src", nxmName: "NXM_OF_IP_SRC", nxm: tlvHeader(nxmClass0, 7, 4), oxm: tlvHeader(oxmClassBasic, 11, 4), bits: 32, format: formatIPv4}
	// FieldIPv4Dst is NXM_OF_IP_DST / OXM_OF_IPV4_DST (OXM field 12),
	// which ovs-ofctl names ip_dst.
	FieldIPv4Dst = Field{name: "ip_dst", nxmName: "NXM_OF_IP_DST", nxm: tlvHeader(nxmClass0, 8, 4), oxm: tlvHeader(oxmClassBasic, 12, 4), bits: 32, format: formatIPv4}
	// FieldTCPSrc is NXM_OF_TCP_SRC / OXM_OF_TCP_SRC (OXM field 13).
	FieldTCPSrc = Field{name: "tcp_src", nxmName: "NXM_OF_TCP_SRC", nxm: tlvHeader(nxmClass0, 9, 2), oxm: tlvHeader(oxmClassBasic, 13, 2), bits: 16}
	// FieldTCPDst is NXM_OF_TCP_DST / OXM_OF_TCP_DST (OXM field 14).
	FieldTCPDst = Field{name: "tcp_dst", nxmName: "NXM_OF_TCP_DST", nxm: tlvHeader(nxmClass0, 10, 2), oxm: tlvHeader(oxmClassBasic, 14, 2), bits: 16}
	// FieldUDPSrc is NXM_OF_UDP_SRC / OXM_OF_UDP_SRC (OXM field 15).
	FieldUDPSrc = Field{name: "udp_src", nxmName: "NXM_OF_UDP_SRC", nxm: tlvHeader(nxmClass0, 11, 2), oxm: tlvHeader(oxmClassBasic, 15, 2), bits: 16}
	// FieldUDPDst is NXM_OF_UDP_DST / OXM_OF_UDP_DST (OXM field 16).
	FieldUDPDst = Field{name: "udp_dst", nxmName: "NXM_OF_UDP_DST", nxm: tlvHeader(nxmClass0, 12, 2), oxm: tlvHeader(oxmClassBasic, 16, 2), bits: 16}
	// FieldARPOp is NXM_OF_ARP_OP / OXM_OF_ARP_OP (OXM field 21).
	FieldARPOp = Field{name: "arp_op", nxmName: "NXM_OF_ARP_OP", nxm: tlvHeader(nxmClass0, 15, 2), oxm: tlvHeader(oxmClassBasic, 21, 2), bits: 16}
	// FieldARPSPA is NXM_OF_ARP_SPA / OXM_OF_ARP_SPA (OXM field 22).
	FieldARPSPA = Field{name: "arp_spa", nxmName: "NXM_OF_ARP_SPA", nxm: tlvHeader(nxmClass0, 16, 4), oxm: tlvHeader(oxmClassBasic, 22, 4), bits: 32, format: formatIPv4}
	// FieldARPTPA is NXM_OF_ARP_TPA / OXM_OF_ARP_TPA (OXM field 23).
	FieldARPTPA = Field{name: "arp_tpa", nxmName: "NXM_OF_ARP_TPA", nxm: tlvHeader(nxmClass0, 17, 4), oxm: tlvHeader(oxmClassBasic, 23, 4), bits: 32, format: formatIPv4}
	// FieldARPSHA is NXM_NX_ARP_SHA / OXM_OF_ARP_SHA (OXM field 24).
	FieldARPSHA = Field{name: "arp_sha", nxmName: "NXM_NX_ARP_SHA", nxm: tlvHeader(nxmClass1, 17, 6), oxm: tlvHeader(oxmClassBasic, 24, 6), bits: 48, format: formatMAC}
	// FieldARPTHA is NXM_NX_ARP_THA / OXM_OF_ARP_THA (OXM field 25).
	FieldARPTHA = Field{name: "arp_tha", nxmName: "NXM_NX_ARP_THA", nxm: tlvHeader(nxmClass1, 18, 6), oxm: tlvHeader(oxmClassBasic, 25, 6), bits: 48, format: formatMAC}

	// FieldReg0 to FieldReg7 are the 32-bit Nicira registers
	// NXM_NX_REG0..7 (class 0x0001, field n). Move only.
	FieldReg0 = regField(0)
	// FieldReg1 is NXM_NX_REG1; see FieldReg0.
	FieldReg1 = regField(1)
	// FieldReg2 is NXM_NX_REG2; see FieldReg0.
	FieldReg2 = regField(2)
	// FieldReg3 is NXM_NX_REG3; see FieldReg0.
	FieldReg3 = regField(3)
	// FieldReg4 is NXM_NX_REG4; see FieldReg0.
	FieldReg4 = regField(4)
	// FieldReg5 is NXM_NX_REG5; see FieldReg0.
	FieldReg5 = regField(5)
	// FieldReg6 is NXM_NX_REG6; see FieldReg0.
	FieldReg6 = regField(6)
	// FieldReg7 is NXM_NX_REG7; see FieldReg0.
	FieldReg7 = regField(7)
)

// regField returns NXM_NX_REGn.
func regField(n uint8) Field {
	return Field{
		name:    fmt.Sprintf("reg%d", n),
		nxmName: fmt.Sprintf("NXM_NX_REG%d", n),
		nxm:     tlvHeader(nxmClass1, n, 4),
		bits:    32,
	}
}

// Name is the field's ovs-ofctl name, as set_field prints it ("eth_src",
// "ip_src", "reg0").
func (f Field) Name() string { return f.name }

// Bits is the field's width in bits.
func (f Field) Bits() uint16 { return f.bits }

// String is the NXM (or, without one, OXM) name move prints:
// "NXM_OF_ETH_SRC", "NXM_NX_REG0", "OXM_OF_METADATA".
func (f Field) String() string { return f.nxmName }

// SetField is OFPAT_SET_FIELD (OpenFlow 1.3.5 §7.2.5, struct
// ofp_action_set_field): it overwrites a whole header field. Build it with
// SetEthSrc, SetARPOp and the other Set* functions.
//
// Wire layout, 16 bytes for every field ovsmesh sets:
//
//	type 25 (2) | len 16 (2) | OXM header (4) | value (field width) | zero pad to 8
//
// ovs-ofctl prints it as "set_field:VALUE->NAME", for example
// "set_field:02:00:00:00:00:05->eth_src" or "set_field:2->arp_op". OVS
// rejects the flow (OFPBAC_MATCH_INCONSISTENT) unless the match meets the
// field's prerequisites: arp for arp_*, ip for ip_*, tcp or udp for ports.
type SetField struct {
	field Field
	// value holds the field's bits right-aligned; every settable field
	// is at most 48 bits wide.
	value uint64
}

// Field returns the field the action writes.
func (a SetField) Field() Field { return a.field }

// appendTo appends ofp_action_set_field: type, length, OXM TLV, padding.
func (a SetField) appendTo(b []byte) []byte {
	n := int(a.field.bits / 8)
	length := 4 + 4 + n
	padded := (length + 7) / 8 * 8
	b = binary.BigEndian.AppendUint16(b, ofpatSetField)
	b = binary.BigEndian.AppendUint16(b, uint16(padded))
	b = binary.BigEndian.AppendUint32(b, a.field.oxm)
	var v [8]byte
	binary.BigEndian.PutUint64(v[:], a.value)
	b = append(b, v[8-n:]...)
	return append(b, make([]byte, padded-length)...)
}

// String renders "set_field:VALUE->NAME" as ovs-ofctl does.
func (a SetField) String() string {
	var v string
	switch a.field.format {
	case formatMAC:
		var m [8]byte
		binary.BigEndian.PutUint64(m[:], a.value)
		v = net.HardwareAddr(m[2:]).String()
	case formatIPv4:
		v = netip.AddrFrom4([4]byte(binary.BigEndian.AppendUint32(nil, uint32(a.value)))).String()
	default:
		v = fmt.Sprint(a.value)
	}
	return "set_field:" + v + "->" + a.field.name
}

// setMAC builds a set_field of a 48-bit field. It panics unless mac is
// 6 bytes long: a MAC of another length is a programming error, as in
// Match, whose encoder also slices six bytes.
func setMAC(f Field, mac net.HardwareAddr) SetField {
	if len(mac) != 6 {
		panic(fmt.Sprintf("flows: set_field %s: MAC %q is %d bytes, need 6", f.name, mac, len(mac)))
	}
	var v [8]byte
	copy(v[2:], mac)
	return SetField{field: f, value: binary.BigEndian.Uint64(v[:])}
}

// setIPv4 builds a set_field of a 32-bit address field. It panics unless
// ip is an IPv4 (or IPv4-mapped IPv6) address.
func setIPv4(f Field, ip netip.Addr) SetField {
	ip = ip.Unmap()
	if !ip.Is4() {
		panic(fmt.Sprintf("flows: set_field %s: %v is not an IPv4 address", f.name, ip))
	}
	return SetField{field: f, value: uint64(binary.BigEndian.Uint32(ip.AsSlice()))}
}

// SetEthSrc sets the Ethernet source (OXM_OF_ETH_SRC):
// "set_field:02:00:00:00:00:05->eth_src". It panics unless mac is 6 bytes.
func SetEthSrc(mac net.HardwareAddr) SetField { return setMAC(FieldEthSrc, mac) }

// SetEthDst sets the Ethernet destination (OXM_OF_ETH_DST):
// "set_field:02:00:00:00:00:05->eth_dst". It panics unless mac is 6 bytes.
func SetEthDst(mac net.HardwareAddr) SetField { return setMAC(FieldEthDst, mac) }

// SetARPOp sets the ARP opcode (OXM_OF_ARP_OP; 1 request, 2 reply):
// "set_field:2->arp_op".
func SetARPOp(op uint16) SetField { return SetField{field: FieldARPOp, value: uint64(op)} }

// SetARPSPA sets the ARP sender protocol address (OXM_OF_ARP_SPA):
// "set_field:10.0.0.5->arp_spa". It panics unless ip is IPv4.
func SetARPSPA(ip netip.Addr) SetField { return setIPv4(FieldARPSPA, ip) }

// SetARPTPA sets the ARP target protocol address (OXM_OF_ARP_TPA):
// "set_field:10.0.0.5->arp_tpa". It panics unless ip is IPv4.
func SetARPTPA(ip netip.Addr) SetField { return setIPv4(FieldARPTPA, ip) }

// SetARPSHA sets the ARP sender hardware address (OXM_OF_ARP_SHA):
// "set_field:02:00:00:00:00:05->arp_sha". It panics unless mac is 6 bytes.
func SetARPSHA(mac net.HardwareAddr) SetField { return setMAC(FieldARPSHA, mac) }

// SetARPTHA sets the ARP target hardware address (OXM_OF_ARP_THA):
// "set_field:02:00:00:00:00:05->arp_tha". It panics unless mac is 6 bytes.
func SetARPTHA(mac net.HardwareAddr) SetField { return setMAC(FieldARPTHA, mac) }

// SetIPv4Src sets the IPv4 source (OXM_OF_IPV4_SRC), printed with OVS's
// name: "set_field:10.0.0.1->ip_src". It panics unless ip is IPv4.
func SetIPv4Src(ip netip.Addr) SetField { return setIPv4(FieldIPv4Src, ip) }

// SetIPv4Dst sets the IPv4 destination (OXM_OF_IPV4_DST):
// "set_field:10.0.0.1->ip_dst". It panics unless ip is IPv4.
func SetIPv4Dst(ip netip.Addr) SetField { return setIPv4(FieldIPv4Dst, ip) }

// fieldInPortSet is in_port as OVS writes it with set_field in
// OpenFlow 1.3: the 16-bit NXM_OF_IN_PORT header (class 0x0000) in
// place of an OXM (OpenFlow forbids setting OXM_OF_IN_PORT, and OVS
// refuses it with OFPBAC_BAD_SET_ARGUMENT; ovs-fields(7) lists in_port
// as writable).
var fieldInPortSet = Field{name: "in_port", nxmName: "NXM_OF_IN_PORT", oxm: tlvHeader(nxmClass0, 0, 2), bits: 16}

// ClearInPort sets in_port to 0, no port: "set_field:0->in_port". A
// packet may then be output to the port it came in on, which OVS never
// does otherwise (OpenFlow 1.3.5 §7.2.1 wants output:IN_PORT for that):
// the NAT gateway sends a routed packet back into the tunnel it came
// from when its destination lives on the host it came from.
func ClearInPort() SetField { return SetField{field: fieldInPortSet} }

// SetTCPSrc sets the TCP source port (OXM_OF_TCP_SRC):
// "set_field:80->tcp_src".
func SetTCPSrc(port uint16) SetField { return SetField{field: FieldTCPSrc, value: uint64(port)} }

// SetTCPDst sets the TCP destination port (OXM_OF_TCP_DST):
// "set_field:443->tcp_dst".
func SetTCPDst(port uint16) SetField { return SetField{field: FieldTCPDst, value: uint64(port)} }

// SetUDPSrc sets the UDP source port (OXM_OF_UDP_SRC):
// "set_field:53->udp_src".
func SetUDPSrc(port uint16) SetField { return SetField{field: FieldUDPSrc, value: uint64(port)} }

// SetUDPDst sets the UDP destination port (OXM_OF_UDP_DST):
// "set_field:53->udp_dst".
func SetUDPDst(port uint16) SetField { return SetField{field: FieldUDPDst, value: uint64(port)} }
