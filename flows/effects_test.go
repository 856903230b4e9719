package flows

import (
	"bytes"
	"encoding/binary"
	"reflect"
	"testing"
)

// instructionsOf returns the instructions of a flow-mod: the bytes after
// its match.
func instructionsOf(mod []byte) []byte {
	const matchAt = HeaderLen + 40
	return mod[matchAt+(int(binary.BigEndian.Uint16(mod[matchAt+2:]))+7)/8*8:]
}

// effectsCases are flows as ovs-ofctl writes them and what following a
// packet through them must know.
var effectsCases = []struct {
	name string
	flow string
	want Effects
}{
	{name: "drop", flow: "actions=drop", want: Effects{}},
	{name: "goto", flow: "actions=goto_table:40", want: Effects{Goto: 40}},
	{name: "output-local-and-tunnel", flow: "actions=output:3,output:7", want: Effects{Outputs: []OFPort{3, 7}}},
	{name: "in-port", flow: "actions=IN_PORT", want: Effects{Outputs: []OFPort{PortInPort}}},
	{name: "controller-goto", flow: "actions=CONTROLLER:65535,goto_table:31", want: Effects{Outputs: []OFPort{PortController}, Goto: 31}},
	{name: "nx-controller", flow: "actions=controller(reason=no_match,id=3)", want: Effects{Outputs: []OFPort{PortController}}},
	{name: "group", flow: "actions=group:1", want: Effects{Groups: []GroupID{1}}},
	{name: "write-metadata-goto", flow: "actions=write_metadata:0x1/0x1,goto_table:30",
		want: Effects{WriteMetadata: 1, WriteMetadataMask: 1, Goto: 30}},
	{name: "responder", flow: "arp,arp_op=1 actions=move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[],set_field:02:00:00:00:00:05->eth_src,set_field:2->arp_op,IN_PORT",
		want: Effects{Outputs: []OFPort{PortInPort}, Rewrites: true}},
	{name: "resubmit", flow: "actions=resubmit(,31),resubmit:5", want: Effects{Resubmits: []TableID{31, TableCurrent}}},
	{name: "ct-recirc", flow: "ip actions=ct(table=50,zone=5,nat)", want: Effects{Recirculates: []TableID{50}, Rewrites: true}},
	{name: "ct-commit", flow: "ip actions=ct(commit,zone=5,nat(src=192.0.2.1)),output:2", want: Effects{Outputs: []OFPort{2}, Rewrites: true}},
	{name: "write-actions", flow: "actions=write_actions(output:4)", want: Effects{Outputs: []OFPort{4}}},
	{name: "clone", flow: "actions=clone(output:4),output:5", want: Effects{Outputs: []OFPort{4, 5}}},
	{name: "output-reg", flow: "actions=output:NXM_NX_REG1[]", want: Effects{Unknown: []string{"nx(subtype=15)"}}},
	{name: "set-reg", flow: "actions=set_field:0x5->reg7,resubmit(,0)", want: Effects{Rewrites: true, Resubmits: []TableID{0}}},
}

// TestDecodeInstructions decodes OVS's own encodings of each flow's
// instructions.
func TestDecodeInstructions(t *testing.T) {
	lines := make([]string, len(effectsCases))
	for i, tc := range effectsCases {
		lines[i] = tc.flow
	}
	mods := ofctlFlowMods(t, lines)
	for i, tc := range effectsCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeInstructions(instructionsOf(mods[i]))
			if err != nil {
				t.Fatalf("DecodeInstructions(%x): %v", instructionsOf(mods[i]), err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("%s\n got %+v\nwant %+v", tc.flow, got, tc.want)
			}
		})
	}
}

// TestEffectsOfOurFlows decodes the instructions ovsmesh writes.
func TestEffectsOfOurFlows(t *testing.T) {
	f := Flow{Actions: []Action{ToController}, WriteMetadata: 1, WriteMetadataMask: 1, Goto: 31}
	fm, err := Encode(nil, 0, AddFlow(f))
	if err != nil {
		t.Fatal(err)
	}
	e, err := DecodeInstructions(instructionsOf(fm))
	want := Effects{Outputs: []OFPort{PortController}, Goto: 31, WriteMetadata: 1, WriteMetadataMask: 1}
	if err != nil || !reflect.DeepEqual(e, want) {
		t.Errorf("got %+v, %v; want %+v", e, err, want)
	}
	if e.Drops() || !e.Forwards() {
		t.Errorf("Drops %v Forwards %v", e.Drops(), e.Forwards())
	}
	if (&Effects{}).Forwards() || !(&Effects{}).Drops() {
		t.Error("empty effects must drop")
	}
}

// TestDecodeInstructionsMalformed checks truncations are errors.
func TestDecodeInstructionsMalformed(t *testing.T) {
	for _, b := range [][]byte{
		{0, 1},                   // short header
		{0, 1, 0, 2},             // length below 4
		{0, 1, 0, 16, 40, 0, 0},  // overrun
		{0, 4, 0, 8, 0, 0, 0, 0}, // apply-actions, empty: fine
	} {
		_, err := DecodeInstructions(b)
		if (err == nil) != (len(b) == 8) {
			t.Errorf("DecodeInstructions(%x): %v", b, err)
		}
	}
	if _, err := DecodeActions([]byte{0, 0, 0, 8, 0, 0, 0, 1}); err == nil {
		t.Error("an 8-byte output action is not an error")
	}
}

