package flows

import (
	"encoding/binary"
	"encoding/hex"
	"os/exec"
	"strings"
	"testing"

	"github.com/ovsmesh/ovsmesh/flows/flowstest"
)

// ofpPrint decodes msg with `ovs-ofctl ofp-print HEX` (OVS's own
// decoder), skipping the test when ovs-ofctl is not installed. It fails
// the test if OVS reports a decode error or logs a warning.
func ofpPrint(t *testing.T, msg []byte) string {
	t.Helper()
	path, err := exec.LookPath("ovs-ofctl")
	if err != nil {
		t.Skip("ovs-ofctl not installed (apt-get install openvswitch-common): skipping the cross-check against OVS's decoder")
	}
	cmd := exec.Command(path, "ofp-print", hex.EncodeToString(msg))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ovs-ofctl ofp-print: %v\n%s", err, stderr.String())
	}
	if stderr.Len() > 0 || strings.Contains(string(out), "decode error") {
		t.Fatalf("ovs-ofctl ofp-print rejected %x:\n%s%s", msg, out, stderr.String())
	}
	return strings.TrimRight(string(out), "\n")
}

// ofctlPrints is what `ovs-ofctl ofp-print` (OVS 3.1.0) prints for each
// golden message: OVS decodes every byte we send the way we mean it.
var ofctlPrints = map[string]string{
	"hello":              "OFPT_HELLO (OF1.3) (xid=0x1):\n version bitmap: 0x04",
	"features-request":   "OFPT_FEATURES_REQUEST (OF1.3) (xid=0x2):",
	"set-config":         "OFPT_SET_CONFIG (OF1.3) (xid=0x3): frags=normal miss_send_len=65535",
	"port-desc-request":  "OFPST_PORT_DESC request (OF1.3) (xid=0x4): port=ANY",
	"flow-stats-request": "OFPST_FLOW request (OF1.3) (xid=0x5):",
	"barrier-request":    "OFPT_BARRIER_REQUEST (OF1.3) (xid=0x6):",
	"echo-request": "OFPT_ECHO_REQUEST (OF1.3) (xid=0x7): 2 bytes of payload\n" +
		"00000000  61 62                                           |ab              |",
	"echo-reply": "OFPT_ECHO_REPLY (OF1.3) (xid=0xdeadbeef): 2 bytes of payload\n" +
		"00000000  61 62                                           |ab              |",
	"error-hello-failed":                "OFPT_ERROR (OF1.3) (xid=0x8): OFPHFC_INCOMPATIBLE\nv1.3",
	"flow-mod-add-in-port-eth-src-goto": "OFPT_FLOW_MOD (OF1.3) (xid=0x9): ADD priority=200,in_port=1,dl_src=02:00:00:00:01:01 cookie:0x1a02000000000005 idle:300 send_flow_rem actions=goto_table:1",
	"flow-mod-add-write-metadata-goto":  "OFPT_FLOW_MOD (OF1.3) (xid=0xa): ADD priority=100,in_port=5 cookie:0x1a02010000000005 actions=write_metadata:0x1/0x1,goto_table:1",
	"flow-mod-add-metadata-group":       "OFPT_FLOW_MOD (OF1.3) (xid=0xb): ADD table:1 priority=1,metadata=0x1/0x1 cookie:0x1a02010000000000 actions=group:2",
	"flow-mod-add-table-miss":           "OFPT_FLOW_MOD (OF1.3) (xid=0xc): ADD priority=0 cookie:0x1a02010000000000 actions=CONTROLLER:65535",
	"flow-mod-delete-by-cookie":         "OFPT_FLOW_MOD (OF1.3) (xid=0xd): DEL table:255 priority=0 cookie:0x1a01020000000000/0xffffff0000000000 actions=drop",
	"flow-mod-delete-strict":            "OFPT_FLOW_MOD (OF1.3) (xid=0xe): DEL_STRICT table:1 priority=100,dl_dst=02:00:00:00:01:02 actions=drop",
	"flow-mod-delete-out-port":          "OFPT_FLOW_MOD (OF1.3) (xid=0xf): DEL table:255 priority=0 out_port:3 actions=drop",
	"packet-out-table": "OFPT_PACKET_OUT (OF1.3) (xid=0x10): in_port=CONTROLLER actions=TABLE data_len=14\n" +
		"arp,vlan_tci=0x0000,dl_src=02:00:00:00:01:01,dl_dst=ff:ff:ff:ff:ff:ff,arp_spa=0.0.0.0,arp_tpa=0.0.0.0,arp_op=0,arp_sha=00:00:00:00:00:00,arp_tha=00:00:00:00:00:00",
	"group-mod-add-or-mod-0-buckets": "OFPT_GROUP_MOD (OF1.3) (xid=0x11):\n ADD_OR_MOD group_id=1,type=all",
	"group-mod-add-or-mod-1-bucket":  "OFPT_GROUP_MOD (OF1.3) (xid=0x12):\n ADD_OR_MOD group_id=2,type=all,bucket=actions=output:1",
	"group-mod-add-or-mod-3-buckets": "OFPT_GROUP_MOD (OF1.3) (xid=0x13):\n ADD_OR_MOD group_id=1,type=all,bucket=actions=output:1,bucket=actions=output:2,bucket=actions=output:3,group:2",
}

