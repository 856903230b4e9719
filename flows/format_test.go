package flows

import (
	"net"
	"testing"
)

// TestFormatInstructionsMatchesFlowString encodes flows and renders their
// raw instructions back: the text must be what Flow.String prints after
// "actions=".
func TestFormatInstructionsMatchesFlowString(t *testing.T) {
	mac, _ := net.ParseMAC("02:00:00:00:01:01")
	tests := []Flow{
		{Table: TableClassify, Actions: []Action{ToController}},
		{Table: TableClassify, Match: Match{InPort: 1}, WriteMetadata: MetaFromTunnel, WriteMetadataMask: MetaFromTunnel, Goto: TableARP},
		{Table: TableL2, Match: Match{EthDst: mac}, Actions: []Action{Output{Port: 3}}},
		{Table: TableL2, Actions: []Action{Group{ID: GroupFloodLocal}}},
		{Table: TableL2, Actions: []Action{Output{Port: PortInPort}, Output{Port: PortLocal}}},
		{Table: TableL2},
	}
	for _, f := range tests {
		raw := f.appendInstructions(nil)
		want := f.actionsString()
		if got := FormatInstructions(raw); got != want {
			t.Errorf("FormatInstructions(%x) = %q, want %q", raw, got, want)
		}
	}
	for _, bad := range [][]byte{{0, 1}, {0, 1, 0, 2}, {0, 4, 0, 8, 0, 0, 0, 0, 0, 0}} {
		if got := FormatInstructions(bad); got == "" {
			t.Errorf("FormatInstructions(%x) is empty, want a malformed marker", bad)
		}
	}
}
