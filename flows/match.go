package flows

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"net"
	"net/netip"
	"strings"

	"github.com/netrack/openflow/ofp"
)

// EthTypeARP and EthTypeIPv4 are the Ethernet types ovsmesh matches.
const (
	EthTypeARP  uint16 = 0x0806
	EthTypeIPv4 uint16 = 0x0800
	// ethTypeIPv6 and ethTypeRARP only have ovs-ofctl shorthands.
	ethTypeIPv6 uint16 = 0x86dd
	ethTypeRARP uint16 = 0x8035
)

// Match is an OpenFlow 1.3 OXM match (OpenFlow 1.3.5 §7.2.3). The zero
// value of every field is a wildcard.
type Match struct {
	// InPort is OXM_OF_IN_PORT; 0 is wildcard.
	InPort OFPort
	// Metadata and MetadataMask are OXM_OF_METADATA; a zero mask is
	// wildcard.
	Metadata, MetadataMask uint64
	// EthSrc and EthDst are OXM_OF_ETH_SRC/DST; nil is wildcard.
	EthSrc, EthDst net.HardwareAddr
	// EthType is OXM_OF_ETH_TYPE; 0 is wildcard.
	EthType uint16
	// ARPOp is OXM_OF_ARP_OP (1 request, 2 reply; RFC 826); 0 is wildcard.
	// Needs EthType EthTypeARP.
	ARPOp uint16
	// ARPSPA and ARPTPA are OXM_OF_ARP_SPA/TPA; the zero Addr is wildcard.
	ARPSPA, ARPTPA netip.Addr
	// ARPSHA is OXM_OF_ARP_SHA, the ARP sender hardware address; nil is
	// wildcard. Needs EthType EthTypeARP.
	ARPSHA net.HardwareAddr
	// IPProto is OXM_OF_IP_PROTO (IPProtoICMP, IPProtoTCP, IPProtoUDP);
	// 0 is wildcard. Needs EthType EthTypeIPv4.
	IPProto uint8
	// IPv4Src and IPv4Dst are OXM_OF_IPV4_SRC/DST: an address (a /32) or
	// a CIDR prefix, sent with its mask; the zero Prefix is wildcard.
	// Needs EthType EthTypeIPv4.
	IPv4Src, IPv4Dst netip.Prefix
	// TPSrc and TPDst are the transport ports, OXM_OF_TCP_SRC/DST or
	// OXM_OF_UDP_SRC/DST as IPProto says; 0 is wildcard. Need IPProto
	// IPProtoTCP or IPProtoUDP.
	TPSrc, TPDst uint16
	// CTState and CTStateMask are NXM_NX_CT_STATE (nicira-ext.h; the
	// CT* bits): the connection tracker's verdict after a ct action
	// with recirculation. A bit set in the mask must equal the bit in
	// CTState; a zero mask is wildcard. Build them with CTMatch.
	CTState, CTStateMask uint32
	// Extra holds fields Match does not model (flows/oxm.go), encoded
	// after the others in order; nil is none. Decoding leaves them out.
	Extra []OXM
}

// IP protocol numbers (IANA) ovsmesh matches.
const (
	IPProtoICMP uint8 = 1
	IPProtoTCP  uint8 = 6
	IPProtoUDP  uint8 = 17
)

// Connection tracking state bits of NXM_NX_CT_STATE (nicira-ext.h,
// enum ovs_cs_state; OVS's ovs-fields(7) "ct_state").
const (
	// CTNew: the start of a new connection (not yet committed).
	CTNew uint32 = 1 << iota
	// CTEst: part of an existing, committed connection.
	CTEst
	// CTRel: related to an existing connection (an ICMP error, say).
	CTRel
	// CTRpl: in the reply direction of the connection.
	CTRpl
	// CTInv: invalid: the tracker could not make sense of it.
	CTInv
	// CTTrk: the packet went through the connection tracker.
	CTTrk
	// CTSNAT: source NAT was applied.
	CTSNAT
	// CTDNAT: destination NAT was applied.
	CTDNAT
)

// ctStateNames are the ct_state flag names OVS prints, by bit.
var ctStateNames = [...]string{"new", "est", "rel", "rpl", "inv", "trk", "snat", "dnat"}

