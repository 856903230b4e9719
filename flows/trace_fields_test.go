package flows

import (
	"bytes"
	"net"
	"net/netip"
	"strings"
	"testing"
)

// traceActionCases are the set-field actions of pipeline fields that
// packet-outs use (trace_fields.go).
var traceActionCases = []actionCase{
	{
		name: "set-reg7", action: SetReg{Reg: 7, Value: 5}, text: "set_field:0x5->reg7",
		want: []byte{
			0x00, 0x19, // type OFPAT_SET_FIELD
			0x00, 0x10, // len 16
			0x00, 0x01, 0x0e, 0x04, // NXM_NX_REG7: class 0x0001, field 7<<1, length 4
			0x00, 0x00, 0x00, 0x05, // value 5
			0x00, 0x00, 0x00, 0x00, // pad to 8
		},
	},
	{
		name: "set-reg0-zero", action: SetReg{Reg: 0, Value: 0}, text: "set_field:0->reg0",
		want: []byte{
			0x00, 0x19, // type OFPAT_SET_FIELD
			0x00, 0x10, // len 16
			0x00, 0x01, 0x00, 0x04, // NXM_NX_REG0: class 0x0001, field 0, length 4
			0x00, 0x00, 0x00, 0x00, // value 0
			0x00, 0x00, 0x00, 0x00, // pad to 8
		},
	},
	{
		name: "set-metadata", action: SetMetadata{Value: 0x8000000000000001}, text: "set_field:0x8000000000000001->metadata",
		want: []byte{
			0x00, 0x19, // type OFPAT_SET_FIELD
			0x00, 0x10, // len 16
			0x80, 0x00, 0x04, 0x08, // OXM_OF_METADATA: class 0x8000, field 2<<1, length 8
			0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, // value
		},
	},
}

// TestTraceActionGolden checks the bytes and text of each action, that
// OVS decodes them as meant, and that ovs-ofctl encodes our text to the
// same bytes.
func TestTraceActionGolden(t *testing.T) {
	lines := make([]string, len(traceActionCases))
	for i, tc := range traceActionCases {
		lines[i] = "actions=" + tc.text
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.action.appendTo(nil); !bytes.Equal(got, tc.want) {
				t.Errorf("appendTo\n got %x\nwant %x", got, tc.want)
			}
			if got := tc.action.String(); got != tc.text {
				t.Errorf("String %q, want %q", got, tc.text)
			}
			msg := flowModWithOXM(t, 1, Flow{Priority: 0x8000, Actions: []Action{tc.action}}, nil)
			if got, want := ofpPrint(t, msg), "OFPT_FLOW_MOD (OF1.3) (xid=0x1): ADD actions="+tc.text; got != want {
				t.Errorf("ovs-ofctl ofp-print\n got %q\nwant %q", got, want)
			}
		})
	}
	for i, mod := range ofctlFlowMods(t, lines) {
		got, err := applyActionsOf(mod)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, traceActionCases[i].want) {
			t.Errorf("%s: ovs-ofctl sends %x\n        we send %x", traceActionCases[i].name, got, traceActionCases[i].want)
		}
	}
}

// extraCases are matches with fields Match does not model, and what
// ovs-ofctl prints for them.
var extraCases = []struct {
	name  string
	match Match
	text  string // Match.String
	ovs   string // ovs-ofctl ofp-print's order
}{
	{
		name:  "ip-dscp-reg-bit",
		match: Match{EthType: EthTypeIPv4, Extra: []OXM{MatchIPDSCP(47), MatchRegBits(7, 0, 0x4)}},
		text:  "ip,nw_tos=188,reg7=0/0x4", ovs: "ip,reg7=0/0x4,nw_tos=188",
	},
	{
		name:  "arp-tha-reg-bit",
		match: Match{EthType: EthTypeARP, Extra: []OXM{MatchARPTHA(net.HardwareAddr{0x0a, 0x55, 0, 0, 0x7a, 0xce}), MatchRegBits(7, 0, 0x10)}},
		text:  "arp,arp_tha=0a:55:00:00:7a:ce,reg7=0/0x10", ovs: "arp,reg7=0/0x10,arp_tha=0a:55:00:00:7a:ce",
	},
	{
		name:  "reg-exact",
		match: Match{Extra: []OXM{MatchRegBits(3, 0x2a, 0xffffffff)}},
		text:  "reg3=0x2a/0xffffffff", ovs: "reg3=0x2a",
	},
}

