package flows

import (
	"bytes"
	"encoding/hex"
	"net/netip"
	"strings"
	"testing"

	"github.com/ovsmesh/ovsmesh/flows/flowstest"
)

// arpKnownSender is the proxy ARP app's known-sender flow for 10.0.0.5
// at 02:00:00:00:00:05 behind port 1: ARP from exactly that binding
// skips the controller and goes on to the responder table.
var arpKnownSender = Flow{
	Table:       TableARP,
	Priority:    PrioARPKnownSender,
	Cookie:      0x1a0303000a000005,
	IdleTimeout: 1200,
	SendFlowRem: true,
	Match: Match{
		InPort:  1,
		EthSrc:  mac("02:00:00:00:00:05"),
		EthType: EthTypeARP,
		ARPSPA:  netip.MustParseAddr("10.0.0.5"),
		ARPSHA:  mac("02:00:00:00:00:05"),
	},
	Goto: TableARPResponder,
}

// arpKnownSenderText is arpKnownSender.String(): what dump-flows prints.
const arpKnownSenderText = "cookie=0x1a0303000a000005, table=1, idle_timeout=1200, send_flow_rem " +
	"priority=200,arp,in_port=1,dl_src=02:00:00:00:00:05,arp_spa=10.0.0.5,arp_sha=02:00:00:00:00:05 actions=goto_table:2"

// arpKnownSenderFlowMod is AddFlow(arpKnownSender) with xid 2, byte for
// byte what `ovs-ofctl -O OpenFlow13 add-flow` (OVS 3.1.0) sends for
// arpKnownSenderText (TestARPKnownSenderMatchesOVS).
var arpKnownSenderFlowMod = []byte{
	// ofp_header (OpenFlow 1.3.5 §7.1)
	0x04,       // version 1.3
	0x0e,       // type OFPT_FLOW_MOD
	0x00, 0x68, // length 104
	0x00, 0x00, 0x00, 0x02, // xid 2
	// ofp_flow_mod (§7.3.4.1)
	0x1a, 0x03, 0x03, 0x00, 0x0a, 0x00, 0x00, 0x05, // cookie
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // cookie_mask
	0x01,       // table_id 1 (arp)
	0x00,       // command OFPFC_ADD
	0x04, 0xb0, // idle_timeout 1200
	0x00, 0x00, // hard_timeout
	0x00, 0xc8, // priority 200
	0xff, 0xff, 0xff, 0xff, // buffer_id OFP_NO_BUFFER
	0xff, 0xff, 0xff, 0xff, // out_port OFPP_ANY
	0xff, 0xff, 0xff, 0xff, // out_group OFPG_ANY
	0x00, 0x01, // flags OFPFF_SEND_FLOW_REM
	0x00, 0x00, // pad
	// ofp_match (§7.2.3)
	0x00, 0x01, // type OFPMT_OXM
	0x00, 0x2e, // length 46 (2 bytes of padding follow)
	0x80, 0x00, 0x00, 0x04, // OXM_OF_IN_PORT, length 4
	0x00, 0x00, 0x00, 0x01, // port 1
	0x80, 0x00, 0x08, 0x06, // OXM_OF_ETH_SRC, length 6
	0x02, 0x00, 0x00, 0x00, 0x00, 0x05, // 02:00:00:00:00:05
	0x80, 0x00, 0x0a, 0x02, // OXM_OF_ETH_TYPE, length 2
	0x08, 0x06, // ARP
	0x80, 0x00, 0x2c, 0x04, // OXM_OF_ARP_SPA, length 4
	0x0a, 0x00, 0x00, 0x05, // 10.0.0.5
	0x80, 0x00, 0x30, 0x06, // OXM_OF_ARP_SHA, length 6
	0x02, 0x00, 0x00, 0x00, 0x00, 0x05, // 02:00:00:00:00:05
	0x00, 0x00, // pad to 8
	// ofp_instruction_goto_table (§7.2.4)
	0x00, 0x01, // type OFPIT_GOTO_TABLE
	0x00, 0x08, // length 8
	0x02,             // table_id 2 (arp_responder)
	0x00, 0x00, 0x00, // pad
}

// TestARPKnownSenderGolden checks the known-sender flow's bytes, text and
// our decoder's reading of its match.
func TestARPKnownSenderGolden(t *testing.T) {
	got, err := Encode(nil, 2, AddFlow(arpKnownSender))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, arpKnownSenderFlowMod) {
		t.Errorf("Encode\n got %s\nwant %s", hex.EncodeToString(got), hex.EncodeToString(arpKnownSenderFlowMod))
	}
	if s := arpKnownSender.String(); s != arpKnownSenderText {
		t.Errorf("String\n got %q\nwant %q", s, arpKnownSenderText)
	}
	m, n, err := decodeMatch(arpKnownSenderFlowMod[48:])
	if err != nil || n != 48 || m.String() != arpKnownSender.Match.String() {
		t.Errorf("decodeMatch = %q, %d, %v; want %q, 48", m, n, err, arpKnownSender.Match)
	}
}

// TestARPKnownSenderMatchesOVS checks the flow both ways against OVS, as
// TestARPResponderMatchesOVS does for the responder.
func TestARPKnownSenderMatchesOVS(t *testing.T) {
	t.Run("ovs-ofctl-encodes-our-text", func(t *testing.T) {
		mods := ofctlFlowMods(t, []string{arpKnownSender.String()})
		if !bytes.Equal(mods[0], arpKnownSenderFlowMod) {
			t.Errorf("ovs-ofctl sends\n%s\nwe send\n%s", hex.EncodeToString(mods[0]), hex.EncodeToString(arpKnownSenderFlowMod))
		}
	})
	t.Run("ovs-ofctl-prints-our-text", func(t *testing.T) {
		out := ofpPrint(t, flowStatsReply(t, arpKnownSender))
		lines := strings.Split(out, "\n")
		if len(lines) != 2 {
			t.Fatalf("ofp-print printed %d lines:\n%s", len(lines), out)
		}
		if got := flowstest.NormalizeDump(lines[1]); got != arpKnownSender.String() {
			t.Errorf("ovs-ofctl prints\n%q\nFlow.String\n%q", got, arpKnownSender.String())
		}
	})
}
