package flows

import (
	"bytes"
	"encoding/hex"
	"net"
	"net/netip"
	"testing"

	"github.com/netrack/openflow/ofp"
)

// mac parses a MAC address or panics; for test tables.
func mac(s string) net.HardwareAddr {
	a, err := net.ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return a
}

// Flows shared by the golden, netrack, ovs-ofctl and String tests.
var (
	// flowKnownSrc admits a learned (in_port, eth_src) in table 0.
	flowKnownSrc = Flow{
		Table:       TableClassify,
		Priority:    PrioKnownSrc,
		Cookie:      0x1a02000000000005,
		IdleTimeout: 300,
		SendFlowRem: true,
		Match:       Match{InPort: 1, EthSrc: mac("02:00:00:00:01:01")},
		Goto:        TableID(1),
	}
	// flowTunnelIn tags packets from tunnel port 5 and moves them on.
	flowTunnelIn = Flow{
		Table:             TableClassify,
		Priority:          PrioTunnelIn,
		Cookie:            NewCookie(0x1a02, AppBaseline, 5),
		Match:             Match{InPort: 5},
		WriteMetadata:     MetaFromTunnel,
		WriteMetadataMask: MetaFromTunnel,
		Goto:              TableID(1),
	}
	// flowFloodFromTunnel floods tunnel packets to local ports only.
	flowFloodFromTunnel = Flow{
		Table:    TableID(1),
		Priority: PrioFloodFromTunnel,
		Cookie:   NewCookie(0x1a02, AppBaseline, 0),
		Match:    Match{Metadata: MetaFromTunnel, MetadataMask: MetaFromTunnel},
		Actions:  []Action{Group{ID: GroupFloodTunnel}},
	}
	// flowTableMiss sends unknown sources to the controller.
	flowTableMiss = Flow{
		Table:    TableClassify,
		Priority: PrioTableMiss,
		Cookie:   NewCookie(0x1a02, AppBaseline, 0),
		Actions:  []Action{ToController},
	}
	// flowL2Dst forwards a learned eth_dst.
	flowL2Dst = Flow{
		Table:    TableID(1),
		Priority: PrioL2Dst,
		Cookie:   NewCookie(0x1a02, 2, 7),
		Match:    Match{EthDst: mac("02:00:00:00:01:02")},
		Actions:  []Action{Output{Port: 2}},
	}
	// flowARP uses every match field and several actions.
	flowARP = Flow{
		Table:    TableID(1),
		Priority: 7,
		Match: Match{
			InPort:       1,
			Metadata:     1,
			MetadataMask: 1,
			EthSrc:       mac("02:00:00:00:01:01"),
			EthDst:       mac("02:00:00:00:01:02"),
			EthType:      EthTypeARP,
			ARPOp:        2,
			ARPSPA:       netip.MustParseAddr("10.0.0.2"),
			ARPTPA:       netip.MustParseAddr("10.0.0.1"),
		},
		Actions: []Action{Output{Port: 1}, Group{ID: 1}, ToController},
	}
)

// frame is a 14-byte Ethernet header (broadcast ARP) used as packet data.
var frame = []byte{
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // eth_dst broadcast
	0x02, 0x00, 0x00, 0x00, 0x01, 0x01, // eth_src
	0x08, 0x06, // eth_type ARP
}

// goldenCase is one controller message and its expected wire bytes.
type goldenCase struct {
	name string
	xid  uint32
	msg  Message
	want []byte
}

