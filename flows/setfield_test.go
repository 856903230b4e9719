package flows

import (
	"net"
	"net/netip"
	"testing"
)

// setFieldCases are the OFPAT_SET_FIELD actions (OpenFlow 1.3.5 §7.2.5,
// struct ofp_action_set_field) with their wire bytes and the text
// `ovs-ofctl ofp-print` (OVS 3.1.0) prints for them; the bytes are also
// what `ovs-ofctl -O OpenFlow13 add-flow` sends for that text
// (TestActionsMatchOVS). OXM headers are class 0x8000 OFPXMC_OPENFLOW_BASIC,
// field<<1 | hasmask, length (§7.2.3.2), fields from §7.2.3.7.
var setFieldCases = []actionCase{
	{
		name: "set-eth-src", prereq: "", action: SetEthSrc(mac("02:00:00:00:00:05")),
		text: "set_field:02:00:00:00:00:05->eth_src",
		want: []byte{
			0x00, 0x19, // type OFPAT_SET_FIELD (25)
			0x00, 0x10, // len 16
			0x80, 0x00, // OXM class OPENFLOW_BASIC
			0x08,                               // field OFPXMT_OFB_ETH_SRC (4) << 1, no mask
			0x06,                               // OXM length 6
			0x02, 0x00, 0x00, 0x00, 0x00, 0x05, // value 02:00:00:00:00:05
			0x00, 0x00, // pad to 8
		},
	},
	{
		name: "set-eth-dst", prereq: "", action: SetEthDst(mac("02:00:00:00:00:06")),
		text: "set_field:02:00:00:00:00:06->eth_dst",
		want: []byte{
			0x00, 0x19, // type OFPAT_SET_FIELD (25)
			0x00, 0x10, // len 16
			0x80, 0x00, // OXM class OPENFLOW_BASIC
			0x06,                               // field OFPXMT_OFB_ETH_DST (3) << 1, no mask
			0x06,                               // OXM length 6
			0x02, 0x00, 0x00, 0x00, 0x00, 0x06, // value 02:00:00:00:00:06
			0x00, 0x00, // pad to 8
		},
	},
	{
		name: "set-arp-op", prereq: "arp", action: SetARPOp(2),
		text: "set_field:2->arp_op",
		want: []byte{
			0x00, 0x19, // type OFPAT_SET_FIELD (25)
			0x00, 0x10, // len 16
			0x80, 0x00, // OXM class OPENFLOW_BASIC
			0x2a,       // field OFPXMT_OFB_ARP_OP (21) << 1, no mask
			0x02,       // OXM length 2
			0x00, 0x02, // value 2 (reply)
			0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // pad to 8
		},
	},
	{
		name: "set-arp-spa", prereq: "arp", action: SetARPSPA(netip.MustParseAddr("10.0.0.5")),
		text: "set_field:10.0.0.5->arp_spa",
		want: []byte{
			0x00, 0x19, // type OFPAT_SET_FIELD (25)
			0x00, 0x10, // len 16
			0x80, 0x00, // OXM class OPENFLOW_BASIC
			0x2c,                   // field OFPXMT_OFB_ARP_SPA (22) << 1, no mask
			0x04,                   // OXM length 4
			0x0a, 0x00, 0x00, 0x05, // value 10.0.0.5
			0x00, 0x00, 0x00, 0x00, // pad to 8
		},
	},
	{
		name: "set-arp-tpa", prereq: "arp", action: SetARPTPA(netip.MustParseAddr("10.0.0.9")),
		text: "set_field:10.0.0.9->arp_tpa",
		want: []byte{
			0x00, 0x19, // type OFPAT_SET_FIELD (25)
			0x00, 0x10, // len 16
			0x80, 0x00, // OXM class OPENFLOW_BASIC
			0x2e,                   // field OFPXMT_OFB_ARP_TPA (23) << 1, no mask
			0x04,                   // OXM length 4
			0x0a, 0x00, 0x00, 0x09, // value 10.0.0.9
			0x00, 0x00, 0x00, 0x00, // pad to 8
		},
	},
	{
		name: "set-arp-sha", prereq: "arp", action: SetARPSHA(mac("02:00:00:00:00:05")),
		text: "set_field:02:00:00:00:00:05->arp_sha",
		want: []byte{
			0x00, 0x19, // type OFPAT_SET_FIELD (25)
			0x00, 0x10, // len 16
			0x80, 0x00, // OXM class OPENFLOW_BASIC
			0x30,                               // field OFPXMT_OFB_ARP_SHA (24) << 1, no mask
			0x06,                               // OXM length 6
			0x02, 0x00, 0x00, 0x00, 0x00, 0x05, // value 02:00:00:00:00:05
			0x00, 0x00, // pad to 8
		},
	},
	{
		name: "set-arp-tha", prereq: "arp", action: SetARPTHA(mac("00:00:00:00:00:01")),
		text: "set_field:00:00:00:00:00:01->arp_tha",
		want: []byte{
			0x00, 0x19, // type OFPAT_SET_FIELD (25)
			0x00, 0x10, // len 16
			0x80, 0x00, // OXM class OPENFLOW_BASIC
			0x32,                               // field OFPXMT_OFB_ARP_THA (25) << 1, no mask
			0x06,                               // OXM length 6
			0x00, 0x00, 0x00, 0x00, 0x00, 0x01, // value 00:00:00:00:00:01
			0x00, 0x00, // pad to 8
		},
	},
	{
		name: "set-ipv4-src", prereq: "ip", action: SetIPv4Src(netip.MustParseAddr("10.0.0.1")),
		text: "set_field:10.0.0.1->ip_src",
		want: []byte{
			0x00, 0x19, // type OFPAT_SET_FIELD (25)
			0x00, 0x10, // len 16
			0x80, 0x00, // OXM class OPENFLOW_BASIC
			0x16,                   // field OFPXMT_OFB_IPV4_SRC (11) << 1, no mask
			0x04,                   // OXM length 4
			0x0a, 0x00, 0x00, 0x01, // value 10.0.0.1
			0x00, 0x00, 0x00, 0x00, // pad to 8
		},
	},
	{
		// An IPv4-mapped IPv6 address is unmapped.
		name: "set-ipv4-dst", prereq: "ip", action: SetIPv4Dst(netip.MustParseAddr("::ffff:10.0.0.2")),
		text: "set_field:10.0.0.2->ip_dst",
		want: []byte{
			0x00, 0x19, // type OFPAT_SET_FIELD (25)
			0x00, 0x10, // len 16
			0x80, 0x00, // OXM class OPENFLOW_BASIC
			0x18,                   // field OFPXMT_OFB_IPV4_DST (12) << 1, no mask
			0x04,                   // OXM length 4
			0x0a, 0x00, 0x00, 0x02, // value 10.0.0.2
			0x00, 0x00, 0x00, 0x00, // pad to 8
		},
	},
	{
		name: "set-tcp-src", prereq: "tcp", action: SetTCPSrc(80),
		text: "set_field:80->tcp_src",
		want: []byte{
			0x00, 0x19, // type OFPAT_SET_FIELD (25)
			0x00, 0x10, // len 16
			0x80, 0x00, // OXM class OPENFLOW_BASIC
			0x1a,       // field OFPXMT_OFB_TCP_SRC (13) << 1, no mask
			0x02,       // OXM length 2
			0x00, 0x50, // value 80
			0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // pad to 8
		},
	},
	{
		name: "set-tcp-dst", prereq: "tcp", action: SetTCPDst(443),
		text: "set_field:443->tcp_dst",
		want: []byte{
			0x00, 0x19, // type OFPAT_SET_FIELD (25)
			0x00, 0x10, // len 16
			0x80, 0x00, // OXM class OPENFLOW_BASIC
			0x1c,       // field OFPXMT_OFB_TCP_DST (14) << 1, no mask
			0x02,       // OXM length 2
			0x01, 0xbb, // value 443
			0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // pad to 8
		},
	},
	{
		name: "set-udp-src", prereq: "udp", action: SetUDPSrc(53),
		text: "set_field:53->udp_src",
		want: []byte{
			0x00, 0x19, // type OFPAT_SET_FIELD (25)
			0x00, 0x10, // len 16
			0x80, 0x00, // OXM class OPENFLOW_BASIC
			0x1e,       // field OFPXMT_OFB_UDP_SRC (15) << 1, no mask
			0x02,       // OXM length 2
			0x00, 0x35, // value 53
			0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // pad to 8
		},
	},
	{
		name: "set-udp-dst", prereq: "udp", action: SetUDPDst(65535),
		text: "set_field:65535->udp_dst",
		want: []byte{
			0x00, 0x19, // type OFPAT_SET_FIELD (25)
			0x00, 0x10, // len 16
			0x80, 0x00, // OXM class OPENFLOW_BASIC
			0x20,       // field OFPXMT_OFB_UDP_DST (16) << 1, no mask
			0x02,       // OXM length 2
			0xff, 0xff, // value 65535
			0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // pad to 8
		},
	},
}

