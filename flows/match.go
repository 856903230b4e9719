package flows

import (
	"encoding/binary"
	"fmt"
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
	// Extra holds fields Match does not model (flows/oxm.go), encoded
	// after the others in order; nil is none. Decoding leaves them out.
	Extra []OXM
}

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
)

// appendOXMHeader appends an OXM TLV header: class, field<<1|hasmask, length.
func appendOXMHeader(b []byte, field uint8, hasMask bool, length int) []byte {
	f := field << 1
	if hasMask {
		f |= 1
		length *= 2
	}
	b = binary.BigEndian.AppendUint16(b, oxmClassBasic)
	return append(b, f, byte(length))
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
		}
	}
	return m, padded, nil
}

// oxmLen is the value length in bytes of each modelled OXM field.
var oxmLen = map[uint8]int{
	oxmInPort: 4, oxmMetadata: 8, oxmEthDst: 6, oxmEthSrc: 6, oxmEthType: 2,
	oxmARPOp: 2, oxmARPSPA: 4, oxmARPTPA: 4, oxmARPSHA: 6,
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// String renders the match as ovs-ofctl prints it: the protocol shorthand
// ("arp", "ip") first, then metadata, in_port, dl_src, dl_dst, other
// dl_type, and ARP fields (spa, tpa, op, sha, as OVS orders them). The empty match renders as "".
func (m Match) String() string {
	var parts []string
	switch m.EthType {
	case 0:
	case EthTypeARP:
		parts = append(parts, "arp")
	case EthTypeIPv4:
		parts = append(parts, "ip")
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
	if m.ARPSHA != nil {
		parts = append(parts, "arp_sha="+m.ARPSHA.String())
	}
	parts = append(parts, extraString(m.Extra)...)
	return strings.Join(parts, ",")
}
