package learning

import (
	"context"
	"reflect"
	"testing"

	"github.com/ovsmesh/ovsmesh/apps"
	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/topo"
)

// TestExplain checks what the app expects classify and l2 to do with a
// packet, against the flows it installs: macA is learned on h1 port 1.
func TestExplain(t *testing.T) {
	a, sw := newMesh3(t, Options{})
	a.PacketIn(context.Background(), sw["h1"], copyIn(1, macA, bcast))
	h1, h2 := topo.DPIDFor("h1"), topo.DPIDFor("h2")
	local := []apps.Output{{Port: 2}, {Port: flows.PortLocal}}
	tests := []struct {
		name  string
		stage string
		pkt   apps.Packet
		want  apps.Decision
	}{
		{"known source", "classify", apps.Packet{DPID: h1, InPort: 1, EthSrc: macA},
			apps.Decision{App: ID, Object: macObject(macA), Next: apps.NextStage}},
		{"unknown source", "classify", apps.Packet{DPID: h1, InPort: 2, EthSrc: macB},
			apps.Decision{App: ID, Controller: true, Next: apps.NextStage}},
		{"known MAC at another place", "classify", apps.Packet{DPID: h2, InPort: 1, EthSrc: macA},
			apps.Decision{App: ID, Controller: true, Next: apps.NextStage}},
		{"from a tunnel", "classify", apps.Packet{DPID: h2, InPort: 11, From: "h1", EthSrc: macA},
			apps.Decision{App: ID, Next: apps.NextStage}},
		{"an unknown port", "classify", apps.Packet{DPID: h1, InPort: 99, EthSrc: macA},
			apps.Decision{App: flows.AppBaseline, Object: uint32(TableClassify), Controller: true}},
		{"learned here", "l2", apps.Packet{DPID: h1, InPort: 2, EthDst: macA},
			apps.Decision{App: ID, Object: macObject(macA), Outputs: []apps.Output{{Port: 1}}}},
		{"learned on a peer", "l2", apps.Packet{DPID: h2, InPort: 1, EthDst: macA},
			apps.Decision{App: ID, Object: macObject(macA), Outputs: []apps.Output{{Port: 11, Tunnel: "h1"}}}},
		{"unknown from a local port: everything but the in_port", "l2", apps.Packet{DPID: h1, InPort: 1, EthDst: bcast},
			apps.Decision{App: flows.AppBaseline, Object: uint32(TableL2), Flood: true,
				Outputs: append(append([]apps.Output{}, local...), apps.Output{Port: 12, Tunnel: "h2"}, apps.Output{Port: 13, Tunnel: "h3"})}},
		{"unknown from a tunnel: local ports only", "l2", apps.Packet{DPID: h2, InPort: 11, From: "h1", EthDst: macB},
			apps.Decision{App: ID, Flood: true, Outputs: []apps.Output{{Port: 1}, {Port: 2}, {Port: flows.PortLocal}}}},
		{"the probe MAC", "l2", apps.Packet{DPID: h1, InPort: 1, EthDst: flows.ProbeMAC[:]},
			apps.Decision{App: ID, Drop: "frames to the probe MAC are dropped"}},
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
	if _, ok := a.Explain("l2", apps.Packet{DPID: 0x99}); ok {
		t.Error("Explain for a switch the app has no session with")
	}
	if _, ok := a.Explain("arp", apps.Packet{DPID: h1}); ok {
		t.Error("Explain for another app's stage")
	}
}