// TestSetFieldAccessors checks Field, Name and Bits.
func TestSetFieldAccessors(t *testing.T) {
	a := SetARPSHA(mac("02:00:00:00:00:05"))
	if a.Field() != FieldARPSHA || a.Field().Name() != "arp_sha" || a.Field().Bits() != 48 {
		t.Errorf("SetARPSHA field %v name %q bits %d", a.Field(), a.Field().Name(), a.Field().Bits())
	}
	if FieldIPv4Src.Name() != "ip_src" || FieldReg3.Name() != "reg3" || FieldMetadata.Bits() != 64 {
		t.Errorf("names %q %q, metadata %d bits", FieldIPv4Src.Name(), FieldReg3.Name(), FieldMetadata.Bits())
	}
	// Set* return comparable values.
	if SetEthSrc(mac("02:00:00:00:00:05")) != SetEthSrc(mac("02:00:00:00:00:05")) {
		t.Error("equal set_field actions compare unequal")
	}
}

// TestSetFieldPanics checks that a MAC of the wrong length or a non-IPv4
// address is refused when the action is built, not sent to the switch.
func TestSetFieldPanics(t *testing.T) {
	for name, build := range map[string]func(){
		"short-mac":     func() { SetEthSrc(net.HardwareAddr{1, 2, 3}) },
		"nil-mac":       func() { SetARPSHA(nil) },
		"eui64":         func() { SetEthDst(mac("02:00:00:00:00:00:00:05")) },
		"ipv6":          func() { SetARPSPA(netip.MustParseAddr("fe80::1")) },
		"invalid-addr":  func() { SetIPv4Src(netip.Addr{}) },
		"ipv6-arp-tpa":  func() { SetARPTPA(netip.IPv6Loopback()) },
		"ipv6-ipv4-dst": func() { SetIPv4Dst(netip.IPv6Unspecified()) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			build()
		})
	}
}