// CTMatch returns CTState and CTStateMask for a match that needs every
// bit of set to be 1 and every bit of clear to be 0; ovs-ofctl prints
// CTMatch(CTNew|CTTrk, 0) as "ct_state=+new+trk" and CTMatch(CTEst|CTTrk,
// CTRpl) as "ct_state=+est-rpl+trk".
func CTMatch(set, clear uint32) (state, mask uint32) { return set, set | clear }

// OXM basic-class field numbers (OpenFlow 1.3.5 §7.2.3.7), from the
// netrack/openflow constants.
const (
	oxmClassBasic = uint16(ofp.XMClassOpenflowBasic)
	oxmInPort     = uint8(ofp.XMTypeInPort)
	oxmMetadata   = uint8(ofp.XMTypeMetadata)
	oxmEthDst     = uint8(ofp.XMTypeEthDst)
	oxmEthSrc     = uint8(ofp.XMTypeEthSrc)
	oxmEthType    = uint8(ofp.XMTypeEthType)
	oxmARPOp      = uint8(ofp.XMTypeARPOpcode)
	oxmARPSPA     = uint8(ofp.XMTypeARPSPA)
	oxmARPTPA     = uint8(ofp.XMTypeARPTPA)
	oxmARPSHA     = uint8(ofp.XMTypeARPSHA)
	oxmIPProto    = uint8(ofp.XMTypeIPProto)
	oxmIPv4Src    = uint8(ofp.XMTypeIPv4Src)
	oxmIPv4Dst    = uint8(ofp.XMTypeIPv4Dst)
	oxmTCPSrc     = uint8(ofp.XMTypeTCPSrc)
	oxmTCPDst     = uint8(ofp.XMTypeTCPDst)
	oxmUDPSrc     = uint8(ofp.XMTypeUDPSrc)
	oxmUDPDst     = uint8(ofp.XMTypeUDPDst)
	// nxmCTState is NXM_NX_CT_STATE's field number in class 0x0001
	// (nicira-ext.h), a 32-bit maskable field.
	nxmCTState uint8 = 105
)

// appendOXMHeader appends an OXM TLV header: class, field<<1|hasmask, length.
func appendOXMHeader(b []byte, field uint8, hasMask bool, length int) []byte {
	return appendTLVHeader(b, oxmClassBasic, field, hasMask, length)
}

// appendTLVHeader appends an OXM/NXM TLV header of any class.
func appendTLVHeader(b []byte, class uint16, field uint8, hasMask bool, length int) []byte {
	f := field << 1
	if hasMask {
		f |= 1
		length *= 2
	}
	b = binary.BigEndian.AppendUint16(b, class)
	return append(b, f, byte(length))
}

// appendPrefix appends an IPv4 address field: without a mask for a /32,
// with the prefix's mask otherwise.
func appendPrefix(b []byte, field uint8, p netip.Prefix) []byte {
	addr := p.Masked().Addr().Unmap()
	if p.Bits() == 32 {
		b = appendOXMHeader(b, field, false, 4)
		return append(b, addr.AsSlice()...)
	}
	b = appendOXMHeader(b, field, true, 4)
	b = append(b, addr.AsSlice()...)
	return binary.BigEndian.AppendUint32(b, ^uint32(0)<<(32-p.Bits()))
}

// tpFields returns the OXM source and destination port fields for an IP
// protocol (TCP unless it is UDP).
func tpFields(proto uint8) (src, dst uint8) {
	if proto == IPProtoUDP {
		return oxmUDPSrc, oxmUDPDst
	}
	return oxmTCPSrc, oxmTCPDst
}

