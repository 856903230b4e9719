package flows

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"reflect"
	"testing"
)

// ethFrame builds an Ethernet frame: dst, src, type, payload.
func ethFrame(dst, src string, typ uint16, payload []byte) []byte {
	b := append(append([]byte(nil), mac(dst)...), mac(src)...)
	b = binary.BigEndian.AppendUint16(b, typ)
	return append(b, payload...)
}

// ipv4 builds an IPv4 header (no options) with tos, ttl, proto, src and
// dst, followed by l4; the checksum is left zero (OVS does not check it).
func ipv4(tos, ttl, proto byte, src, dst string, frag uint16, l4 []byte) []byte {
	b := []byte{0x45, tos}
	b = binary.BigEndian.AppendUint16(b, uint16(20+len(l4)))
	b = append(b, 0, 1) // id
	b = binary.BigEndian.AppendUint16(b, frag)
	b = append(b, ttl, proto, 0, 0)
	b = append(b, netip.MustParseAddr(src).AsSlice()...)
	b = append(b, netip.MustParseAddr(dst).AsSlice()...)
	return append(b, l4...)
}

// ports builds the first bytes of a TCP (20) or UDP (8) header.
func ports(n int, src, dst uint16) []byte {
	b := binary.BigEndian.AppendUint16(nil, src)
	b = binary.BigEndian.AppendUint16(b, dst)
	return append(b, make([]byte, n-4)...)
}

// arpBody builds an Ethernet/IPv4 ARP body; hrd 1 unless bad.
func arpBody(op uint16, sha, spa, tha, tpa string, bad bool) []byte {
	hrd := uint16(1)
	if bad {
		hrd = 6
	}
	b := binary.BigEndian.AppendUint16(nil, hrd)
	b = append(b, 0x08, 0x00, 6, 4)
	b = binary.BigEndian.AppendUint16(b, op)
	b = append(b, mac(sha)...)
	b = append(b, netip.MustParseAddr(spa).AsSlice()...)
	b = append(b, mac(tha)...)
	return append(b, netip.MustParseAddr(tpa).AsSlice()...)
}

// pipelineTLVs encodes pipeline fields as a packet-in match holds them.
func pipelineTLVs(oxms ...OXM) []byte {
	var b []byte
	for _, o := range oxms {
		b = o.appendTo(b)
	}
	return b
}

func inPort(p uint32) OXM {
	return OXM{Class: OXMClassBasic, Field: oxmInPort, Value: binary.BigEndian.AppendUint32(nil, p)}
}

func u32v(class uint16, field uint8, v uint32) OXM {
	return OXM{Class: class, Field: field, Value: binary.BigEndian.AppendUint32(nil, v)}
}

const (
	m1 = "02:00:00:00:00:01"
	m2 = "02:00:00:00:00:02"
)

var (
	icmpEcho = ethFrame(m2, m1, 0x0800, ipv4(188, 64, 1, "10.0.0.1", "10.0.0.2", 0, []byte{8, 0, 0, 0, 0, 1, 0, 1}))
	tcp80    = ethFrame(m2, m1, 0x0800, ipv4(0, 64, 6, "10.0.0.1", "10.0.0.2", 0, ports(20, 40000, 80)))
	udp80    = ethFrame(m2, m1, 0x0800, ipv4(0, 64, 17, "10.0.0.1", "10.0.0.2", 0, ports(8, 40000, 80)))
	laterFr  = ethFrame(m2, m1, 0x0800, ipv4(0, 64, 6, "10.0.0.1", "10.0.0.2", 100, ports(20, 40000, 80)))
	arpReq   = ethFrame("ff:ff:ff:ff:ff:ff", m1, 0x0806, arpBody(1, m1, "10.0.0.1", "0a:55:00:00:7a:ce", "10.0.0.2", false))
	arpBad   = ethFrame("ff:ff:ff:ff:ff:ff", m1, 0x0806, arpBody(1, m1, "10.0.0.1", "00:00:00:00:00:00", "10.0.0.2", true))
	ipv6Pkt  = ethFrame(m2, m1, 0x86dd, make([]byte, 40))
)