// groupDescBody is an OFPMP_GROUP_DESC reply body (OpenFlow 1.3.5
// §7.3.5.11) with two groups: group 1 of type all with two buckets
// (output:3, and none), group 2 with no bucket.
var groupDescBody = []byte{
	0x00, 0x38, // length 56
	0x00,                   // type OFPGT_ALL
	0x00,                   // pad
	0x00, 0x00, 0x00, 0x01, // group_id 1
	0x00, 0x20, // bucket len 32
	0x00, 0x00, // weight
	0xff, 0xff, 0xff, 0xff, // watch_port OFPP_ANY
	0xff, 0xff, 0xff, 0xff, // watch_group OFPG_ANY
	0x00, 0x00, 0x00, 0x00, // pad
	0x00, 0x00, 0x00, 0x10, // action OFPAT_OUTPUT, len 16
	0x00, 0x00, 0x00, 0x03, // port 3
	0x00, 0x00, 0, 0, 0, 0, 0, 0, // max_len, pad
	0x00, 0x10, // bucket len 16
	0x00, 0x00, // weight
	0xff, 0xff, 0xff, 0xff, // watch_port
	0xff, 0xff, 0xff, 0xff, // watch_group
	0x00, 0x00, 0x00, 0x00, // pad: no actions
	0x00, 0x08, // length 8
	0x00,                   // type OFPGT_ALL
	0x00,                   // pad
	0x00, 0x00, 0x00, 0x02, // group_id 2
}

// TestDecodeGroupDesc decodes a reply and refuses truncated ones; OVS
// decodes our request.
func TestDecodeGroupDesc(t *testing.T) {
	body := groupDescBody
	gs, err := DecodeGroupDesc(body)
	if err != nil {
		t.Fatal(err)
	}
	if len(gs) != 2 || gs[0].ID != 1 || len(gs[0].Buckets) != 2 || gs[1].ID != 2 || len(gs[1].Buckets) != 0 {
		t.Fatalf("groups %+v", gs)
	}
	e, err := DecodeActions(gs[0].Buckets[0])
	if err != nil || !reflect.DeepEqual(e.Outputs, []OFPort{3}) {
		t.Errorf("bucket 0: %+v, %v", e, err)
	}
	for _, bad := range [][]byte{body[:7], patch(body, 0, 0, 4), patch(body, 8, 0, 3), patch(body, 8, 0, 0xff)} {
		if _, err := DecodeGroupDesc(bad); err == nil {
			t.Errorf("DecodeGroupDesc(%x): no error", bad)
		}
	}
	msg, err := Encode(nil, 9, GroupDescRequest{})
	if err != nil {
		t.Fatal(err)
	}
	// OpenFlow 1.3's request has no body: every group.
	if got, want := ofpPrint(t, msg), "OFPST_GROUP_DESC request (OF1.3) (xid=0x9): group_id=ALL"; got != want {
		t.Errorf("ofp-print %q, want %q", got, want)
	}
}

// FuzzTraceDecoders feeds arbitrary bytes to the decoders a trace uses
// on what switches send: instructions, actions, group descriptions, OXM
// lists, and packet fields with their evaluation. Nothing may panic, and
// a match decoded from bytes must evaluate without a decode error.
//
//	go test ./flows -run '^$' -fuzz '^FuzzTraceDecoders$' -fuzztime 10s
func FuzzTraceDecoders(f *testing.F) {
	f.Add([]byte{}, []byte{})
	f.Add(groupDescBody, icmpEcho)
	f.Add(pipelineTLVs(inPort(3), u32v(OXMClassNX, 7, 4)), arpReq)
	f.Add([]byte{0, 4, 0, 24, 0, 0, 0, 0, 0xff, 0xff, 0, 16, 0, 0, 0x23, 0x20, 0, 35, 0, 0, 0, 0, 0, 0}, tcp80)
	f.Fuzz(func(t *testing.T, b, frame []byte) {
		_, _ = DecodeInstructions(b)
		_, _ = DecodeActions(b)
		if gs, err := DecodeGroupDesc(b); err == nil {
			for _, g := range gs {
				for _, bk := range g.Buckets {
					if len(bk) > 0 && !within(bk, b) {
						t.Fatal("bucket outside the body")
					}
					_, _ = DecodeActions(bk)
				}
			}
		}
		oxms, oxmErr := RawOXMs(b)
		for _, o := range oxms {
			_ = o.String()
		}
		p, err := ParsePacket(frame, b)
		if (err == nil) != (oxmErr == nil) {
			t.Fatalf("ParsePacket error %v, RawOXMs error %v", err, oxmErr)
		}
		if err != nil {
			return
		}
		if _, err := p.Matches(b); err != nil && oxmErr == nil && !isUnsupported(err) {
			t.Fatalf("Matches of a well-formed list: %v", err)
		}
		_ = p.FlowString()
		_ = p.Diff(p)
	})
}

func isUnsupported(err error) bool {
	return err != nil && bytes.Contains([]byte(err.Error()), []byte("cannot evaluate"))
}