// TestOVSDecodesGolden feeds every golden message to OVS's decoder.
func TestOVSDecodesGolden(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			want, ok := ofctlPrints[tc.name]
			if !ok {
				t.Fatalf("no ofp-print text recorded for %s", tc.name)
			}
			if got := ofpPrint(t, tc.want); got != want {
				t.Errorf("ovs-ofctl ofp-print\n got %q\nwant %q", got, want)
			}
		})
	}
}

// flowStatsReply builds an OFPMP_FLOW reply holding one ofp_flow_stats
// (OpenFlow 1.3.5 §7.3.5.2) for f, with the match and instructions
// copied from our own flow-mod encoding and fixed counters: what a switch
// would answer after installing AddFlow(f).
func flowStatsReply(tb testing.TB, f Flow) []byte {
	tb.Helper()
	fm, err := Encode(nil, 0, AddFlow(f))
	if err != nil {
		tb.Fatal(err)
	}
	tail := fm[HeaderLen+40:] // match and instructions
	var flags uint16
	if f.SendFlowRem {
		flags = 1
	}
	b := []byte{
		Version, 19, 0, 0, 0, 0, 0, 1, // ofp_header OFPT_MULTIPART_REPLY, length below, xid 1
		0, 1, 0, 0, 0, 0, 0, 0, // multipart type OFPMP_FLOW, flags, pad
	}
	b = binary.BigEndian.AppendUint16(b, uint16(48+len(tail))) // length
	b = append(b, byte(f.Table), 0)                            // table_id, pad
	b = append(b, 0, 0, 0, 1, 0, 0, 0, 0)                      // duration_sec 1, duration_nsec 0
	b = binary.BigEndian.AppendUint16(b, f.Priority)
	b = binary.BigEndian.AppendUint16(b, f.IdleTimeout)
	b = binary.BigEndian.AppendUint16(b, f.HardTimeout)
	b = binary.BigEndian.AppendUint16(b, flags)
	b = append(b, 0, 0, 0, 0) // pad
	b = binary.BigEndian.AppendUint64(b, uint64(f.Cookie))
	b = binary.BigEndian.AppendUint64(b, 3)   // packet_count
	b = binary.BigEndian.AppendUint64(b, 300) // byte_count
	b = append(b, tail...)
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	return b
}

// TestOVSDumpMatchesString checks Flow.String against the text OVS
// prints for the same flow: a flow-stats reply carrying our encoding of
// the flow goes through `ovs-ofctl ofp-print`, which formats it with the
// code `ovs-ofctl dump-flows` uses, and NormalizeDump strips the
// counters. It also checks our own decoder on the same reply.
func TestOVSDumpMatchesString(t *testing.T) {
	for _, tc := range stringCases {
		t.Run(tc.name, func(t *testing.T) {
			reply := flowStatsReply(t, tc.flow)
			mp, err := DecodeMultipartReply(reply[HeaderLen:])
			if err != nil {
				t.Fatal(err)
			}
			stats, err := DecodeFlowStats(mp.Body)
			if err != nil || len(stats) != 1 {
				t.Fatalf("DecodeFlowStats: %d entries, %v", len(stats), err)
			}
			if got, want := stats[0].Match.String(), tc.flow.Match.String(); got != want {
				t.Errorf("decoded match %q, want %q", got, want)
			}
			out := ofpPrint(t, reply)
			lines := strings.Split(out, "\n")
			if len(lines) != 2 {
				t.Fatalf("ofp-print printed %d lines:\n%s", len(lines), out)
			}
			if got, want := flowstest.NormalizeDump(lines[1]), tc.flow.String(); got != want {
				t.Errorf("ovs-ofctl prints\n%q\nFlow.String\n%q", got, want)
			}
		})
	}
}