// appendTo appends the ofp_match structure: type OFPMT_OXM, length
// (excluding padding), the OXM TLVs, and zero padding to 8 bytes. An empty
// match still carries the OXM type (OVS rejects type 0 with
// OFPBMC_BAD_LEN).
func (m *Match) appendTo(b []byte) []byte {
	start := len(b)
	b = append(b, 0, byte(ofp.MatchTypeXM), 0, 0) // type, length placeholder
	if m.InPort != 0 {
		b = appendOXMHeader(b, oxmInPort, false, 4)
		b = binary.BigEndian.AppendUint32(b, uint32(m.InPort))
	}
	if m.MetadataMask != 0 {
		b = appendOXMHeader(b, oxmMetadata, true, 8)
		b = binary.BigEndian.AppendUint64(b, m.Metadata&m.MetadataMask)
		b = binary.BigEndian.AppendUint64(b, m.MetadataMask)
	}
	if m.EthDst != nil {
		b = appendOXMHeader(b, oxmEthDst, false, 6)
		b = append(b, m.EthDst[:6]...)
	}
	if m.EthSrc != nil {
		b = appendOXMHeader(b, oxmEthSrc, false, 6)
		b = append(b, m.EthSrc[:6]...)
	}
	if m.EthType != 0 {
		b = appendOXMHeader(b, oxmEthType, false, 2)
		b = binary.BigEndian.AppendUint16(b, m.EthType)
	}
	if m.ARPOp != 0 {
		b = appendOXMHeader(b, oxmARPOp, false, 2)
		b = binary.BigEndian.AppendUint16(b, m.ARPOp)
	}
	if m.ARPSPA.IsValid() {
		b = appendOXMHeader(b, oxmARPSPA, false, 4)
		b = append(b, m.ARPSPA.AsSlice()...)
	}
	if m.ARPTPA.IsValid() {
		b = appendOXMHeader(b, oxmARPTPA, false, 4)
		b = append(b, m.ARPTPA.AsSlice()...)
	}
	if m.ARPSHA != nil {
		b = appendOXMHeader(b, oxmARPSHA, false, 6)
		b = append(b, m.ARPSHA[:6]...)
	}
	if m.IPProto != 0 {
		b = appendOXMHeader(b, oxmIPProto, false, 1)
		b = append(b, m.IPProto)
	}
	if m.IPv4Src.IsValid() {
		b = appendPrefix(b, oxmIPv4Src, m.IPv4Src)
	}
	if m.IPv4Dst.IsValid() {
		b = appendPrefix(b, oxmIPv4Dst, m.IPv4Dst)
	}
	src, dst := tpFields(m.IPProto)
	if m.TPSrc != 0 {
		b = appendOXMHeader(b, src, false, 2)
		b = binary.BigEndian.AppendUint16(b, m.TPSrc)
	}
	if m.TPDst != 0 {
		b = appendOXMHeader(b, dst, false, 2)
		b = binary.BigEndian.AppendUint16(b, m.TPDst)
	}
	if m.CTStateMask != 0 {
		b = appendTLVHeader(b, nxmClass1, nxmCTState, true, 4)
		b = binary.BigEndian.AppendUint32(b, m.CTState&m.CTStateMask)
		b = binary.BigEndian.AppendUint32(b, m.CTStateMask)
	}
	for _, o := range m.Extra {
		b = o.appendTo(b)
	}
	length := len(b) - start
	binary.BigEndian.PutUint16(b[start+2:], uint16(length))
	return appendPad8(b, length)
}

// appendPad8 appends the zero bytes that round n up to a multiple of 8.
func appendPad8(b []byte, n int) []byte {
	return append(b, make([]byte, (8-n%8)%8)...)
}