// goldenCases lists every message the controller builds, each byte
// annotated with its field. Section numbers are OpenFlow 1.3.5.
var goldenCases = []goldenCase{
	{
		// §7.5.1 ofp_hello with one ofp_hello_elem_versionbitmap.
		name: "hello", xid: 1, msg: Hello{},
		want: []byte{
			0x04,       // version
			0x00,       // type OFPT_HELLO
			0x00, 0x10, // length 16
			0x00, 0x00, 0x00, 0x01, // xid 1
			0x00, 0x01, // element type OFPHET_VERSIONBITMAP
			0x00, 0x08, // element length 8
			0x00, 0x00, 0x00, 0x10, // bitmap: bit 4 (OpenFlow 1.3)
		},
	},
	{
		// §7.3.1 OFPT_FEATURES_REQUEST has no body.
		name: "features-request", xid: 2, msg: FeaturesRequest{},
		want: []byte{
			0x04,       // version
			0x05,       // type OFPT_FEATURES_REQUEST
			0x00, 0x08, // length 8
			0x00, 0x00, 0x00, 0x02, // xid 2
		},
	},
	{
		// §7.3.2 ofp_switch_config.
		name: "set-config", xid: 3, msg: SetConfig{MissSendLen: MaxLenNoBuffer},
		want: []byte{
			0x04,       // version
			0x09,       // type OFPT_SET_CONFIG
			0x00, 0x0c, // length 12
			0x00, 0x00, 0x00, 0x03, // xid 3
			0x00, 0x00, // flags OFPC_FRAG_NORMAL
			0xff, 0xff, // miss_send_len OFPCML_NO_BUFFER
		},
	},
	{
		// §7.3.5 ofp_multipart_request, §7.3.5.7 OFPMP_PORT_DESC has no body.
		name: "port-desc-request", xid: 4, msg: PortDescRequest{},
		want: []byte{
			0x04,       // version
			0x12,       // type OFPT_MULTIPART_REQUEST
			0x00, 0x10, // length 16
			0x00, 0x00, 0x00, 0x04, // xid 4
			0x00, 0x0d, // multipart type OFPMP_PORT_DESC
			0x00, 0x00, // flags
			0x00, 0x00, 0x00, 0x00, // pad
		},
	},
	{
		// §7.3.5 ofp_multipart_request, §7.3.5.2 ofp_flow_stats_request.
		name: "flow-stats-request", xid: 5,
		msg: FlowStatsRequest{Table: TableAll, Cookie: NewCookie(0x1a02, 2, 0), CookieMask: CookieGenAppMask},
		want: []byte{
			0x04,       // version
			0x12,       // type OFPT_MULTIPART_REQUEST
			0x00, 0x38, // length 56
			0x00, 0x00, 0x00, 0x05, // xid 5
			0x00, 0x01, // multipart type OFPMP_FLOW
			0x00, 0x00, // flags
			0x00, 0x00, 0x00, 0x00, // pad
			0xff,             // table_id OFPTT_ALL
			0x00, 0x00, 0x00, // pad
			0xff, 0xff, 0xff, 0xff, // out_port OFPP_ANY
			0xff, 0xff, 0xff, 0xff, // out_group OFPG_ANY
			0x00, 0x00, 0x00, 0x00, // pad
			0x1a, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, // cookie gen 0x1a02 app 2
			0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, // cookie_mask gen+app
			0x00, 0x01, // match type OFPMT_OXM
			0x00, 0x04, // match length 4 (no fields)
			0x00, 0x00, 0x00, 0x00, // match pad to 8
		},
	},
	{
		// §7.3.8 OFPT_BARRIER_REQUEST has no body.
		name: "barrier-request", xid: 6, msg: BarrierRequest{},
		want: []byte{
			0x04,       // version
			0x14,       // type OFPT_BARRIER_REQUEST
			0x00, 0x08, // length 8
			0x00, 0x00, 0x00, 0x06, // xid 6
		},
	},
	{
		// §7.5.3 echo request: arbitrary data.
		name: "echo-request", xid: 7, msg: EchoRequest{Data: []byte("ab")},
		want: []byte{
			0x04,       // version
			0x02,       // type OFPT_ECHO_REQUEST
			0x00, 0x0a, // length 10
			0x00, 0x00, 0x00, 0x07, // xid 7
			'a', 'b', // data
		},
	},
	{
		// §7.5.3 echo reply: the request's data.
		name: "echo-reply", xid: 0xdeadbeef, msg: EchoReply{Data: []byte("ab")},
		want: []byte{
			0x04,       // version
			0x03,       // type OFPT_ECHO_REPLY
			0x00, 0x0a, // length 10
			0xde, 0xad, 0xbe, 0xef, // xid of the request
			'a', 'b', // data
		},
	},
	{
		// §7.5.4 ofp_error_msg, OFPET_HELLO_FAILED / OFPHFC_INCOMPATIBLE.
		name: "error-hello-failed", xid: 8,
		msg: Error{Type: ErrType(ofp.ErrTypeHelloFailed), Code: ErrCode(ofp.ErrCodeHelloFailedIncompatible), Data: []byte("v1.3")},
		want: []byte{
			0x04,       // version
			0x01,       // type OFPT_ERROR
			0x00, 0x10, // length 16
			0x00, 0x00, 0x00, 0x08, // xid 8
			0x00, 0x00, // type OFPET_HELLO_FAILED
			0x00, 0x00, // code OFPHFC_INCOMPATIBLE
			'v', '1', '.', '3', // data: ASCII text
		},
	},
	{
		// §7.3.4.1 ofp_flow_mod, §7.2.3 ofp_match, §7.2.4 goto_table.
		name: "flow-mod-add-in-port-eth-src-goto", xid: 9, msg: AddFlow(flowKnownSrc),
		want: []byte{
			0x04,       // version
			0x0e,       // type OFPT_FLOW_MOD
			0x00, 0x50, // length 80
			0x00, 0x00, 0x00, 0x09, // xid 9
			0x1a, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, // cookie
			0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // cookie_mask
			0x00,       // table_id 0
			0x00,       // command OFPFC_ADD
			0x01, 0x2c, // idle_timeout 300
			0x00, 0x00, // hard_timeout 0
			0x00, 0xc8, // priority 200
			0xff, 0xff, 0xff, 0xff, // buffer_id OFP_NO_BUFFER
			0xff, 0xff, 0xff, 0xff, // out_port OFPP_ANY
			0xff, 0xff, 0xff, 0xff, // out_group OFPG_ANY
			0x00, 0x01, // flags OFPFF_SEND_FLOW_REM
			0x00, 0x00, // pad
			0x00, 0x01, // match type OFPMT_OXM
			0x00, 0x16, // match length 22 (4 + 8 + 10, without pad)
			0x80, 0x00, // OXM class OFPXMC_OPENFLOW_BASIC
			0x00,                   // field OFPXMT_OFB_IN_PORT (0) << 1, no mask
			0x04,                   // OXM length 4
			0x00, 0x00, 0x00, 0x01, // in_port 1
			0x80, 0x00, // OXM class OFPXMC_OPENFLOW_BASIC
			0x08,                               // field OFPXMT_OFB_ETH_SRC (4) << 1, no mask
			0x06,                               // OXM length 6
			0x02, 0x00, 0x00, 0x00, 0x01, 0x01, // eth_src
			0x00, 0x00, // match pad to 24
			0x00, 0x01, // instruction OFPIT_GOTO_TABLE
			0x00, 0x08, // instruction length 8
			0x01,             // table_id 1
			0x00, 0x00, 0x00, // pad
		},
	},
	{
		// §7.3.4.1 ofp_flow_mod, §7.2.4 write_metadata and goto_table.
		name: "flow-mod-add-write-metadata-goto", xid: 10, msg: AddFlow(flowTunnelIn),
		want: []byte{
			0x04,       // version
			0x0e,       // type OFPT_FLOW_MOD
			0x00, 0x60, // length 96
			0x00, 0x00, 0x00, 0x0a, // xid 10
			0x1a, 0x02, 0x01, 0x00, 0x00, 0x00, 0x00, 0x05, // cookie gen 0x1a02 app 1 object 5
			0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // cookie_mask
			0x00,       // table_id 0
			0x00,       // command OFPFC_ADD
			0x00, 0x00, // idle_timeout 0
			0x00, 0x00, // hard_timeout 0
			0x00, 0x64, // priority 100
			0xff, 0xff, 0xff, 0xff, // buffer_id OFP_NO_BUFFER
			0xff, 0xff, 0xff, 0xff, // out_port OFPP_ANY
			0xff, 0xff, 0xff, 0xff, // out_group OFPG_ANY
			0x00, 0x00, // flags
			0x00, 0x00, // pad
			0x00, 0x01, // match type OFPMT_OXM
			0x00, 0x0c, // match length 12
			0x80, 0x00, // OXM class OFPXMC_OPENFLOW_BASIC
			0x00,                   // field OFPXMT_OFB_IN_PORT << 1, no mask
			0x04,                   // OXM length 4
			0x00, 0x00, 0x00, 0x05, // in_port 5
			0x00, 0x00, 0x00, 0x00, // match pad to 16
			0x00, 0x02, // instruction OFPIT_WRITE_METADATA
			0x00, 0x18, // instruction length 24
			0x00, 0x00, 0x00, 0x00, // pad
			0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, // metadata
			0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, // metadata_mask
			0x00, 0x01, // instruction OFPIT_GOTO_TABLE
			0x00, 0x08, // instruction length 8
			0x01,             // table_id 1
			0x00, 0x00, 0x00, // pad
		},
	},
	{
		// §7.3.4.1 ofp_flow_mod, masked OXM_OF_METADATA, §7.2.5 group action.
		name: "flow-mod-add-metadata-group", xid: 11, msg: AddFlow(flowFloodFromTunnel),
		want: []byte{
			0x04,       // version
			0x0e,       // type OFPT_FLOW_MOD
			0x00, 0x58, // length 88
			0x00, 0x00, 0x00, 0x0b, // xid 11
			0x1a, 0x02, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, // cookie gen 0x1a02 app 1
			0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // cookie_mask
			0x01,       // table_id 1
			0x00,       // command OFPFC_ADD
			0x00, 0x00, // idle_timeout 0
			0x00, 0x00, // hard_timeout 0
			0x00, 0x01, // priority 1
			0xff, 0xff, 0xff, 0xff, // buffer_id OFP_NO_BUFFER
			0xff, 0xff, 0xff, 0xff, // out_port OFPP_ANY
			0xff, 0xff, 0xff, 0xff, // out_group OFPG_ANY
			0x00, 0x00, // flags
			0x00, 0x00, // pad
			0x00, 0x01, // match type OFPMT_OXM
			0x00, 0x18, // match length 24 (no pad needed)
			0x80, 0x00, // OXM class OFPXMC_OPENFLOW_BASIC
			0x05,                                           // field OFPXMT_OFB_METADATA (2) << 1 | hasmask
			0x10,                                           // OXM length 16 (value + mask)
			0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, // metadata value
			0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, // metadata mask
			0x00, 0x04, // instruction OFPIT_APPLY_ACTIONS
			0x00, 0x10, // instruction length 16
			0x00, 0x00, 0x00, 0x00, // pad
			0x00, 0x16, // action OFPAT_GROUP
			0x00, 0x08, // action length 8
			0x00, 0x00, 0x00, 0x02, // group_id 2
		},
	},
	{
		// §7.3.4.1, §7.2.3.1: an empty match still carries OFPMT_OXM with
		// length 4 and 4 pad bytes (OVS rejects type 0 with OFPBMC_BAD_LEN).
		name: "flow-mod-add-table-miss", xid: 12, msg: AddFlow(flowTableMiss),
		want: []byte{
			0x04,       // version
			0x0e,       // type OFPT_FLOW_MOD
			0x00, 0x50, // length 80
			0x00, 0x00, 0x00, 0x0c, // xid 12
			0x1a, 0x02, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, // cookie
			0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // cookie_mask
			0x00,       // table_id 0
			0x00,       // command OFPFC_ADD
			0x00, 0x00, // idle_timeout 0
			0x00, 0x00, // hard_timeout 0
			0x00, 0x00, // priority 0 (table-miss)
			0xff, 0xff, 0xff, 0xff, // buffer_id OFP_NO_BUFFER
			0xff, 0xff, 0xff, 0xff, // out_port OFPP_ANY
			0xff, 0xff, 0xff, 0xff, // out_group OFPG_ANY
			0x00, 0x00, // flags
			0x00, 0x00, // pad
			0x00, 0x01, // match type OFPMT_OXM
			0x00, 0x04, // match length 4 (no fields)
			0x00, 0x00, 0x00, 0x00, // match pad to 8
			0x00, 0x04, // instruction OFPIT_APPLY_ACTIONS
			0x00, 0x18, // instruction length 24
			0x00, 0x00, 0x00, 0x00, // pad
			0x00, 0x00, // action OFPAT_OUTPUT
			0x00, 0x10, // action length 16
			0xff, 0xff, 0xff, 0xfd, // port OFPP_CONTROLLER
			0xff, 0xff, // max_len OFPCML_NO_BUFFER
			0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // pad
		},
	},
	{
		// §7.3.4.1 OFPFC_DELETE in every table by cookie and mask; §6.4:
		// deletes carry no instructions.
		name: "flow-mod-delete-by-cookie", xid: 13,
		msg: DeleteByCookie(NewCookie(0x1a01, 2, 0), CookieGenAppMask),
		want: []byte{
			0x04,       // version
			0x0e,       // type OFPT_FLOW_MOD
			0x00, 0x38, // length 56
			0x00, 0x00, 0x00, 0x0d, // xid 13
			0x1a, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, // cookie gen 0x1a01 app 2
			0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, // cookie_mask gen+app
			0xff,       // table_id OFPTT_ALL
			0x03,       // command OFPFC_DELETE
			0x00, 0x00, // idle_timeout
			0x00, 0x00, // hard_timeout
			0x00, 0x00, // priority
			0xff, 0xff, 0xff, 0xff, // buffer_id OFP_NO_BUFFER
			0xff, 0xff, 0xff, 0xff, // out_port OFPP_ANY
			0xff, 0xff, 0xff, 0xff, // out_group OFPG_ANY
			0x00, 0x00, // flags
			0x00, 0x00, // pad
			0x00, 0x01, // match type OFPMT_OXM
			0x00, 0x04, // match length 4
			0x00, 0x00, 0x00, 0x00, // match pad
		},
	},
	{
		// §7.3.4.1 OFPFC_DELETE_STRICT: table, priority and match only;
		// the flow's cookie and actions are not sent.
		name: "flow-mod-delete-strict", xid: 14, msg: DeleteStrict(flowL2Dst),
		want: []byte{
			0x04,       // version
			0x0e,       // type OFPT_FLOW_MOD
			0x00, 0x40, // length 64
			0x00, 0x00, 0x00, 0x0e, // xid 14
			0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // cookie
			0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // cookie_mask (any cookie)
			0x01,       // table_id 1
			0x04,       // command OFPFC_DELETE_STRICT
			0x00, 0x00, // idle_timeout
			0x00, 0x00, // hard_timeout
			0x00, 0x64, // priority 100
			0xff, 0xff, 0xff, 0xff, // buffer_id OFP_NO_BUFFER
			0xff, 0xff, 0xff, 0xff, // out_port OFPP_ANY
			0xff, 0xff, 0xff, 0xff, // out_group OFPG_ANY
			0x00, 0x00, // flags
			0x00, 0x00, // pad
			0x00, 0x01, // match type OFPMT_OXM
			0x00, 0x0e, // match length 14
			0x80, 0x00, // OXM class OFPXMC_OPENFLOW_BASIC
			0x06,                               // field OFPXMT_OFB_ETH_DST (3) << 1, no mask
			0x06,                               // OXM length 6
			0x02, 0x00, 0x00, 0x00, 0x01, 0x02, // eth_dst
			0x00, 0x00, // match pad to 16
		},
	},
	{
		// §7.3.4.1 OFPFC_DELETE restricted to entries that output to port 3.
		name: "flow-mod-delete-out-port", xid: 15,
		msg: FlowMod{Command: FlowDelete, Flow: Flow{Table: TableAll}, OutPort: 3},
		want: []byte{
			0x04,       // version
			0x0e,       // type OFPT_FLOW_MOD
			0x00, 0x38, // length 56
			0x00, 0x00, 0x00, 0x0f, // xid 15
			0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // cookie
			0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // cookie_mask
			0xff,       // table_id OFPTT_ALL
			0x03,       // command OFPFC_DELETE
			0x00, 0x00, // idle_timeout
			0x00, 0x00, // hard_timeout
			0x00, 0x00, // priority
			0xff, 0xff, 0xff, 0xff, // buffer_id OFP_NO_BUFFER
			0x00, 0x00, 0x00, 0x03, // out_port 3
			0xff, 0xff, 0xff, 0xff, // out_group OFPG_ANY
			0x00, 0x00, // flags
			0x00, 0x00, // pad
			0x00, 0x01, // match type OFPMT_OXM
			0x00, 0x04, // match length 4
			0x00, 0x00, 0x00, 0x00, // match pad
		},
	},
	{
		// §7.3.7 ofp_packet_out: resubmit the frame to table 0 as if it
		// came from the controller port.
		name: "packet-out-table", xid: 16,
		msg: PacketOut{InPort: PortController, Actions: []Action{Output{Port: PortTable}}, Data: frame},
		want: []byte{
			0x04,       // version
			0x0d,       // type OFPT_PACKET_OUT
			0x00, 0x36, // length 54
			0x00, 0x00, 0x00, 0x10, // xid 16
			0xff, 0xff, 0xff, 0xff, // buffer_id OFP_NO_BUFFER
			0xff, 0xff, 0xff, 0xfd, // in_port OFPP_CONTROLLER
			0x00, 0x10, // actions_len 16
			0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // pad
			0x00, 0x00, // action OFPAT_OUTPUT
			0x00, 0x10, // action length 16
			0xff, 0xff, 0xff, 0xf9, // port OFPP_TABLE
			0x00, 0x00, // max_len 0
			0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // pad
			0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // data: eth_dst
			0x02, 0x00, 0x00, 0x00, 0x01, 0x01, // data: eth_src
			0x08, 0x06, // data: eth_type
		},
	},
	{
		// §7.3.4.2 ofp_group_mod with no buckets.
		name: "group-mod-add-or-mod-0-buckets", xid: 17,
		msg: GroupMod{Command: GroupAddOrModify, ID: GroupFloodLocal},
		want: []byte{
			0x04,       // version
			0x0f,       // type OFPT_GROUP_MOD
			0x00, 0x10, // length 16
			0x00, 0x00, 0x00, 0x11, // xid 17
			0x80, 0x00, // command OFPGC11_ADD_OR_MOD (Open vSwitch extension)
			0x00,                   // type OFPGT_ALL
			0x00,                   // pad
			0x00, 0x00, 0x00, 0x01, // group_id 1
		},
	},
	{
		// §7.3.4.2 ofp_group_mod with one ofp_bucket.
		name: "group-mod-add-or-mod-1-bucket", xid: 18,
		msg: GroupMod{Command: GroupAddOrModify, ID: GroupFloodTunnel, Buckets: [][]Action{{Output{Port: 1}}}},
		want: []byte{
			0x04,       // version
			0x0f,       // type OFPT_GROUP_MOD
			0x00, 0x30, // length 48
			0x00, 0x00, 0x00, 0x12, // xid 18
			0x80, 0x00, // command OFPGC11_ADD_OR_MOD
			0x00,                   // type OFPGT_ALL
			0x00,                   // pad
			0x00, 0x00, 0x00, 0x02, // group_id 2
			0x00, 0x20, // bucket len 32
			0x00, 0x00, // weight 0
			0xff, 0xff, 0xff, 0xff, // watch_port OFPP_ANY
			0xff, 0xff, 0xff, 0xff, // watch_group OFPG_ANY
			0x00, 0x00, 0x00, 0x00, // pad
			0x00, 0x00, // action OFPAT_OUTPUT
			0x00, 0x10, // action length 16
			0x00, 0x00, 0x00, 0x01, // port 1
			0x00, 0x00, // max_len 0
			0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // pad
		},
	},
	{
		// §7.3.4.2 ofp_group_mod with three buckets, the last with two
		// actions.
		name: "group-mod-add-or-mod-3-buckets", xid: 19,
		msg: GroupMod{Command: GroupAddOrModify, ID: GroupFloodLocal, Buckets: [][]Action{
			{Output{Port: 1}},
			{Output{Port: 2}},
			{Output{Port: 3}, Group{ID: GroupFloodTunnel}},
		}},
		want: []byte{
			0x04,       // version
			0x0f,       // type OFPT_GROUP_MOD
			0x00, 0x78, // length 120
			0x00, 0x00, 0x00, 0x13, // xid 19
			0x80, 0x00, // command OFPGC11_ADD_OR_MOD
			0x00,                   // type OFPGT_ALL
			0x00,                   // pad
			0x00, 0x00, 0x00, 0x01, // group_id 1
			// bucket 1
			0x00, 0x20, // bucket len 32
			0x00, 0x00, // weight 0
			0xff, 0xff, 0xff, 0xff, // watch_port OFPP_ANY
			0xff, 0xff, 0xff, 0xff, // watch_group OFPG_ANY
			0x00, 0x00, 0x00, 0x00, // pad
			0x00, 0x00, // action OFPAT_OUTPUT
			0x00, 0x10, // action length 16
			0x00, 0x00, 0x00, 0x01, // port 1
			0x00, 0x00, // max_len 0
			0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // pad
			// bucket 2
			0x00, 0x20, // bucket len 32
			0x00, 0x00, // weight 0
			0xff, 0xff, 0xff, 0xff, // watch_port OFPP_ANY
			0xff, 0xff, 0xff, 0xff, // watch_group OFPG_ANY
			0x00, 0x00, 0x00, 0x00, // pad
			0x00, 0x00, // action OFPAT_OUTPUT
			0x00, 0x10, // action length 16
			0x00, 0x00, 0x00, 0x02, // port 2
			0x00, 0x00, // max_len 0
			0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // pad
			// bucket 3
			0x00, 0x28, // bucket len 40
			0x00, 0x00, // weight 0
			0xff, 0xff, 0xff, 0xff, // watch_port OFPP_ANY
			0xff, 0xff, 0xff, 0xff, // watch_group OFPG_ANY
			0x00, 0x00, 0x00, 0x00, // pad
			0x00, 0x00, // action OFPAT_OUTPUT
			0x00, 0x10, // action length 16
			0x00, 0x00, 0x00, 0x03, // port 3
			0x00, 0x00, // max_len 0
			0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // pad
			0x00, 0x16, // action OFPAT_GROUP
			0x00, 0x08, // action length 8
			0x00, 0x00, 0x00, 0x02, // group_id 2
		},
	},
}

