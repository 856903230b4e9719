package nat

import (
	"context"
	"reflect"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/ovsmesh/ovsmesh/apps"
	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/topo"
)

// TestExplain checks what the app expects its stages to do, against the
// flows of testdata/mesh3.flows: h3 the gateway with ext0 on port 5 and
// its next hop resolved, h1's tunnel to h3 on port 13.
func TestExplain(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil)
	reply := arpFrame(t, nhMAC, extMAC, layers.ARPReply, ip("198.18.200.254"), ip("198.18.200.1"))
	must(t, f.a.PacketIn(ctx, f.recs["h3"], &flows.PacketIn{Table: TableExternal, InPort: 5, Data: reply}))
	h1, h3 := topo.DPIDFor("h1"), topo.DPIDFor("h3")
	v4 := func(dpid flows.DPID, in flows.OFPort, from string, dst []byte, src, to string) apps.Packet {
		return apps.Packet{DPID: dpid, InPort: in, From: from, EthSrc: macA, EthDst: dst, EthType: flows.EthTypeIPv4,
			IPSrc: ip(src), IPDst: ip(to), IPProto: flows.IPProtoICMP, SrcPort: 8}
	}
	arp := func(dpid flows.DPID, in flows.OFPort, from string, op uint16, sha []byte, spa, tpa string) apps.Packet {
		return apps.Packet{DPID: dpid, InPort: in, From: from, EthSrc: sha, EthType: flows.EthTypeARP, ARPOp: op, ARPSHA: sha,
			ARPSPA: ip(spa), ARPTPA: ip(tpa)}
	}
	out := v4(h3, 11, "h1", routerHW, "10.0.1.1", "198.18.201.1")
	snat := out
	snat.IPSrc = ip("198.18.200.1")
	wire := snat
	wire.EthSrc, wire.EthDst = extMAC, nhMAC
	tests := []struct {
		name  string
		stage string
		pkt   apps.Packet
		want  apps.Decision
		ok    bool
	}{
		{"off the external port", "nat_external", v4(h1, 1, "", routerHW, "10.0.1.1", "198.18.201.1"),
			apps.Decision{App: flows.AppBaseline, Object: uint32(TableExternal), Next: apps.NextStage}, true},
		{"who-has the external IP", "nat_external", arp(h3, 5, "", 1, nhMAC, "198.18.200.9", "198.18.200.1"),
			apps.Decision{App: ID, Object: fixedExternalARP, Outputs: []apps.Output{{Port: 5}}}, true},
		{"the next hop asks", "nat_external", arp(h3, 5, "", 1, nhMAC, "198.18.200.254", "198.18.200.1"),
			apps.Decision{App: ID, Object: fixedExternalARP, Outputs: []apps.Output{{Port: 5}}, Controller: true}, true},
		{"outside noise", "nat_external", arp(h3, 5, "", 1, nhMAC, "198.18.200.9", "198.18.200.7"),
			apps.Decision{App: ID, Object: fixedOutside, Drop: "outside traffic that matches nothing"}, true},
		{"to the external IP is conntrack's", "nat_external", v4(h3, 5, "", extMAC, "198.18.201.1", "198.18.200.1"),
			apps.Decision{}, false},
		{"a guest claiming the router IP", "nat", arp(h1, 1, "", 1, macA, "10.255.255.254", "10.0.2.1"),
			apps.Decision{App: ID, Object: fixedRouterARP, Drop: "the router IP is the controller's"}, true},
		{"overlay traffic", "nat", v4(h1, 1, "", macB, "10.0.1.1", "10.0.2.1"),
			apps.Decision{App: ID, Object: fixedRedirectPass, Next: "nat_router"}, true},
		{"not to the router", "nat_router", v4(h1, 1, "", macB, "10.0.1.1", "10.0.2.1"),
			apps.Decision{App: ID, Object: fixedRedirectPass, Next: apps.NextStage}, true},
		{"to the router, off the gateway", "nat_router", v4(h1, 1, "", routerHW, "10.0.1.1", "198.18.201.1"),
			apps.Decision{App: ID, Object: fixedToGateway, Outputs: []apps.Output{{Port: 13, Tunnel: "h3"}}}, true},
		{"to the router from a tunnel, off the gateway", "nat_router", v4(h1, 11, "h2", routerHW, "10.0.1.1", "198.18.201.1"),
			apps.Decision{App: ID, Object: fixedToGateway, Drop: "only the gateway routes"}, true},
		{"masqueraded on the gateway", "nat_router", out,
			apps.Decision{App: ID, Object: fixedGateway, Next: "nat_out", Rewrite: &snat}, true},
		{"hairpin is conntrack's", "nat_router", v4(h3, 11, "h1", routerHW, "10.0.1.1", "10.0.2.1"), apps.Decision{}, false},
		{"not from inside", "nat_router", v4(h3, 11, "h1", routerHW, "192.0.2.1", "198.18.201.1"),
			apps.Decision{App: ID, Object: fixedToGateway, Drop: "the router routes only its inside networks"}, true},
		{"out to the next hop", "nat_out", snat,
			apps.Decision{App: ID, Object: fixedOut, Outputs: []apps.Output{{Port: 5}}, Rewrite: &wire}, true},
		{"who-has the router IP", "nat_router_arp", arp(h1, 1, "", 1, macA, "10.0.1.1", "10.255.255.254"),
			apps.Decision{App: ID, Object: fixedRouterARP, Outputs: []apps.Output{{Port: 1}}}, true},
		{"who-has another IP", "nat_router_arp", arp(h1, 1, "", 1, macA, "10.0.1.1", "10.0.2.1"),
			apps.Decision{App: flows.AppBaseline, Object: uint32(TableRouterARP), Next: apps.NextStage}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := f.a.Explain(tc.stage, tc.pkt)
			if ok != tc.ok {
				t.Fatalf("Explain: %+v, %v; want ok %v", got, ok, tc.ok)
			}
			if ok && got.Rule == "" {
				t.Fatalf("Explain: %+v without a rule", got)
			}
			got.Rule = ""
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Explain\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
	if _, ok := f.a.Explain("nat", apps.Packet{DPID: 0x99}); ok {
		t.Error("Explain on a switch the app has no session with")
	}
}