// matchCases are flows as ovs-ofctl writes them, packets, and whether
// OVS would match them.
var matchCases = []struct {
	name     string
	flow     string // ovs-ofctl match
	frame    []byte
	pipeline []OXM
	want     bool
	unsure   bool // an unsupported field
}{
	{name: "all", flow: "", frame: icmpEcho, want: true},
	{name: "dl-dst", flow: "dl_dst=" + m2, frame: icmpEcho, want: true},
	{name: "dl-dst-other", flow: "dl_dst=" + m1, frame: icmpEcho},
	{name: "in-port-src", flow: "in_port=3,dl_src=" + m1, frame: icmpEcho, pipeline: []OXM{inPort(3)}, want: true},
	{name: "in-port-other", flow: "in_port=3,dl_src=" + m1, frame: icmpEcho, pipeline: []OXM{inPort(4)}},
	{name: "metadata-bit", flow: "metadata=0x1/0x1", frame: icmpEcho, pipeline: []OXM{{Class: OXMClassBasic, Field: oxmMetadata, Value: []byte{0, 0, 0, 0, 0, 0, 0, 3}}}, want: true},
	{name: "metadata-absent", flow: "metadata=0x1/0x1", frame: icmpEcho},
	{name: "arp-request", flow: "arp,arp_tpa=10.0.0.2,arp_op=1", frame: arpReq, want: true},
	{name: "arp-on-icmp", flow: "arp,arp_tpa=10.0.0.2,arp_op=1", frame: icmpEcho},
	{name: "arp-sha-spa", flow: "arp,arp_spa=10.0.0.1,arp_sha=" + m1, frame: arpReq, want: true},
	{name: "arp-tha-tag", flow: "arp,arp_tha=0a:55:00:00:7a:ce", frame: arpReq, want: true},
	{name: "arp-malformed-zero", flow: "arp,arp_spa=0.0.0.0", frame: arpBad, want: true},
	{name: "tcp-dst", flow: "tcp,tp_dst=80", frame: tcp80, want: true},
	{name: "tcp-on-udp", flow: "tcp,tp_dst=80", frame: udp80},
	{name: "udp-dst", flow: "udp,udp_dst=80", frame: udp80, want: true},
	{name: "tcp-later-fragment", flow: "tcp,tp_dst=80", frame: laterFr},
	{name: "nw-frag-later", flow: "ip,nw_frag=later", frame: laterFr, want: true},
	{name: "icmp-echo", flow: "icmp,icmp_type=8,icmp_code=0", frame: icmpEcho, want: true},
	{name: "nw-src-prefix", flow: "ip,nw_src=10.0.0.0/8", frame: icmpEcho, want: true},
	{name: "nw-src-prefix-other", flow: "ip,nw_src=192.168.0.0/16", frame: icmpEcho},
	{name: "dscp-tag", flow: "ip,nw_tos=188", frame: icmpEcho, want: true},
	{name: "dscp-untagged", flow: "ip,nw_tos=188", frame: tcp80},
	{name: "ttl", flow: "ip,nw_ttl=64", frame: tcp80, want: true},
	{name: "reg-bit-clear", flow: "reg7=0/0x4", frame: icmpEcho, pipeline: []OXM{u32v(OXMClassNX, 7, 3)}, want: true},
	{name: "reg-bit-set", flow: "reg7=0/0x4", frame: icmpEcho, pipeline: []OXM{u32v(OXMClassNX, 7, 4)}},
	{name: "ct-est", flow: "ct_state=+trk+est,ip", frame: tcp80, pipeline: []OXM{u32v(OXMClassNX, 105, 0x22)}, want: true},
	{name: "ct-untracked", flow: "ct_state=+trk+est,ip", frame: tcp80},
	{name: "ct-zone", flow: "ct_zone=5,ip", frame: tcp80, pipeline: []OXM{{Class: OXMClassNX, Field: 106, Value: []byte{0, 5}}}, want: true},
	{name: "ipv6-unsupported", flow: "ipv6,ipv6_label=5", frame: ipv6Pkt, want: true, unsure: true},
	{name: "ipv6-on-ipv4", flow: "ipv6,ipv6_label=5", frame: icmpEcho},
}

