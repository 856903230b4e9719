package flows

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// OXM is one match field given as its TLV (OpenFlow 1.3.5 §7.2.3.2,
// nicira-ext.h "Flexible flow matching"): a field Match does not model,
// such as a Nicira register or ip_dscp, carried in Match.Extra. Build it
// with MatchIPDSCP, MatchARPTHA or MatchRegBits.
//
// Wire layout: class (2) | field<<1 | hasmask (1) | length (1) | value |
// mask, where length counts the value and the mask.
type OXM struct {
	// Class is the OXM class: 0x8000 OpenFlow basic, 0x0001 Nicira
	// (NXM_NX_*).
	Class uint16
	// Field is the field number within the class.
	Field uint8
	// Value is the field's value, as wide as the field.
	Value []byte
	// Mask, when not nil, is as wide as Value: only its 1 bits are
	// matched.
	Mask []byte
}

// OXM classes ovsmesh reads and writes.
const (
	// OXMClassBasic is OFPXMC_OPENFLOW_BASIC (OpenFlow 1.3.5 §7.2.3.3).
	OXMClassBasic = oxmClassBasic
	// OXMClassNX is OFPXMC_NXM_1, Nicira's own fields (NXM_NX_*):
	// registers, conntrack state, the IP TTL.
	OXMClassNX = nxmClass1
)

// MatchIPDSCP matches the 6-bit IPv4 DSCP (OXM_OF_IP_DSCP, basic field
// 8). It needs EthType EthTypeIPv4 in the same Match. ovs-ofctl prints
// it as nw_tos, the DSCP shifted left by 2: "nw_tos=188" for 47.
func MatchIPDSCP(dscp uint8) OXM {
	return OXM{Class: OXMClassBasic, Field: oxmIPDSCP, Value: []byte{dscp & 0x3f}}
}

// MatchARPTHA matches the ARP target hardware address (OXM_OF_ARP_THA,
// basic field 25). It needs EthType EthTypeARP in the same Match. It
// panics unless mac is 6 bytes.
func MatchARPTHA(mac net.HardwareAddr) OXM {
	if len(mac) != 6 {
		panic(fmt.Sprintf("flows: arp_tha %q is %d bytes, need 6", mac, len(mac)))
	}
	return OXM{Class: OXMClassBasic, Field: oxmARPTHA, Value: append([]byte(nil), mac...)}
}

// MatchRegBits matches the bits of Nicira register reg (NXM_NX_REG0..15,
// class 0x0001, field reg) that mask selects against value:
// "reg7=0/0x4" is MatchRegBits(7, 0, 4). It panics for reg > 15.
func MatchRegBits(reg uint8, value, mask uint32) OXM {
	if reg > 15 {
		panic(fmt.Sprintf("flows: no register reg%d (NXM_NX_REG0..15)", reg))
	}
	return OXM{Class: OXMClassNX, Field: reg,
		Value: binary.BigEndian.AppendUint32(nil, value&mask), Mask: binary.BigEndian.AppendUint32(nil, mask)}
}

// OXM basic field numbers Match does not model (OpenFlow 1.3.5
// §7.2.3.7, enum oxm_ofb_match_fields).
const (
	oxmIPDSCP uint8 = 8
	oxmARPTHA uint8 = 25
)

// appendTo appends the TLV: header, value, then mask.
func (o OXM) appendTo(b []byte) []byte {
	n := len(o.Value)
	f := o.Field << 1
	if o.Mask != nil {
		f |= 1
		n *= 2
	}
	b = binary.BigEndian.AppendUint16(b, o.Class)
	b = append(b, f, byte(n))
	b = append(b, o.Value...)
	return append(b, o.Mask...)
}

