package flows

import (
	"strings"
	"testing"
)

// samplePipeline is the four-stage pipeline of the sample flows.
func samplePipeline(t *testing.T) *Pipeline {
	t.Helper()
	p, err := NewPipeline([]Stage{
		{Table: TableL2, Name: "l2", Owner: 2},
		{Table: TableClassify, Name: "classify", Owner: 2, Next: []TableID{TableARP}},
		{Table: TableARP, Name: "arp", Owner: 3, Next: []TableID{TableARPResponder, TableL2}},
		{Table: TableARPResponder, Name: "arp_responder", Owner: 3, Next: []TableID{TableL2}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestNewPipelineRefuses(t *testing.T) {
	tests := []struct {
		name   string
		stages []Stage
		want   string
	}{
		{"empty", nil, "no stage at table 0"},
		{"no table 0", []Stage{{Table: 1, Name: "a"}}, "no stage at table 0"},
		{"same table", []Stage{{Table: 0, Name: "a"}, {Table: 0, Name: "b"}}, "stage b: table 0 is also stage a"},
		{"same name", []Stage{{Table: 0, Name: "a"}, {Table: 1, Name: "a"}}, "stage name a is used by tables 0 and 1"},
		{"no name", []Stage{{Table: 0}}, "stage at table 0 has no name"},
		{"table 255", []Stage{{Table: 0, Name: "a"}, {Table: 255, Name: "all"}}, "table 255 is OFPTT_ALL"},
		{"unknown successor", []Stage{{Table: 0, Name: "a", Next: []TableID{7}}}, "stage a (table 0): successor table 7 is not a stage"},
		{"backward: a cycle", []Stage{{Table: 0, Name: "a", Next: []TableID{1}}, {Table: 1, Name: "b", Next: []TableID{0}}},
			"stage b (table 1): successor a (table 0) does not come after it: a cycle"},
		{"self loop", []Stage{{Table: 0, Name: "a", Next: []TableID{0}}}, "does not come after it"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewPipeline(tc.stages)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("NewPipeline error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestPipelineCheck(t *testing.T) {
	p := samplePipeline(t)
	tests := []struct {
		name string
		m    Message
		want string // "" passes
	}{
		{"declared goto", AddFlow(Flow{Table: TableClassify, Goto: TableARP}), ""},
		{"declared goto, second successor", AddFlow(Flow{Table: TableARP, Goto: TableL2}), ""},
		{"undeclared forward goto", AddFlow(Flow{Table: TableClassify, Goto: TableL2}), "goto_table l2 (3) is not a declared successor"},
		{"backward goto", AddFlow(Flow{Table: TableL2, Goto: TableARP}), "flow in l2: goto_table arp (1)"},
		{"modify checked too", FlowMod{Command: FlowModify, Flow: Flow{Table: TableARPResponder, Goto: TableARP}}, "not a declared successor"},
		{"table not a stage", AddFlow(Flow{Table: 9}), "flow in table(9): not a stage"},
		{"delete passes", DeleteStrict(Flow{Table: 9, Goto: 1}), ""},
		{"delete all tables passes", DeleteByCookie(1, 1), ""},
		{"resubmit to a stage", PacketOut{Actions: []Action{Resubmit{Table: TableARPResponder}}}, ""},
		{"resubmit to no stage", PacketOut{Actions: []Action{Resubmit{Table: 9}}}, "resubmit to table(9): not a stage"},
		{"resubmit in a flow", AddFlow(Flow{Table: TableL2, Actions: []Action{Resubmit{Table: 200}}}), "resubmit to table(200)"},
		{"ct recirculation back into the same app", AddFlow(Flow{Table: TableL2, Match: Match{EthType: EthTypeIPv4},
			Actions: []Action{CT{Recirc: true, Table: TableClassify}}}), ""},
		{"ct recirculation to a declared successor", AddFlow(Flow{Table: TableClassify, Match: Match{EthType: EthTypeIPv4},
			Actions: []Action{CT{Recirc: true, Table: TableARP}}}), ""},
		{"ct recirculation into another app", AddFlow(Flow{Table: TableClassify, Match: Match{EthType: EthTypeIPv4},
			Actions: []Action{CT{Recirc: true, Table: TableARPResponder}}}), "ct recirculation from classify to arp_responder (2): another app's table"},
		{"ct recirculation to no stage", AddFlow(Flow{Table: TableL2, Actions: []Action{CT{Recirc: true, Table: 9}}}), "ct recirculation to table(9)"},
		{"ct without recirculation", AddFlow(Flow{Table: TableL2, Actions: []Action{CT{Commit: true}}}), ""},
		{"ct in a packet-out", PacketOut{Actions: []Action{CT{Recirc: true, Table: TableARPResponder}}}, ""},
		{"other messages pass", BarrierRequest{}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := p.Check(tc.m)
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("Check = %v, want %q", err, tc.want)
			}
			b, err2 := p.Encode([]byte{1, 2}, 7, tc.m)
			if (err2 == nil) != (err == nil) {
				t.Errorf("Encode error %v, Check error %v: they must agree", err2, err)
			}
			if err2 != nil && string(b) != "\x01\x02" {
				t.Errorf("a refused Encode changed the buffer: % x", b)
			}
		})
	}
	if got := p.Name(TableARPResponder); got != "arp_responder" {
		t.Errorf("Name = %q", got)
	}
	if s, ok := p.Lookup("l2"); !ok || s.Table != TableL2 {
		t.Errorf("Lookup(l2) = %+v, %v", s, ok)
	}
	var nilp *Pipeline
	if _, err := nilp.Encode(nil, 1, AddFlow(Flow{Table: 9, Goto: 3})); err != nil {
		t.Errorf("a nil pipeline checks nothing, got %v", err)
	}
}
