package flows

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strings"
)

// PacketFields holds a packet's fields as OVS matches them: the header
// fields of its frame, extracted the way OVS's lib/flow.c does, and the
// pipeline fields (in_port, metadata, registers, conntrack and tunnel
// state) a packet-in reports in its match. As in OVS's struct flow,
// every field has a value; a header the frame lacks, or a pipeline field
// the packet-in left out, is zero. OVS refuses flows whose match lacks a
// field's prerequisites (OpenFlow 1.3.5 §7.2.3.6), so zero never makes
// a flow match a packet it should not.
type PacketFields struct {
	vals map[oxmKey][]byte
}

// ErrUnsupportedField is wrapped by Matches when a flow's match holds a
// field ovsmesh cannot evaluate.
var ErrUnsupportedField = errors.New("match field ovsmesh cannot evaluate")

// ParsePacket returns the fields of frame, an Ethernet frame, with the
// pipeline fields of pipeline, the OXM TLVs of a packet-in's match
// (PacketIn.RawMatch; nil for none). A short or malformed frame is not
// an error: like OVS, ParsePacket stops at the first header that does
// not fit and leaves the rest zero. It fails when pipeline is malformed.
func ParsePacket(frame, pipeline []byte) (*PacketFields, error) {
	p := &PacketFields{vals: map[oxmKey][]byte{}}
	p.parseFrame(frame)
	err := eachTLV(pipeline, func(k oxmKey, v, mask []byte) error {
		d, ok := fieldDefs[k]
		if !ok || !d.pipeline || len(v) != d.len {
			return nil // not a pipeline field ovsmesh evaluates
		}
		val := bytes.Clone(v)
		for i := range mask {
			val[i] &= mask[i]
		}
		p.vals[k] = val
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("packet-in match: %w", err)
	}
	return p, nil
}

func (p *PacketFields) set(field uint8, v []byte)   { p.vals[oxmKey{oxmClassBasic, field}] = v }
func (p *PacketFields) setNX(field uint8, v []byte) { p.vals[oxmKey{nxmClass1, field}] = v }

// parseFrame extracts Ethernet (with one 802.1Q tag), ARP, IPv4 and the
// TCP, UDP or ICMP header, as OVS's miniflow_extract does for them.
func (p *PacketFields) parseFrame(b []byte) {
	if len(b) < 14 {
		return
	}
	p.set(oxmEthDst, bytes.Clone(b[0:6]))
	p.set(oxmEthSrc, bytes.Clone(b[6:12]))
	typ, b := binary.BigEndian.Uint16(b[12:]), b[14:]
	if typ == 0x8100 && len(b) >= 4 {
		tci := binary.BigEndian.Uint16(b)
		p.set(6, binary.BigEndian.AppendUint16(nil, 0x1000|tci&0x0fff)) // vlan_vid with OFPVID_PRESENT
		p.set(7, []byte{byte(tci >> 13)})
		typ, b = binary.BigEndian.Uint16(b[2:]), b[4:]
	}
	if typ < 0x600 {
		typ = 0x05ff // an 802.3 length field: OVS's FLOW_DL_TYPE_NONE
	}
	p.set(oxmEthType, binary.BigEndian.AppendUint16(nil, typ))
	switch typ {
	case EthTypeARP, ethTypeRARP:
		p.parseARP(b)
	case EthTypeIPv4:
		p.parseIPv4(b)
	}
}

// parseARP reads an Ethernet/IPv4 ARP header; OVS leaves the fields
// zero unless hrd=1, pro=0x0800, hln=6, pln=4, and keeps only opcodes up
// to 255.
func (p *PacketFields) parseARP(b []byte) {
	if len(b) < 28 || binary.BigEndian.Uint16(b) != 1 || binary.BigEndian.Uint16(b[2:]) != EthTypeIPv4 || b[4] != 6 || b[5] != 4 {
		return
	}
	if op := binary.BigEndian.Uint16(b[6:]); op <= 0xff {
		p.set(oxmARPOp, binary.BigEndian.AppendUint16(nil, op))
	}
	p.set(oxmARPSHA, bytes.Clone(b[8:14]))
	p.set(oxmARPSPA, bytes.Clone(b[14:18]))
	p.set(oxmARPTHA, bytes.Clone(b[18:24]))
	p.set(oxmARPTPA, bytes.Clone(b[24:28]))
	p.setNX(17, bytes.Clone(b[8:14]))
	p.setNX(18, bytes.Clone(b[18:24]))
}

// parseIPv4 reads the IPv4 header and, unless the packet is a later
// fragment, the TCP, UDP or ICMP header after it.
func (p *PacketFields) parseIPv4(b []byte) {
	if len(b) < 20 || b[0]>>4 != 4 {
		return
	}
	ihl := int(b[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(b[2:]))
	if ihl < 20 || ihl > len(b) || total < ihl || total > len(b) {
		return // OVS's ipv4_sanity_check: no L3 fields
	}
	tos, proto := b[1], b[9]
	p.set(oxmIPDSCP, []byte{tos >> 2})
	p.set(9, []byte{tos & 3})
	p.set(10, []byte{proto})
	p.set(11, bytes.Clone(b[12:16]))
	p.set(12, bytes.Clone(b[16:20]))
	p.setNX(29, []byte{b[8]})
	frag := binary.BigEndian.Uint16(b[6:])
	var nwFrag byte
	if frag&0x3fff != 0 {
		nwFrag = 1 // FLOW_NW_FRAG_ANY: MF set or an offset
	}
	if frag&0x1fff != 0 {
		nwFrag |= 2 // FLOW_NW_FRAG_LATER
	}
	p.setNX(26, []byte{nwFrag})
	if nwFrag&2 != 0 {
		return
	}
	// TCP and UDP ports share OVS's tp_src and tp_dst, as do the ICMP
	// type and code: a flow's ip_proto prerequisite tells them apart.
	l4 := b[ihl:total]
	var src, dst []byte
	switch {
	case proto == 6 && len(l4) >= 20:
		src, dst = l4[0:2], l4[2:4]
		p.setNX(34, binary.BigEndian.AppendUint16(nil, binary.BigEndian.Uint16(l4[12:])&0x0fff))
	case proto == 17 && len(l4) >= 8:
		src, dst = l4[0:2], l4[2:4]
	case proto == 1 && len(l4) >= 4:
		src, dst = []byte{0, l4[0]}, []byte{0, l4[1]}
		p.set(19, []byte{l4[0]})
		p.set(20, []byte{l4[1]})
	default:
		return
	}
	p.set(13, bytes.Clone(src))
	p.set(14, bytes.Clone(dst))
	p.set(15, bytes.Clone(src))
	p.set(16, bytes.Clone(dst))
}

// value returns field k's value: the packet's, or zeros.
func (p *PacketFields) value(k oxmKey, d fieldDef) []byte {
	if v, ok := p.vals[k]; ok {
		return v
	}
	switch k {
	case oxmKey{oxmClassBasic, 38}:
		if v, ok := p.vals[oxmKey{nxmClass1, 16}]; ok {
			return v
		}
	case oxmKey{nxmClass1, 16}:
		if v, ok := p.vals[oxmKey{oxmClassBasic, 38}]; ok {
			return v
		}
	}
	return make([]byte, d.len)
}

// Matches reports whether a flow whose match is the OXM TLVs oxms
// (FlowStats.RawMatch) matches the packet: every field's value, under
// its mask, equals the packet's. It fails when oxms is malformed. When
// every field it can evaluate agrees but oxms also holds a field it
// cannot, it returns true with an error wrapping ErrUnsupportedField,
// naming the field: the caller cannot be sure.
func (p *PacketFields) Matches(oxms []byte) (bool, error) {
	var unsupported []string
	match := true
	err := eachTLV(oxms, func(k oxmKey, v, mask []byte) error {
		d, ok := fieldDefs[k]
		if !ok || len(v) != d.len {
			unsupported = append(unsupported, fieldName(k))
			return nil
		}
		pv := p.value(k, d)
		for i := range v {
			m := byte(0xff)
			if mask != nil {
				m = mask[i]
			}
			if pv[i]&m != v[i]&m {
				match = false
			}
		}
		return nil
	})
	switch {
	case err != nil:
		return false, err
	case !match:
		return false, nil
	case len(unsupported) > 0:
		return true, fmt.Errorf("%w: %s", ErrUnsupportedField, strings.Join(unsupported, ", "))
	}
	return true, nil
}

// InPort returns the packet's in_port (from the packet-in's match).
func (p *PacketFields) InPort() OFPort {
	return OFPort(binary.BigEndian.Uint32(p.value(oxmKey{oxmClassBasic, oxmInPort}, fieldDef{len: 4})))
}

// Metadata returns the packet's metadata (OpenFlow 1.3.5 §7.2.3.7
// OXM_OF_METADATA).
func (p *PacketFields) Metadata() uint64 {
	return binary.BigEndian.Uint64(p.value(oxmKey{oxmClassBasic, oxmMetadata}, fieldDef{len: 8}))
}

// Reg returns Nicira register n (NXM_NX_REGn), 0 to 15.
func (p *PacketFields) Reg(n uint8) uint32 {
	return binary.BigEndian.Uint32(p.value(oxmKey{nxmClass1, n}, fieldDef{len: 4}))
}

// CTState returns the packet's conntrack state (NXM_NX_CT_STATE: 0x20
// trk, 0x01 new, 0x02 est...); 0 for an untracked packet.
func (p *PacketFields) CTState() uint32 {
	return binary.BigEndian.Uint32(p.value(oxmKey{nxmClass1, 105}, fieldDef{len: 4}))
}

// EthType returns the Ethernet type (0x05ff for an 802.3 frame).
func (p *PacketFields) EthType() uint16 {
	return binary.BigEndian.Uint16(p.value(oxmKey{oxmClassBasic, oxmEthType}, fieldDef{len: 2}))
}

// FieldChange is one header field whose value differs between two
// packets: a rewrite by some flow between them.
type FieldChange struct {
	// Field is the ovs-ofctl name ("nw_src", "dl_dst").
	Field string `json:"field"`
	// From and To are the values, rendered as ovs-ofctl prints them.
	From string `json:"from"`
	To   string `json:"to"`
}

// String renders the change as "nw_src: 10.0.0.1 -> 192.0.2.1".
func (c FieldChange) String() string { return c.Field + ": " + c.From + " -> " + c.To }

// Diff returns the header fields whose values differ from p to q, by
// name: what flows between the two points rewrote. Pipeline fields are
// left out.
func (p *PacketFields) Diff(q *PacketFields) []FieldChange {
	var out []FieldChange
	seen := map[string]bool{}
	for _, k := range sortedKeys(p.vals, q.vals) {
		d := fieldDefs[k]
		if d.pipeline || seen[d.name] || !q.relevant(k) {
			continue
		}
		a, b := p.value(k, d), q.value(k, d)
		if !bytes.Equal(a, b) {
			seen[d.name] = true
			out = append(out, FieldChange{Field: d.name, From: d.format(a, nil), To: d.format(b, nil)})
		}
	}
	return out
}

// relevant reports whether header field k means something for the
// packet's protocol: TCP and UDP ports share storage (tp_src, tp_dst),
// and only the protocol's own names are reported.
func (p *PacketFields) relevant(k oxmKey) bool {
	proto := p.value(oxmKey{oxmClassBasic, 10}, fieldDef{len: 1})[0]
	switch k {
	case oxmKey{oxmClassBasic, 13}, oxmKey{oxmClassBasic, 14}:
		return proto == 6
	case oxmKey{oxmClassBasic, 15}, oxmKey{oxmClassBasic, 16}:
		return proto == 17
	}
	return true
}

// sortedKeys returns the keys of a and b, ordered by class and field.
func sortedKeys(a, b map[oxmKey][]byte) []oxmKey {
	set := map[oxmKey]bool{}
	for k := range a {
		set[k] = true
	}
	for k := range b {
		set[k] = true
	}
	out := make([]oxmKey, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].class != out[j].class {
			return out[i].class > out[j].class // basic (0x8000) first
		}
		return out[i].field < out[j].field
	})
	return out
}

