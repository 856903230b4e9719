package proxyarp

import (
	"context"
	"reflect"
	"testing"

	"github.com/ovsmesh/ovsmesh/apps"
	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/topo"
)

// TestExplain checks what the app expects the arp and arp_responder
// stages to do, against the flows it installs: 10.0.0.1 is bound to
// macA behind h1 port 1.
func TestExplain(t *testing.T) {
	a, sw := newMesh3(t, Options{})
	macA, macB := mac("02:00:00:00:01:01"), mac("02:00:00:00:02:01")
	ipA := ip("10.0.0.1")
	a.PacketIn(context.Background(), sw["h1"], pin(1, garp(macA, ipA)))
	h1, h2 := topo.DPIDFor("h1"), topo.DPIDFor("h2")
	arp := func(dpid flows.DPID, in flows.OFPort, op uint16, sha []byte, spa, tpa string) apps.Packet {
		return apps.Packet{DPID: dpid, InPort: in, EthSrc: sha, EthType: flows.EthTypeARP, ARPOp: op, ARPSHA: sha, ARPSPA: ip(spa), ARPTPA: ip(tpa)}
	}
	tests := []struct {
		name  string
		stage string
		pkt   apps.Packet
		want  apps.Decision
	}{
		{"known sender", "arp", arp(h1, 1, 1, macA, "10.0.0.1", "10.0.0.2"),
			apps.Decision{App: ID, Object: ipObject(ipA), Next: "arp_responder"}},
		{"a claim of a bound IP", "arp", arp(h2, 1, 1, macB, "10.0.0.1", "10.0.0.2"),
			apps.Decision{App: ID, Object: ipObject(ipA), Controller: true}},
		{"a new sender", "arp", arp(h2, 1, 1, macB, "10.0.0.2", "10.0.0.1"),
			apps.Decision{App: ID, Controller: true, Next: "arp_responder"}},
		{"an ARP probe", "arp", arp(h2, 1, 1, macB, "0.0.0.0", "10.0.0.1"),
			apps.Decision{App: ID, Next: "arp_responder"}},
		{"a bad opcode", "arp", arp(h2, 1, 3, macB, "10.0.0.2", "10.0.0.1"),
			apps.Decision{App: ID, Drop: "neither request nor reply"}},
		{"from a tunnel", "arp", apps.Packet{DPID: h2, InPort: 11, From: "h1", EthType: flows.EthTypeIPv4},
			apps.Decision{App: ID, Next: "l2"}},
		{"not ARP", "arp", apps.Packet{DPID: h2, InPort: 1, EthType: flows.EthTypeIPv4},
			apps.Decision{App: flows.AppBaseline, Object: uint32(TableARP), Next: apps.NextStage}},
		{"a request for a bound IP is answered", "arp_responder", arp(h2, 2, 1, macB, "10.0.0.2", "10.0.0.1"),
			apps.Decision{App: ID, Object: ipObject(ipA), Outputs: []apps.Output{{Port: 2}}}},
		{"the target behind the asker's port", "arp_responder", arp(h1, 1, 1, macB, "10.0.0.2", "10.0.0.1"),
			apps.Decision{App: ID, Object: ipObject(ipA), Drop: "the target answers itself"}},
		{"an unbound IP passes", "arp_responder", arp(h2, 2, 1, macB, "10.0.0.1", "10.0.0.2"),
			apps.Decision{App: flows.AppBaseline, Object: uint32(TableARPResponder), Next: apps.NextStage}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := a.Explain(tc.stage, tc.pkt)
			if !ok || got.Rule == "" {
				t.Fatalf("Explain: %+v, %v; want a decision with a rule", got, ok)
			}
			got.Rule = ""
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Explain\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
	if d, ok := a.Explain("arp", apps.Packet{DPID: 0x99, EthType: flows.EthTypeARP}); !ok || d.App != flows.AppBaseline || d.Next != apps.NextStage {
		t.Errorf("a switch that is no mesh host: %+v, %v; want the stage passed on", d, ok)
	}
	if _, ok := a.Explain("l2", apps.Packet{DPID: h1}); ok {
		t.Error("Explain for another app's stage")
	}
}