func TestEncodeGolden(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Encode(nil, tc.xid, tc.msg)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if !bytes.Equal(got, tc.want) {
				t.Errorf("Encode mismatch\n got %s\nwant %s", hex.EncodeToString(got), hex.EncodeToString(tc.want))
			}
			// Appending after existing bytes gives the same message.
			prefix := []byte{0xaa, 0xbb, 0xcc}
			got2, err := Encode(append([]byte(nil), prefix...), tc.xid, tc.msg)
			if err != nil {
				t.Fatalf("Encode after prefix: %v", err)
			}
			if !bytes.Equal(got2[:len(prefix)], prefix) || !bytes.Equal(got2[len(prefix):], tc.want) {
				t.Errorf("Encode after prefix\n got %s", hex.EncodeToString(got2))
			}
			// The message frames and round-trips through the Reader.
			h, body, err := NewReader(bytes.NewReader(got)).Next()
			if err != nil {
				t.Fatalf("Reader.Next: %v", err)
			}
			if h.Version != Version || h.Type != tc.msg.MsgType() || int(h.Length) != len(tc.want) || h.XID != tc.xid {
				t.Errorf("header %+v", h)
			}
			if len(body) != len(tc.want)-HeaderLen {
				t.Errorf("body %d bytes, want %d", len(body), len(tc.want)-HeaderLen)
			}
		})
	}
}

