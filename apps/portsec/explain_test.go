package portsec

import (
	"testing"

	"github.com/ovsmesh/ovsmesh/apps"
	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/topo"
)

// TestExplain checks what the app expects port_security to do with a
// packet, for h1's g1 declared with macA and 10.0.1.1 (testConfig).
func TestExplain(t *testing.T) {
	f := newFixture(t, testConfig(), nil, nil)
	h1, h2 := topo.DPIDFor("h1"), topo.DPIDFor("h2")
	id := f.a.res.ports[key{"h1", "g1"}].id
	v4 := func(dpid flows.DPID, in flows.OFPort, from string, src []byte, ipSrc string) apps.Packet {
		return apps.Packet{DPID: dpid, InPort: in, From: from, EthSrc: src, EthDst: macB, EthType: flows.EthTypeIPv4,
			IPSrc: ip(ipSrc), IPDst: ip("10.0.2.1"), IPProto: flows.IPProtoICMP}
	}
	arp := func(dpid flows.DPID, in flows.OFPort, sha []byte, spa string) apps.Packet {
		return apps.Packet{DPID: dpid, InPort: in, EthSrc: sha, EthType: flows.EthTypeARP, ARPOp: 1, ARPSHA: sha,
			ARPSPA: ip(spa), ARPTPA: ip("10.0.2.1")}
	}
	tests := []struct {
		name string
		pkt  apps.Packet
		want apps.Decision
	}{
		{"the declared port's own IPv4", v4(h1, 1, "", macA, "10.0.1.1"),
			apps.Decision{App: ID, Object: objectOf(kindAllow, id), Next: apps.NextStage}},
		{"its ARP", arp(h1, 1, macA, "10.0.1.1"),
			apps.Decision{App: ID, Object: objectOf(kindAllow, id), Next: apps.NextStage}},
		{"another source IP", v4(h1, 1, "", macA, "10.0.1.9"),
			apps.Decision{App: ID, Object: objectOf(kindIP, id), Drop: "ip"}},
		{"another source MAC", v4(h1, 1, "", macB, "10.0.1.1"),
			apps.Decision{App: ID, Object: objectOf(kindMAC, id), Drop: "mac"}},
		{"ARP with another sender IP", arp(h1, 1, macA, "10.0.1.9"),
			apps.Decision{App: ID, Object: objectOf(kindARP, id), Drop: "arp"}},
		{"an undeclared port", v4(h1, 2, "", macB, "10.0.1.2"),
			apps.Decision{App: flows.AppBaseline, Object: uint32(TablePortSecurity), Next: apps.NextStage}},
		{"the declared MAC elsewhere", v4(h2, 1, "", macA, "10.0.1.1"),
			apps.Decision{App: ID, Object: objectOf(kindClaim, id), Drop: "claim"}},
		{"the declared MAC through a tunnel", v4(h2, 11, "h1", macA, "10.0.1.1"),
			apps.Decision{App: ID, Object: objectOf(kindPass, 0), Next: apps.NextStage}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := f.a.Explain("port_security", tc.pkt)
			if !ok || got.Rule == "" {
				t.Fatalf("Explain: %+v, %v; want a decision with a rule", got, ok)
			}
			got.Rule = ""
			if got.App != tc.want.App || got.Object != tc.want.Object || got.Next != tc.want.Next || got.Drop != tc.want.Drop {
				t.Errorf("Explain\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
	if _, ok := f.a.Explain("classify", apps.Packet{DPID: h1}); ok {
		t.Error("Explain for another app's stage")
	}
}