// TestMatchExtra checks the encoding of Extra fields: OVS decodes them
// as meant, and they are what ovs-ofctl sends for the same text (in
// OVS's order).
func TestMatchExtra(t *testing.T) {
	var lines []string
	for _, tc := range extraCases {
		lines = append(lines, "priority=7,"+tc.ovs+" actions=drop")
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.match.String(); got != tc.text {
				t.Errorf("String %q, want %q", got, tc.text)
			}
			msg, err := Encode(nil, 1, AddFlow(Flow{Priority: 7, Match: tc.match}))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := ofpPrint(t, msg), "OFPT_FLOW_MOD (OF1.3) (xid=0x1): ADD priority=7,"+tc.ovs+" actions=drop"; got != want {
				t.Errorf("ovs-ofctl ofp-print\n got %q\nwant %q", got, want)
			}
		})
	}
	for i, mod := range ofctlFlowMods(t, lines) {
		theirs, err := RawOXMs(oxmTLVs(mod[HeaderLen+40:]))
		if err != nil {
			t.Fatal(err)
		}
		msg, _ := Encode(nil, 1, AddFlow(Flow{Priority: 7, Match: extraCases[i].match}))
		ours, err := RawOXMs(oxmTLVs(msg[HeaderLen+40:]))
		if err != nil {
			t.Fatal(err)
		}
		if !sameOXMs(theirs, ours) {
			t.Errorf("%s: ovs-ofctl sends %v\n        we send %v", extraCases[i].name, theirs, ours)
		}
	}
}

// sameOXMs reports whether a and b hold the same fields, in any order;
// a mask of all ones equals no mask.
func sameOXMs(a, b []OXM) bool {
	norm := func(l []OXM) map[string]bool {
		m := map[string]bool{}
		for _, o := range l {
			if o.Mask != nil && bytes.Count(o.Mask, []byte{0xff}) == len(o.Mask) {
				o.Mask = nil
			}
			m[o.String()] = true
		}
		return m
	}
	na, nb := norm(a), norm(b)
	if len(na) != len(nb) {
		return false
	}
	for k := range na {
		if !nb[k] {
			return false
		}
	}
	return true
}

// TestOXMStringUnknown checks a field ovsmesh has no name for renders
// by number.
func TestOXMStringUnknown(t *testing.T) {
	o := OXM{Class: 0x8000, Field: 40, Value: []byte{1, 2}, Mask: []byte{0xff, 0}}
	if got := o.String(); !strings.HasPrefix(got, "oxm(0x8000:40)=0102/ff00") {
		t.Errorf("String %q", got)
	}
}

// TestFormatInstructionsFields checks set-field and move actions render
// by name, as Flow.String (and ovs-ofctl) print them.
func TestFormatInstructionsFields(t *testing.T) {
	for _, f := range []Flow{
		arpResponder,
		{Actions: []Action{SetReg{Reg: 7, Value: 0x13}, SetMetadata{Value: 1}, Resubmit{Table: 10}}},
		{Actions: []Action{SetIPv4Src(netip.MustParseAddr("192.0.2.1")), SetTCPDst(8080), MoveField(FieldReg0, FieldReg1)}},
		{Match: Match{EthType: EthTypeIPv4}, Actions: []Action{CT{Recirc: true, Table: 22, Zone: 100, NAT: &NAT{}}}},
		{Match: Match{EthType: EthTypeIPv4}, Actions: []Action{CT{Commit: true, Recirc: true, Table: 26, Zone: 100,
			NAT: &NAT{Kind: NATSrc, AddrMin: netip.MustParseAddr("198.18.200.1")}}, Output{Port: 2}}},
		{Match: Match{EthType: EthTypeIPv4}, Actions: []Action{CT{Commit: true, Zone: 101,
			NAT: &NAT{Kind: NATDst, AddrMin: netip.MustParseAddr("10.0.0.1"), AddrMax: netip.MustParseAddr("10.0.0.9"), PortMin: 80, PortMax: 90, Random: true}}}},
	} {
		raw := f.appendInstructions(nil)
		if got, want := FormatInstructions(raw), f.actionsString(); got != want {
			t.Errorf("FormatInstructions\n got %q\nwant %q", got, want)
		}
	}
}

// TestMatchString checks fields Match does not model are rendered after
// the ones it does, once.
func TestMatchString(t *testing.T) {
	m := Match{InPort: 3, EthType: EthTypeIPv4, Extra: []OXM{MatchRegBits(7, 0, 4), MatchIPDSCP(47)}}
	raw := oxmTLVs(m.appendTo(nil))
	dec, _, err := decodeMatch(m.appendTo(nil))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := MatchString(dec, raw), "ip,in_port=3,reg7=0/0x4,nw_tos=188"; got != want {
		t.Errorf("MatchString %q, want %q", got, want)
	}
	if got := Unmodelled(oxmTLVs(flowARP.Match.appendTo(nil))); len(got) != 0 {
		t.Errorf("Unmodelled of a modelled match: %v", got)
	}
	if got := Unmodelled([]byte{0x80}); got != nil {
		t.Errorf("Unmodelled of a malformed match: %v", got)
	}
}