// FlowString renders the packet's header fields in the flow syntax
// `ovs-appctl ofproto/trace` and ovs-ofctl accept, starting with the
// protocol shorthand: "icmp,dl_src=...,dl_dst=...,nw_src=...,nw_dst=...,
// nw_tos=188,nw_ttl=64,icmp_type=8,icmp_code=0". in_port is left to the
// caller.
func (p *PacketFields) FlowString() string {
	var parts []string
	get := func(field uint8) []byte {
		return p.value(oxmKey{oxmClassBasic, field}, fieldDefs[oxmKey{oxmClassBasic, field}])
	}
	typ := p.EthType()
	proto := get(10)[0]
	switch {
	case typ == EthTypeARP:
		parts = append(parts, "arp")
	case typ == EthTypeIPv4 && proto == 1:
		parts = append(parts, "icmp")
	case typ == EthTypeIPv4 && proto == 6:
		parts = append(parts, "tcp")
	case typ == EthTypeIPv4 && proto == 17:
		parts = append(parts, "udp")
	case typ == EthTypeIPv4:
		parts = append(parts, "ip", "nw_proto="+fmt.Sprint(proto))
	default:
		parts = append(parts, fmt.Sprintf("dl_type=0x%04x", typ))
	}
	parts = append(parts, "dl_src="+net.HardwareAddr(get(oxmEthSrc)).String(), "dl_dst="+net.HardwareAddr(get(oxmEthDst)).String())
	if vid := binary.BigEndian.Uint16(get(6)); vid&0x1000 != 0 {
		parts = append(parts, fmt.Sprintf("dl_vlan=%d,dl_vlan_pcp=%d", vid&0x0fff, get(7)[0]))
	}
	ip4 := func(v []byte) string { return netip.AddrFrom4([4]byte(v)).String() }
	switch typ {
	case EthTypeARP:
		parts = append(parts, "arp_spa="+ip4(get(oxmARPSPA)), "arp_tpa="+ip4(get(oxmARPTPA)),
			fmt.Sprintf("arp_op=%d", binary.BigEndian.Uint16(get(oxmARPOp))),
			"arp_sha="+net.HardwareAddr(get(oxmARPSHA)).String(), "arp_tha="+net.HardwareAddr(get(oxmARPTHA)).String())
	case EthTypeIPv4:
		parts = append(parts, "nw_src="+ip4(get(11)), "nw_dst="+ip4(get(12)),
			fmt.Sprintf("nw_tos=%d,nw_ecn=%d,nw_ttl=%d", int(get(oxmIPDSCP)[0])<<2, get(9)[0], p.value(oxmKey{nxmClass1, 29}, fieldDef{len: 1})[0]))
		switch proto {
		case 1:
			parts = append(parts, fmt.Sprintf("icmp_type=%d,icmp_code=%d", get(19)[0], get(20)[0]))
		case 6:
			parts = append(parts, fmt.Sprintf("tcp_src=%d,tcp_dst=%d", binary.BigEndian.Uint16(get(13)), binary.BigEndian.Uint16(get(14))))
		case 17:
			parts = append(parts, fmt.Sprintf("udp_src=%d,udp_dst=%d", binary.BigEndian.Uint16(get(15)), binary.BigEndian.Uint16(get(16))))
		}
	}
	return joinFields(parts)
}