// String renders the field as ovs-ofctl prints it ("nw_tos=188",
// "reg7=0/0x4", "arp_tha=0a:55:00:00:7a:ce"), or "oxm(CLASS:FIELD)=HEX"
// for a field ovsmesh has no name for.
func (o OXM) String() string {
	d, ok := fieldDefs[oxmKey{o.Class, o.Field}]
	if !ok || len(o.Value) != d.len || (o.Mask != nil && len(o.Mask) != d.len) {
		s := fmt.Sprintf("oxm(%#04x:%d)=%x", o.Class, o.Field, o.Value)
		if o.Mask != nil {
			s += fmt.Sprintf("/%x", o.Mask)
		}
		return s
	}
	return d.name + "=" + d.format(o.Value, o.Mask)
}

// extraString renders m.Extra for Match.String.
func extraString(extra []OXM) []string {
	var out []string
	for _, o := range extra {
		out = append(out, o.String())
	}
	return out
}

// oxmKey names a field by class and number.
type oxmKey struct {
	class uint16
	field uint8
}

// fieldDef is what ovsmesh knows of one field: its name, width, where a
// packet's value comes from, and how ovs-ofctl prints it.
type fieldDef struct {
	// name is the ovs-ofctl name.
	name string
	// len is the value's width in bytes.
	len int
	// pipeline fields (in_port, metadata, registers, conntrack and tunnel
	// state) come from a packet-in's match and are zero when absent;
	// the others come from the frame's headers and are absent when the
	// frame has no such header.
	pipeline bool
	// print renders a value for String; nil prints hex.
	print func(v []byte) string
}

// format renders v (and mask, when not nil) as ovs-ofctl does.
func (d fieldDef) format(v, mask []byte) string {
	p := d.print
	if p == nil {
		p = hexValue
	}
	if mask == nil {
		return p(v)
	}
	return p(v) + "/" + hexValue(mask)
}

func hexValue(v []byte) string {
	var n uint64
	for _, c := range v {
		n = n<<8 | uint64(c)
	}
	if n == 0 && len(v) <= 8 {
		return "0"
	}
	if len(v) > 8 {
		return fmt.Sprintf("0x%x", v)
	}
	return fmt.Sprintf("%#x", n)
}

func decValue(v []byte) string {
	var n uint64
	for _, c := range v {
		n = n<<8 | uint64(c)
	}
	return fmt.Sprint(n)
}

func macValue(v []byte) string  { return net.HardwareAddr(v).String() }
func ipv4Value(v []byte) string { return netip.AddrFrom4([4]byte(v)).String() }
func portValue(v []byte) string { return PortString(OFPort(binary.BigEndian.Uint32(v))) }
func tosValue(v []byte) string  { return fmt.Sprint(int(v[0]) << 2) }