// decodeMatch parses an ofp_match at the start of b, returning the match,
// the bytes it took (with padding) and an error naming what was wrong.
// OXM fields ovsmesh does not model are skipped.
func decodeMatch(b []byte) (Match, int, error) {
	var m Match
	if len(b) < 4 {
		return m, 0, fmt.Errorf("match: %d bytes, need at least 4", len(b))
	}
	if t := binary.BigEndian.Uint16(b); t != uint16(ofp.MatchTypeXM) {
		return m, 0, fmt.Errorf("match: type %d, want OXM (1)", t)
	}
	length := int(binary.BigEndian.Uint16(b[2:]))
	padded := (length + 7) / 8 * 8
	if length < 4 || padded > len(b) {
		return m, 0, fmt.Errorf("match: length %d does not fit in %d bytes", length, len(b))
	}
	for p := b[4:length]; len(p) > 0; {
		if len(p) < 4 {
			return m, 0, fmt.Errorf("match: truncated OXM header (%d bytes)", len(p))
		}
		class, field, hasMask, n := binary.BigEndian.Uint16(p), p[2]>>1, p[2]&1 == 1, int(p[3])
		if 4+n > len(p) {
			return m, 0, fmt.Errorf("match: OXM field %d length %d overruns the match", field, n)
		}
		v := p[4 : 4+n]
		p = p[4+n:]
		if class == nxmClass1 && field == nxmCTState {
			if n != 4*(1+b2i(hasMask)) {
				return m, 0, fmt.Errorf("match: NXM_NX_CT_STATE has length %d, want %d", n, 4*(1+b2i(hasMask)))
			}
			m.CTState, m.CTStateMask = binary.BigEndian.Uint32(v), ^uint32(0)
			if hasMask {
				m.CTStateMask = binary.BigEndian.Uint32(v[4:])
			}
			continue
		}
		if class != oxmClassBasic {
			continue
		}
		if want, ok := oxmLen[field]; ok && n != want*(1+b2i(hasMask)) {
			return m, 0, fmt.Errorf("match: OXM field %d has length %d, want %d", field, n, want*(1+b2i(hasMask)))
		}
		switch field {
		case oxmInPort:
			m.InPort = OFPort(binary.BigEndian.Uint32(v))
		case oxmMetadata:
			m.Metadata, m.MetadataMask = binary.BigEndian.Uint64(v), ^uint64(0)
			if hasMask {
				m.MetadataMask = binary.BigEndian.Uint64(v[8:])
			}
		case oxmEthDst:
			m.EthDst = net.HardwareAddr(append([]byte(nil), v[:6]...))
		case oxmEthSrc:
			m.EthSrc = net.HardwareAddr(append([]byte(nil), v[:6]...))
		case oxmEthType:
			m.EthType = binary.BigEndian.Uint16(v)
		case oxmARPOp:
			m.ARPOp = binary.BigEndian.Uint16(v)
		case oxmARPSPA:
			m.ARPSPA = netip.AddrFrom4([4]byte(v[:4]))
		case oxmARPTPA:
			m.ARPTPA = netip.AddrFrom4([4]byte(v[:4]))
		case oxmARPSHA:
			m.ARPSHA = net.HardwareAddr(append([]byte(nil), v[:6]...))
		case oxmIPProto:
			m.IPProto = v[0]
		case oxmIPv4Src:
			m.IPv4Src = decodePrefix(v, hasMask)
		case oxmIPv4Dst:
			m.IPv4Dst = decodePrefix(v, hasMask)
		case oxmTCPSrc, oxmUDPSrc:
			m.TPSrc = binary.BigEndian.Uint16(v)
		case oxmTCPDst, oxmUDPDst:
			m.TPDst = binary.BigEndian.Uint16(v)
		}
	}
	return m, padded, nil
}

// oxmLen is the value length in bytes of each modelled OXM field.
var oxmLen = map[uint8]int{
	oxmInPort: 4, oxmMetadata: 8, oxmEthDst: 6, oxmEthSrc: 6, oxmEthType: 2,
	oxmARPOp: 2, oxmARPSPA: 4, oxmARPTPA: 4, oxmARPSHA: 6,
	oxmIPProto: 1, oxmIPv4Src: 4, oxmIPv4Dst: 4,
	oxmTCPSrc: 2, oxmTCPDst: 2, oxmUDPSrc: 2, oxmUDPDst: 2,
}