// TestPacketFieldsMatches evaluates OVS's own encodings of each flow's
// match (ovs-ofctl writes them) against packets, as OVS would.
func TestPacketFieldsMatches(t *testing.T) {
	lines := make([]string, len(matchCases))
	for i, tc := range matchCases {
		lines[i] = "priority=5"
		if tc.flow != "" {
			lines[i] += "," + tc.flow
		}
		lines[i] += " actions=drop"
	}
	mods := ofctlFlowMods(t, lines)
	for i, tc := range matchCases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParsePacket(tc.frame, pipelineTLVs(tc.pipeline...))
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.Matches(oxmTLVs(mods[i][HeaderLen+40:]))
			if got != tc.want {
				t.Errorf("Matches(%s) = %v, want %v", tc.flow, got, tc.want)
			}
			if unsure := errors.Is(err, ErrUnsupportedField); unsure != tc.unsure || (err != nil && !unsure) {
				t.Errorf("Matches(%s) error %v, want unsupported %v", tc.flow, err, tc.unsure)
			}
		})
	}
}

// TestPacketFieldsAccessors checks the pipeline accessors and the flow
// text ofproto/trace takes.
func TestPacketFieldsAccessors(t *testing.T) {
	p, err := ParsePacket(icmpEcho, pipelineTLVs(inPort(3), u32v(OXMClassNX, 7, 9),
		OXM{Class: OXMClassBasic, Field: oxmMetadata, Value: []byte{0, 0, 0, 0, 0, 0, 0, 1}}))
	if err != nil {
		t.Fatal(err)
	}
	if p.InPort() != 3 || p.Reg(7) != 9 || p.Metadata() != 1 || p.EthType() != EthTypeIPv4 {
		t.Errorf("in_port %d reg7 %d metadata %d eth_type %#x", p.InPort(), p.Reg(7), p.Metadata(), p.EthType())
	}
	for _, tc := range []struct {
		frame []byte
		want  string
	}{
		{icmpEcho, "icmp,dl_src=" + m1 + ",dl_dst=" + m2 + ",nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_tos=188,nw_ecn=0,nw_ttl=64,icmp_type=8,icmp_code=0"},
		{tcp80, "tcp,dl_src=" + m1 + ",dl_dst=" + m2 + ",nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_tos=0,nw_ecn=0,nw_ttl=64,tcp_src=40000,tcp_dst=80"},
		{arpReq, "arp,dl_src=" + m1 + ",dl_dst=ff:ff:ff:ff:ff:ff,arp_spa=10.0.0.1,arp_tpa=10.0.0.2,arp_op=1,arp_sha=" + m1 + ",arp_tha=0a:55:00:00:7a:ce"},
	} {
		q, _ := ParsePacket(tc.frame, nil)
		if got := q.FlowString(); got != tc.want {
			t.Errorf("FlowString\n got %s\nwant %s", got, tc.want)
		}
	}
}

// TestPacketFieldsDiff checks rewrites are named by field.
func TestPacketFieldsDiff(t *testing.T) {
	a, _ := ParsePacket(tcp80, pipelineTLVs(inPort(1)))
	b, _ := ParsePacket(ethFrame(m2, m1, 0x0800, ipv4(0, 64, 6, "192.0.2.1", "10.0.0.2", 0, ports(20, 1024, 80))), pipelineTLVs(inPort(2)))
	want := []FieldChange{{"nw_src", "10.0.0.1", "192.0.2.1"}, {"tcp_src", "40000", "1024"}}
	if got := a.Diff(b); !reflect.DeepEqual(got, want) {
		t.Errorf("Diff\n got %v\nwant %v", got, want)
	}
	if got := a.Diff(a); len(got) != 0 {
		t.Errorf("Diff of itself: %v", got)
	}
}

// TestParsePacketShortFrames checks truncated frames leave fields zero.
func TestParsePacketShortFrames(t *testing.T) {
	for n := 0; n <= len(tcp80); n++ {
		p, err := ParsePacket(tcp80[:n], nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Matches(nil); err != nil {
			t.Fatal(err)
		}
		_ = p.FlowString()
	}
	if _, err := ParsePacket(icmpEcho, []byte{0x80, 0, 0, 8, 1}); err == nil {
		t.Error("a truncated pipeline match is not an error")
	}
}