// fieldDefs lists every field MatchesPacket evaluates, by class and
// number: the OpenFlow basic class (OpenFlow 1.3.5 §7.2.3.7) and the
// Nicira NXM_NX_* class (nicira-ext.h, OVS lib/meta-flow.xml), in the
// forms OVS 3.1 puts into OpenFlow 1.3 flow-stats replies and
// packet-ins.
var fieldDefs = map[oxmKey]fieldDef{
	{oxmClassBasic, oxmInPort}:   {name: "in_port", len: 4, pipeline: true, print: portValue},
	{oxmClassBasic, 1}:           {name: "in_phy_port", len: 4, pipeline: true, print: portValue},
	{oxmClassBasic, oxmMetadata}: {name: "metadata", len: 8, pipeline: true},
	{oxmClassBasic, oxmEthDst}:   {name: "dl_dst", len: 6, print: macValue},
	{oxmClassBasic, oxmEthSrc}:   {name: "dl_src", len: 6, print: macValue},
	{oxmClassBasic, oxmEthType}:  {name: "dl_type", len: 2},
	{oxmClassBasic, 6}:           {name: "vlan_vid", len: 2},
	{oxmClassBasic, 7}:           {name: "vlan_pcp", len: 1, print: decValue},
	{oxmClassBasic, oxmIPDSCP}:   {name: "nw_tos", len: 1, print: tosValue},
	{oxmClassBasic, 9}:           {name: "nw_ecn", len: 1, print: decValue},
	{oxmClassBasic, 10}:          {name: "nw_proto", len: 1, print: decValue},
	{oxmClassBasic, 11}:          {name: "nw_src", len: 4, print: ipv4Value},
	{oxmClassBasic, 12}:          {name: "nw_dst", len: 4, print: ipv4Value},
	{oxmClassBasic, 13}:          {name: "tcp_src", len: 2, print: decValue},
	{oxmClassBasic, 14}:          {name: "tcp_dst", len: 2, print: decValue},
	{oxmClassBasic, 15}:          {name: "udp_src", len: 2, print: decValue},
	{oxmClassBasic, 16}:          {name: "udp_dst", len: 2, print: decValue},
	{oxmClassBasic, 19}:          {name: "icmp_type", len: 1, print: decValue},
	{oxmClassBasic, 20}:          {name: "icmp_code", len: 1, print: decValue},
	{oxmClassBasic, oxmARPOp}:    {name: "arp_op", len: 2, print: decValue},
	{oxmClassBasic, oxmARPSPA}:   {name: "arp_spa", len: 4, print: ipv4Value},
	{oxmClassBasic, oxmARPTPA}:   {name: "arp_tpa", len: 4, print: ipv4Value},
	{oxmClassBasic, oxmARPSHA}:   {name: "arp_sha", len: 6, print: macValue},
	{oxmClassBasic, oxmARPTHA}:   {name: "arp_tha", len: 6, print: macValue},
	{oxmClassBasic, 38}:          {name: "tun_id", len: 8, pipeline: true},

	{nxmClass1, 0}: {name: "reg0", len: 4, pipeline: true}, {nxmClass1, 1}: {name: "reg1", len: 4, pipeline: true},
	{nxmClass1, 2}: {name: "reg2", len: 4, pipeline: true}, {nxmClass1, 3}: {name: "reg3", len: 4, pipeline: true},
	{nxmClass1, 4}: {name: "reg4", len: 4, pipeline: true}, {nxmClass1, 5}: {name: "reg5", len: 4, pipeline: true},
	{nxmClass1, 6}: {name: "reg6", len: 4, pipeline: true}, {nxmClass1, 7}: {name: "reg7", len: 4, pipeline: true},
	{nxmClass1, 8}: {name: "reg8", len: 4, pipeline: true}, {nxmClass1, 9}: {name: "reg9", len: 4, pipeline: true},
	{nxmClass1, 10}: {name: "reg10", len: 4, pipeline: true}, {nxmClass1, 11}: {name: "reg11", len: 4, pipeline: true},
	{nxmClass1, 12}: {name: "reg12", len: 4, pipeline: true}, {nxmClass1, 13}: {name: "reg13", len: 4, pipeline: true},
	{nxmClass1, 14}: {name: "reg14", len: 4, pipeline: true}, {nxmClass1, 15}: {name: "reg15", len: 4, pipeline: true},
	{nxmClass1, 16}:  {name: "tun_id", len: 8, pipeline: true},
	{nxmClass1, 17}:  {name: "arp_sha", len: 6, print: macValue},
	{nxmClass1, 18}:  {name: "arp_tha", len: 6, print: macValue},
	{nxmClass1, 26}:  {name: "nw_frag", len: 1},
	{nxmClass1, 29}:  {name: "nw_ttl", len: 1, print: decValue},
	{nxmClass1, 31}:  {name: "tun_src", len: 4, pipeline: true, print: ipv4Value},
	{nxmClass1, 32}:  {name: "tun_dst", len: 4, pipeline: true, print: ipv4Value},
	{nxmClass1, 33}:  {name: "pkt_mark", len: 4, pipeline: true},
	{nxmClass1, 34}:  {name: "tcp_flags", len: 2},
	{nxmClass1, 105}: {name: "ct_state", len: 4, pipeline: true},
	{nxmClass1, 106}: {name: "ct_zone", len: 2, pipeline: true, print: decValue},
	{nxmClass1, 107}: {name: "ct_mark", len: 4, pipeline: true},
	{nxmClass1, 108}: {name: "ct_label", len: 16, pipeline: true},
}