func TestEncodeTooLong(t *testing.T) {
	prefix := []byte{1, 2, 3}
	b, err := Encode(prefix, 1, EchoRequest{Data: make([]byte, 0xffff)})
	if err == nil {
		t.Fatal("Encode of a 65543-byte echo: no error")
	}
	if !bytes.Equal(b, prefix) {
		t.Errorf("Encode left %d bytes, want the 3-byte prefix", len(b))
	}
	// 65535 bytes exactly is allowed.
	b, err = Encode(nil, 1, EchoRequest{Data: make([]byte, 0xffff-HeaderLen)})
	if err != nil || len(b) != 0xffff {
		t.Errorf("Encode of a 65535-byte echo: %d bytes, %v", len(b), err)
	}
}

func TestFlowModInstructionsOnlyForAddAndModify(t *testing.T) {
	for _, cmd := range []FlowModCommand{FlowAdd, FlowModify, FlowDelete, FlowDeleteStrict} {
		b, err := Encode(nil, 1, FlowMod{Command: cmd, Flow: flowTableMiss})
		if err != nil {
			t.Fatal(err)
		}
		// 8 header + 40 fixed + 8 empty match; 24 more with apply-actions.
		want := 56
		if cmd == FlowAdd || cmd == FlowModify {
			want += 24
		}
		if len(b) != want {
			t.Errorf("command %d: %d bytes, want %d", cmd, len(b), want)
		}
	}
}

// TestEncodePointer checks that a pointer to a message encodes like the
// value (the hot path passes *FlowMod to avoid copying it to the heap).
func TestEncodePointer(t *testing.T) {
	m := AddFlow(flowARP)
	byValue, err1 := Encode(nil, 3, m)
	byPointer, err2 := Encode(nil, 3, &m)
	if err1 != nil || err2 != nil || !bytes.Equal(byValue, byPointer) {
		t.Errorf("value %x (%v), pointer %x (%v)", byValue, err1, byPointer, err2)
	}
}
