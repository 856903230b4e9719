package controller

import (
	"context"
	"testing"
	"time"

	"github.com/ovsmesh/ovsmesh/flows"
)

// TestDisconnectReasons: every "switch disconnected" line says why,
// including the ends the writer or the keepalive cause (which used to be
// logged without a reason, as the reader only saw a closed connection).
func TestDisconnectReasons(t *testing.T) {
	tests := []struct {
		name   string
		opts   Options
		onPI   func(ctx context.Context, sw Switch, pi *flows.PacketIn) error
		act    func(t *testing.T, tc *testController, f *fakeSwitch, dpid flows.DPID)
		level  string
		reason string
	}{
		{name: "send queue over its limit", opts: Options{SendLimit: 2000},
			onPI: func(ctx context.Context, sw Switch, pi *flows.PacketIn) error {
				out := flows.PacketOut{InPort: pi.InPort, Actions: []flows.Action{flows.Output{Port: 2}}, Data: make([]byte, 500)}
				return sw.Send(ctx, out, out, out, out, out, out)
			},
			act: func(t *testing.T, tc *testController, f *fakeSwitch, dpid flows.DPID) {
				f.send(tPacketIn, packetIn(1, seq(0)))
			},
			level: "WARN", reason: "send queue over its limit ("},
		{name: "echo probe unanswered", opts: Options{EchoInterval: 50 * time.Millisecond},
			act: func(t *testing.T, tc *testController, f *fakeSwitch, dpid flows.DPID) {
				f.autoEcho.Store(false)
			},
			level: "WARN", reason: "no message for 100ms after an echo probe"},
		{name: "replaced by a newer session",
			act: func(t *testing.T, tc *testController, f *fakeSwitch, dpid flows.DPID) {
				tc.connect(t, dpid, ofPort(1, "eth1", 0))
			},
			level: "WARN", reason: "replaced by a newer session of the same datapath ID from 127.0.0.1:"},
		{name: "closed by the switch",
			act: func(t *testing.T, tc *testController, f *fakeSwitch, dpid flows.DPID) {
				f.conn.Close()
			},
			level: "INFO", reason: "connection closed by the switch"},
		{name: "malformed message",
			act: func(t *testing.T, tc *testController, f *fakeSwitch, dpid flows.DPID) {
				f.send(tPortStatus, []byte{1, 2, 3})
			},
			level: "WARN", reason: "port-status"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := newRecorder("rec")
			app.onPacketIn = tt.onPI
			tc := startController(t, tt.opts, app)
			dpid := flows.DPID(0xd15c0 + i)
			f := tc.connect(t, dpid, ofPort(1, "eth1", 0), ofPort(2, "eth2", 0))
			app.next(t, "up")
			f.waitFor(tBarrierRequest, "reconciliation's first BARRIER", nil)
			f.waitFor(tBarrierRequest, "reconciliation's final BARRIER", nil)
			tt.act(t, tc, f, dpid)
			tc.waitLog(t, "level="+tt.level, `msg="switch disconnected"`, "dpid="+dpid.String(), "reason=", tt.reason)
		})
	}
}