// decodePrefix reads an IPv4 address field, with its mask when hasMask.
// A mask that is not a CIDR prefix (which ovsmesh never sends), or an
// all-zero one, is not modelled: the field reads as wildcard.
func decodePrefix(v []byte, hasMask bool) netip.Prefix {
	addr := netip.AddrFrom4([4]byte(v[:4]))
	if !hasMask {
		return netip.PrefixFrom(addr, 32)
	}
	mask := binary.BigEndian.Uint32(v[4:])
	n := 32 - bits.TrailingZeros32(mask)
	if mask == 0 || mask != ^uint32(0)<<(32-n) {
		return netip.Prefix{}
	}
	return netip.PrefixFrom(addr, n).Masked()
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// String renders the match as ovs-ofctl prints it (OVS's match_format
// order): ct_state, the protocol shorthand ("arp", "ip", "tcp", "udp",
// "icmp"), metadata, in_port, dl_src, dl_dst, other dl_type, the ARP
// fields (spa, tpa, op, sha) or nw_src, nw_dst and nw_proto, then tp_src
// and tp_dst. The empty match renders as "".
func (m Match) String() string {
	var parts []string
	if m.CTStateMask != 0 {
		parts = append(parts, "ct_state="+ctStateString(m.CTState, m.CTStateMask))
	}
	protoShown := false
	switch m.EthType {
	case 0:
	case EthTypeARP:
		parts = append(parts, "arp")
	case EthTypeIPv4:
		switch m.IPProto {
		case IPProtoICMP:
			parts, protoShown = append(parts, "icmp"), true
		case IPProtoTCP:
			parts, protoShown = append(parts, "tcp"), true
		case IPProtoUDP:
			parts, protoShown = append(parts, "udp"), true
		default:
			parts = append(parts, "ip")
		}
	case ethTypeIPv6:
		parts = append(parts, "ipv6")
	case ethTypeRARP:
		parts = append(parts, "rarp")
	}
	if m.MetadataMask != 0 {
		if m.MetadataMask == ^uint64(0) {
			parts = append(parts, fmt.Sprintf("metadata=%#x", m.Metadata))
		} else {
			parts = append(parts, fmt.Sprintf("metadata=%#x/%#x", m.Metadata&m.MetadataMask, m.MetadataMask))
		}
	}
	if m.InPort != 0 {
		parts = append(parts, "in_port="+PortString(m.InPort))
	}
	if m.EthSrc != nil {
		parts = append(parts, "dl_src="+m.EthSrc.String())
	}
	if m.EthDst != nil {
		parts = append(parts, "dl_dst="+m.EthDst.String())
	}
	switch m.EthType {
	case 0, EthTypeARP, EthTypeIPv4, ethTypeIPv6, ethTypeRARP:
	default:
		parts = append(parts, fmt.Sprintf("dl_type=0x%04x", m.EthType))
	}
	if m.ARPSPA.IsValid() {
		parts = append(parts, "arp_spa="+m.ARPSPA.String())
	}
	if m.ARPTPA.IsValid() {
		parts = append(parts, "arp_tpa="+m.ARPTPA.String())
	}
	if m.ARPOp != 0 {
		parts = append(parts, fmt.Sprintf("arp_op=%d", m.ARPOp))
	}
	if m.IPv4Src.IsValid() {
		parts = append(parts, "nw_src="+prefixString(m.IPv4Src))
	}
	if m.IPv4Dst.IsValid() {
		parts = append(parts, "nw_dst="+prefixString(m.IPv4Dst))
	}
	if m.IPProto != 0 && !protoShown {
		parts = append(parts, fmt.Sprintf("nw_proto=%d", m.IPProto))
	}
	if m.ARPSHA != nil {
		parts = append(parts, "arp_sha="+m.ARPSHA.String())
	}
	if m.TPSrc != 0 {
		parts = append(parts, fmt.Sprintf("tp_src=%d", m.TPSrc))
	}
	if m.TPDst != 0 {
		parts = append(parts, fmt.Sprintf("tp_dst=%d", m.TPDst))
	}
	parts = append(parts, extraString(m.Extra)...)
	return strings.Join(parts, ",")
}

// prefixString prints an address field as OVS does: the address alone
// for a /32, else ADDR/BITS.
func prefixString(p netip.Prefix) string {
	if p.Bits() == 32 {
		return p.Addr().String()
	}
	return p.Masked().String()
}

// ctStateString prints ct_state flags as OVS's format_flags_masked does,
// in bit order: "+new+trk", "+est-rpl+trk"; unknown bits in hex.
func ctStateString(state, mask uint32) string {
	var b strings.Builder
	for i, name := range ctStateNames {
		bit := uint32(1) << i
		if mask&bit == 0 {
			continue
		}
		if state&bit != 0 {
			b.WriteString("+" + name)
		} else {
			b.WriteString("-" + name)
		}
	}
	if rest := mask &^ (1<<len(ctStateNames) - 1); rest != 0 {
		fmt.Fprintf(&b, "+0x%x/0x%x", state&rest, rest)
	}
	return b.String()
}
