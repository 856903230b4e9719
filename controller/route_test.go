package controller

import (
	"context"
	"strings"
	"testing"

	"github.com/ovsmesh/ovsmesh/flows"
)

// packetInAt is a packet-in from a flow with cookie in table.
func packetInAt(table uint8, cookie flows.Cookie, data []byte) []byte {
	b := packetIn(1, data)
	b[7] = table
	copy(b[8:16], be64(nil, uint64(cookie)))
	return b
}

func TestNewRefusesConflicts(t *testing.T) {
	a, b := newRecorder("a"), newRecorder("b")
	tests := []struct {
		name string
		regs []Registration
		want string
	}{
		{"same ID", []Registration{{App: a, ID: 5}, {App: b, ID: 5}}, "app b: app ID 5 is also app a's"},
		{"same table", []Registration{{App: a, ID: 5, Tables: []flows.TableID{10}}, {App: b, ID: 6, Tables: []flows.TableID{10}}},
			"app b: table 10 is also app a's"},
		{"ID 0", []Registration{{App: a, ID: 0}}, "app a: app ID 0 is reserved"},
		{"baseline ID", []Registration{{App: a, ID: flows.AppBaseline}}, "app ID 1 is reserved"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(Options{}, tt.regs...); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New error %v, want %q", err, tt.want)
			}
		})
	}
}

// TestRouting: a packet-in goes to the app its cookie names, else to
// its table's owner, then to the table's observers; FLOW_REMOVED goes
// to the owner only; a packet-in nobody owns is counted and dropped.
func TestRouting(t *testing.T) {
	classify, arp := newRecorder("classify"), newRecorder("arp")
	tc := startRegistered(t, Options{Generation: 1},
		Registration{App: classify, ID: 5, Tables: []flows.TableID{10, 40}, Observe: []flows.TableID{30}},
		Registration{App: arp, ID: 6, Tables: []flows.TableID{30}})
	f := tc.connect(t, 0x77, ofPort(1, "eth1", 0))
	classify.next(t, "up")
	arp.next(t, "up")

	// A table-miss (baseline cookie) in classify's table: classify only.
	f.send(tPacketIn, packetInAt(10, flows.NewCookie(1, flows.AppBaseline, 10), seq(1)))
	if ev := classify.next(t, "packet-in"); ev.pi.Table != 10 {
		t.Errorf("classify got a packet-in from table %d", ev.pi.Table)
	}
	// arp's own flow in its table: arp, then the observer classify.
	f.send(tPacketIn, packetInAt(30, flows.NewCookie(1, 6, 0), seq(2)))
	arp.next(t, "packet-in")
	classify.next(t, "packet-in")
	// arp's cookie in classify's table (a trace-style flow): arp only.
	f.send(tPacketIn, packetInAt(10, flows.NewCookie(1, 6, 0), seq(3)))
	if ev := arp.next(t, "packet-in"); string(ev.pi.Data) != string(seq(3)) {
		t.Errorf("arp got %q", ev.pi.Data)
	}
	// A foreign cookie in a table nobody owns: counted, dropped.
	f.send(tPacketIn, packetInAt(99, 0, seq(4)))
	tc.waitMetric(t, "ovsmesh_packet_ins_unrouted_total", nil, 1)
	// FLOW_REMOVED of arp's flow (the fake's table is 2): arp only.
	f.send(tFlowRemoved, flowRemoved(flows.NewCookie(1, 6, 7), 100))
	arp.next(t, "flow-removed")
	// FLOW_REMOVED with a baseline cookie in table 2: nobody owns it.
	f.send(tFlowRemoved, flowRemoved(flows.NewCookie(1, flows.AppBaseline, 0), 0))
	// The next event shows nothing else was delivered in between.
	f.send(tPacketIn, packetInAt(40, 0, seq(5)))
	if ev := classify.next(t, "packet-in"); string(ev.pi.Data) != string(seq(5)) {
		t.Errorf("classify got %q, want the last packet-in", ev.pi.Data)
	}
	classify.none(t, "every event was routed to one app")
	arp.none(t, "every event was routed to one app")
	if got := tc.metric(t, "ovsmesh_packet_ins_total", map[string]string{"app": "arp"}); got != 2 {
		t.Errorf("ovsmesh_packet_ins_total{app=arp} = %v, want 2 (labels come from the registrations)", got)
	}
}

// TestBaselineAfterSwitchUp: the stages' table-miss entries go to the
// switch after the apps' own flows (a miss may output to a group an app
// creates in SwitchUp), before reconciliation's barrier.
func TestBaselineAfterSwitchUp(t *testing.T) {
	app := newRecorder("learning")
	app.onUp = func(ctx context.Context, sw Switch) error {
		return sw.Send(ctx, flows.GroupMod{Command: flows.GroupAddOrModify, ID: 1})
	}
	miss := flows.Flow{Table: 10, Cookie: flows.NewCookie(4, flows.AppBaseline, 10), Actions: []flows.Action{flows.Group{ID: 1}}}
	tc := startRegistered(t, Options{Generation: 4, Baseline: []flows.Flow{miss}},
		Registration{App: app, ID: 5, Tables: []flows.TableID{10}})
	f := tc.connect(t, 0x78, ofPort(1, "eth1", 0))
	app.next(t, "up")
	f.expect(tGroupMod, "the app's group")
	fm := decodeFlowMod(t, f.expect(tFlowMod, "the baseline table-miss"))
	if fm.table != 10 || fm.cookie != miss.Cookie {
		t.Errorf("baseline flow-mod table %d cookie %v, want table 10 cookie %v", fm.table, fm.cookie, miss.Cookie)
	}
	f.expect(tBarrierRequest, "reconciliation's barrier")
}

// TestPipelineRefusesUndeclaredGoto: Send of a flow whose goto_table is
// not a declared successor fails and nothing reaches the switch.
func TestPipelineRefusesUndeclaredGoto(t *testing.T) {
	p, err := flows.NewPipeline([]flows.Stage{{Table: 0, Name: "a", Next: []flows.TableID{5}}, {Table: 5, Name: "b"}, {Table: 9, Name: "c"}})
	if err != nil {
		t.Fatal(err)
	}
	sent := make(chan error, 2)
	app := newRecorder("learning")
	app.onUp = func(ctx context.Context, sw Switch) error {
		sent <- sw.Send(ctx, flows.AddFlow(flows.Flow{Table: 0, Goto: 9}))
		sent <- sw.Send(ctx, flows.AddFlow(flows.Flow{Table: 0, Goto: 5}))
		return nil
	}
	tc := startRegistered(t, Options{Pipeline: p}, Registration{App: app, ID: 5, Tables: []flows.TableID{0}})
	f := tc.connect(t, 0x79, ofPort(1, "eth1", 0))
	app.next(t, "up")
	if err := <-sent; err == nil || !strings.Contains(err.Error(), "goto_table c (9) is not a declared successor") {
		t.Errorf("Send of a goto to c: %v, want it refused", err)
	}
	if err := <-sent; err != nil {
		t.Errorf("Send of a declared goto: %v", err)
	}
	if fm := decodeFlowMod(t, f.expect(tFlowMod, "the declared flow only")); fm.table != 0 {
		t.Errorf("flow-mod in table %d", fm.table)
	}
}