// fieldName names a field for errors and diffs.
func fieldName(k oxmKey) string {
	if d, ok := fieldDefs[k]; ok {
		return d.name
	}
	return fmt.Sprintf("oxm(%#04x:%d)", k.class, k.field)
}

// RawOXMs returns the OXM TLVs of a match as they are on the wire: what
// FlowStats.RawMatch and PacketIn.RawMatch hold, rendered for logs.
func RawOXMs(b []byte) ([]OXM, error) {
	var out []OXM
	err := eachTLV(b, func(k oxmKey, v, mask []byte) error {
		out = append(out, OXM{Class: k.class, Field: k.field, Value: v, Mask: mask})
		return nil
	})
	return out, err
}

// eachTLV calls fn for every OXM TLV in b (the TLVs of an ofp_match,
// without its header and padding), splitting masked values. It fails on
// a truncated TLV or a masked TLV of odd length. Experimenter TLVs (class
// 0xffff) carry their 4-byte experimenter ID in the value.
func eachTLV(b []byte, fn func(k oxmKey, v, mask []byte) error) error {
	for len(b) > 0 {
		if len(b) < 4 {
			return fmt.Errorf("oxm: truncated header (%d bytes)", len(b))
		}
		class, field, hasMask, n := binary.BigEndian.Uint16(b), b[2]>>1, b[2]&1 == 1, int(b[3])
		if 4+n > len(b) {
			return fmt.Errorf("oxm: field %s length %d overruns the match", fieldName(oxmKey{class, field}), n)
		}
		v := b[4 : 4+n]
		b = b[4+n:]
		var mask []byte
		if hasMask {
			if n%2 != 0 {
				return fmt.Errorf("oxm: masked field %s has odd length %d", fieldName(oxmKey{class, field}), n)
			}
			v, mask = v[:n/2], v[n/2:]
		}
		if err := fn(oxmKey{class, field}, v, mask); err != nil {
			return err
		}
	}
	return nil
}

// joinFields joins rendered fields with commas.
func joinFields(parts []string) string { return strings.Join(parts, ",") }

// oxmTLVs returns the OXM TLVs of the ofp_match at the start of b, which
// decodeMatch has checked: the bytes after its 4-byte header, up to its
// length.
func oxmTLVs(b []byte) []byte {
	return b[4:binary.BigEndian.Uint16(b[2:])]
}

// Unmodelled returns the TLVs of a raw match (FlowStats.RawMatch,
// PacketIn.RawMatch) that Match leaves out when it decodes them
// (registers, conntrack state, ip_dscp...): those that do not come back
// when the decoded Match is encoded again. It returns nil for a
// malformed match.
func Unmodelled(raw []byte) []OXM {
	all, err := RawOXMs(raw)
	if err != nil {
		return nil
	}
	hdr := binary.BigEndian.AppendUint16(nil, 1) // OFPMT_OXM
	hdr = binary.BigEndian.AppendUint16(hdr, uint16(4+len(raw)))
	m, _, err := decodeMatch(appendPad8(append(hdr, raw...), 4+len(raw)))
	if err != nil {
		return nil
	}
	again, err := RawOXMs(oxmTLVs(m.appendTo(nil)))
	if err != nil {
		return nil
	}
	modelled := map[oxmKey]bool{}
	for _, o := range again {
		modelled[oxmKey{o.Class, o.Field}] = true
	}
	var out []OXM
	for _, o := range all {
		if !modelled[oxmKey{o.Class, o.Field}] {
			out = append(out, o)
		}
	}
	return out
}

// MatchString renders a decoded match m and the fields of its raw form
// that m leaves out, as ovs-ofctl would list them: "ip,in_port=3,
// reg7=0/0x4,nw_tos=188".
func MatchString(m Match, raw []byte) string {
	s := m.String()
	for _, o := range Unmodelled(raw) {
		if s != "" {
			s += ","
		}
		s += o.String()
	}
	return s
}
