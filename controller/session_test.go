package controller

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ovsmesh/ovsmesh/flows"
)

// blockFirst returns a PacketIn hook that signals entered and then blocks
// on the first packet-in until release is closed (or the controller
// stops); later packet-ins pass.
func blockFirst(entered chan<- struct{}, release <-chan struct{}) func(context.Context, Switch, *flows.PacketIn) error {
	first := true
	return func(ctx context.Context, sw Switch, pi *flows.PacketIn) error {
		if !first {
			return nil
		}
		first = false
		close(entered)
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil
	}
}

// TestEchoWhileAppBlocked: the reader answers ECHO_REQUEST with the same
// xid and data while the dispatcher is stuck in an app's PacketIn.
func TestEchoWhileAppBlocked(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	app := newRecorder("blocker")
	app.onPacketIn = blockFirst(entered, release)
	tc := startController(t, Options{}, app)
	f := tc.connect(t, 1, ofPort(1, "eth1", 0))
	app.next(t, "up")
	f.autoEcho.Store(false)

	f.send(tPacketIn, packetIn(1, seq(0)))
	select {
	case <-entered:
	case <-time.After(waitTimeout):
		t.Fatal("app's PacketIn was not called")
	}
	app.next(t, "packet-in") // recorded on entry
	tests := []struct {
		name string
		xid  uint32
		data []byte
	}{
		{"empty", 1, nil},
		{"short", 0xdeadbeef, []byte("ping")},
		{"xid 0", 0, []byte{0, 1, 2, 3}},
		{"large", 77, bytes.Repeat([]byte{0xa5}, 4000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.sendXID(tEchoRequest, tt.xid, tt.data)
			m := f.waitFor(tEchoReply, "ECHO_REPLY", nil)
			if m.h.XID != tt.xid || !bytes.Equal(m.body, tt.data) {
				t.Errorf("echo reply xid %#x with %d bytes, want xid %#x with the request's %d bytes", m.h.XID, len(m.body), tt.xid, len(tt.data))
			}
		})
	}
	app.none(t, "the app is still blocked in its first PacketIn")
	close(release)
	f.send(tPacketIn, packetIn(1, seq(1)))
	if ev := app.next(t, "packet-in"); string(ev.pi.Data) != string(seq(1)) {
		t.Fatalf("packet-in after the release carries %q", ev.pi.Data)
	}
}

// TestKeepalive: a switch silent for an EchoInterval is probed with an
// ECHO_REQUEST and dropped after another silent interval; one that
// answers stays connected.
func TestKeepalive(t *testing.T) {
	const interval = 100 * time.Millisecond
	tests := []struct {
		name     string
		answer   bool
		wantDrop bool
	}{
		{name: "silent switch is dropped", answer: false, wantDrop: true},
		{name: "answering switch stays", answer: true, wantDrop: false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := newRecorder("rec")
			tc := startController(t, Options{EchoInterval: interval}, app)
			dpid := flows.DPID(0x10 + i)
			f := tc.connect(t, dpid)
			app.next(t, "up")
			f.autoEcho.Store(tt.answer)
			start := time.Now()
			probe := f.waitFor(tEchoRequest, "keepalive ECHO_REQUEST", nil)
			if probe.h.XID == 0 {
				t.Errorf("probe has xid 0")
			}
			if !tt.wantDrop {
				// Three probes answered: at least five intervals survived.
				for range 2 {
					f.waitFor(tEchoRequest, "next keepalive ECHO_REQUEST", nil)
				}
				if f.isClosed() || len(tc.Switches()) != 1 {
					t.Fatalf("answering switch was dropped after %v", time.Since(start))
				}
				app.none(t, "the switch is still up")
				return
			}
			f.waitClosed("unanswered probe")
			if d := time.Since(start); d < interval/2 {
				t.Errorf("dropped %v after the probe, want about one interval (%v)", d, interval)
			}
			tc.waitLog(t, "did not answer the echo probe", "dpid="+dpid.String())
			if ev := app.next(t, "down"); ev.dpid != dpid {
				t.Errorf("SwitchDown for %016x, want %016x", ev.dpid, dpid)
			}
			tc.waitMetric(t, "ovsmesh_switch_disconnects_total", map[string]string{"dpid": dpid.String()}, 1)
		})
	}
}

// TestPacketInOrder: each switch's packet-ins reach the app in the order
// sent, and a switch whose app call is blocked does not hold up another
// switch's events.
func TestPacketInOrder(t *testing.T) {
	const n = 300
	const slow, fast = flows.DPID(0xa), flows.DPID(0xb)
	entered, release := make(chan struct{}), make(chan struct{})
	app := newRecorder("rec")
	block := blockFirst(entered, release)
	app.onPacketIn = func(ctx context.Context, sw Switch, pi *flows.PacketIn) error {
		if sw.DPID() == slow {
			return block(ctx, sw, pi)
		}
		return nil
	}
	tc := startController(t, Options{}, app)
	fs := tc.connect(t, slow, ofPort(1, "a1", 0))
	app.nextOf(t, slow, "up")
	ff := tc.connect(t, fast, ofPort(1, "b1", 0))
	app.nextOf(t, fast, "up")

	for i := range n {
		fs.send(tPacketIn, packetIn(1, seq(i)))
	}
	<-entered
	app.nextOf(t, slow, "packet-in") // recorded on entry
	for i := range n {
		ff.send(tPacketIn, packetIn(1, seq(i)))
	}
	// All of the fast switch's packet-ins arrive, in order, while the slow
	// switch's app call is still blocked on its first.
	for i := range n {
		ev := app.next(t, "packet-in")
		if ev.dpid != fast {
			t.Fatalf("event %d is from %016x while its app call is blocked", i, ev.dpid)
		}
		if string(ev.pi.Data) != string(seq(i)) {
			t.Fatalf("fast switch: packet-in %d carries %q", i, ev.pi.Data)
		}
	}
	close(release)
	for i := 1; i < n; i++ {
		ev := app.nextOf(t, slow, "packet-in")
		if string(ev.pi.Data) != string(seq(i)) || ev.pi.InPort != 1 {
			t.Fatalf("slow switch: packet-in %d carries %q from port %d", i, ev.pi.Data, ev.pi.InPort)
		}
	}
	tc.waitMetric(t, "ovsmesh_packet_ins_total", map[string]string{"dpid": fast.String()}, n)
	if d := tc.metric(t, "ovsmesh_packet_ins_dropped_total", nil); d != 0 {
		t.Errorf("%v packet-ins dropped", d)
	}
}

// TestPacketInQueueBounded: with the app blocked, packet-ins beyond
// QueueLen are dropped and counted; the queue stays within QueueLen and
// the session goes on once the app returns.
func TestPacketInQueueBounded(t *testing.T) {
	tests := []struct {
		queueLen, flood int
	}{
		{queueLen: 1, flood: 50},
		{queueLen: 4, flood: 500},
		{queueLen: 64, flood: 2000},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("queue %d flood %d", tt.queueLen, tt.flood), func(t *testing.T) {
			entered, release := make(chan struct{}), make(chan struct{})
			app := newRecorder("rec")
			app.onPacketIn = blockFirst(entered, release)
			tc := startController(t, Options{QueueLen: tt.queueLen}, app)
			const dpid = flows.DPID(0x77)
			label := map[string]string{"dpid": dpid.String()}
			f := tc.connect(t, dpid, ofPort(1, "eth1", 0))
			app.next(t, "up")
			f.send(tPacketIn, packetIn(1, []byte("first")))
			<-entered

			payload := bytes.Repeat([]byte{0xee}, 1000)
			for i := range tt.flood {
				f.send(tPacketIn, packetIn(1, append(seq(i), payload...)))
			}
			f.echo("the flood") // the reader has taken every packet-in
			tc.waitMetric(t, "ovsmesh_packet_ins_dropped_total", label, float64(tt.flood-tt.queueLen))
			tc.waitMetric(t, "ovsmesh_packet_ins_total", label, float64(1+tt.queueLen))
			if s := tc.session(dpid); s == nil || s.queue.len() != tt.queueLen {
				t.Fatalf("session queue holds %d events, want %d", s.queue.len(), tt.queueLen)
			}

			close(release)
			app.next(t, "packet-in") // "first"
			for i := range tt.queueLen {
				ev := app.next(t, "packet-in")
				if !bytes.HasPrefix(ev.pi.Data, seq(i)) {
					t.Fatalf("queued packet-in %d carries %q", i, ev.pi.Data[:10])
				}
			}
			f.send(tPacketIn, packetIn(1, []byte("later")))
			if ev := app.next(t, "packet-in"); string(ev.pi.Data) != "later" {
				t.Fatalf("after the flood the app got %q, want \"later\"", ev.pi.Data[:10])
			}
			if f.isClosed() {
				t.Fatal("session closed by the flood")
			}
		})
	}
}

// TestBadInput: a malformed message closes that switch's connection with
// a warning naming the switch; another switch keeps working.
func TestBadInput(t *testing.T) {
	tests := []struct {
		name    string
		send    func(f *fakeSwitch)
		wantBad bool // counted in ovsmesh_bad_messages_total
		wantErr string
	}{
		{name: "truncated packet-in", wantBad: true, wantErr: "need at least 26",
			send: func(f *fakeSwitch) { f.send(tPacketIn, packetIn(1, nil)[:20]) }},
		{name: "packet-in match overruns the message", wantBad: true, wantErr: "does not fit",
			send: func(f *fakeSwitch) {
				b := packetIn(1, nil)
				binary.BigEndian.PutUint16(b[18:], 200)
				f.send(tPacketIn, b)
			}},
		{name: "packet-in without in_port", wantBad: true, wantErr: "no in_port",
			send: func(f *fakeSwitch) {
				b := append(be32(nil, 0xffffffff), 0, 0, 0, 0)
				b = append(be64(b, 0), emptyMatch()...)
				f.send(tPacketIn, append(b, 0, 0, 'x'))
			}},
		{name: "length field 0", wantErr: "shorter than the 8-byte header",
			send: func(f *fakeSwitch) { f.writeRaw([]byte{ofVersion, tEchoRequest, 0, 0, 0, 0, 0, 9}) }},
		{name: "length field 7", wantErr: "shorter than the 8-byte header",
			send: func(f *fakeSwitch) { f.writeRaw([]byte{ofVersion, tPacketIn, 0, 7, 0, 0, 0, 9}) }},
		{name: "length beyond the data then EOF", wantErr: "unexpected EOF",
			send: func(f *fakeSwitch) {
				b := ofMessage(ofVersion, tPacketIn, 9, packetIn(1, seq(0)))
				binary.BigEndian.PutUint16(b[2:], uint16(len(b)+100))
				f.writeRaw(b)
				f.conn.(*net.TCPConn).CloseWrite()
			}},
		{name: "wrong version after negotiation", wantBad: true, wantErr: "wire version 0x01",
			send: func(f *fakeSwitch) { f.writeRaw(ofMessage(1, tEchoRequest, 9, nil)) }},
		{name: "port-status of the wrong size", wantBad: true, wantErr: "port-status",
			send: func(f *fakeSwitch) { f.send(tPortStatus, portStatus(ofpprAdd, ofPort(3, "x", 0))[:40]) }},
		{name: "port-status with unknown reason", wantBad: true, wantErr: "unknown reason",
			send: func(f *fakeSwitch) { f.send(tPortStatus, portStatus(7, ofPort(3, "x", 0))) }},
		{name: "truncated flow-removed", wantBad: true, wantErr: "flow-removed",
			send: func(f *fakeSwitch) { f.send(tFlowRemoved, flowRemoved(1, 1)[:30]) }},
		{name: "error without type and code", wantBad: true, wantErr: "error: 2 bytes",
			send: func(f *fakeSwitch) { f.send(tError, []byte{0, 1}) }},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := newRecorder("rec")
			tc := startController(t, Options{}, app)
			bad, good := flows.DPID(0xbad0+i), flows.DPID(0x600d)
			fb := tc.connect(t, bad, ofPort(1, "eth1", 0))
			app.nextOf(t, bad, "up")
			fg := tc.connect(t, good, ofPort(1, "eth1", 0))
			app.nextOf(t, good, "up")

			tt.send(fb)
			fb.waitClosed(tt.name)
			line := tc.waitLog(t, "level=WARN", "switch disconnected", "dpid="+bad.String())
			if !strings.Contains(line, tt.wantErr) {
				t.Errorf("log line %q does not mention %q", line, tt.wantErr)
			}
			if ev := app.nextOf(t, bad, "down"); ev.dpid != bad {
				t.Errorf("SwitchDown for %016x", ev.dpid)
			}
			var wantBad float64
			if tt.wantBad {
				wantBad = 1
			}
			if got := tc.metric(t, "ovsmesh_bad_messages_total", map[string]string{"dpid": bad.String()}); got != wantBad {
				t.Errorf("ovsmesh_bad_messages_total = %v, want %v", got, wantBad)
			}

			fg.echo("the other switch's failure")
			fg.send(tPacketIn, packetIn(1, []byte("still here")))
			if ev := app.nextOf(t, good, "packet-in"); string(ev.pi.Data) != "still here" {
				t.Errorf("other switch's packet-in carries %q", ev.pi.Data)
			}
			if sws := tc.Switches(); len(sws) != 1 || sws[0].DPID != good {
				t.Errorf("Switches() = %+v, want only %016x", sws, good)
			}
		})
	}
}

// TestUnknownMessageRefused: a message type the controller does not
// expect from a switch is refused with BAD_REQUEST/BAD_TYPE carrying the
// start of the message, and the session goes on.
func TestUnknownMessageRefused(t *testing.T) {
	tests := []struct {
		name string
		typ  uint8
		body []byte
	}{
		{"undefined type 99", 99, nil},
		{"controller-to-switch FLOW_MOD", tFlowMod, bytes.Repeat([]byte{1}, 40)},
		{"GET_CONFIG_REQUEST", tGetConfigRequest, nil},
		{"long body is cut to 64 bytes", 200, bytes.Repeat([]byte{7}, 300)},
	}
	app := newRecorder("rec")
	tc := startController(t, Options{}, app)
	const dpid = flows.DPID(0x55)
	f := tc.connect(t, dpid, ofPort(1, "eth1", 0))
	app.next(t, "up")
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sent := ofMessage(ofVersion, tt.typ, uint32(0x500+i), tt.body)
			f.writeRaw(sent)
			m := f.waitFor(tError, "BAD_REQUEST error", nil)
			if m.h.XID != uint32(0x500+i) {
				t.Errorf("error xid %#x, want the offending message's %#x", m.h.XID, 0x500+i)
			}
			if len(m.body) < 4 || binary.BigEndian.Uint16(m.body) != etBadRequest || binary.BigEndian.Uint16(m.body[2:]) != brcBadType {
				t.Fatalf("error body % x, want BAD_REQUEST (1) / BAD_TYPE (1)", m.body[:min(4, len(m.body))])
			}
			if want := sent[:min(64, len(sent))]; !bytes.Equal(m.body[4:], want) {
				t.Errorf("error data % x, want the first %d bytes of the offending message % x", m.body[4:], len(want), want)
			}
			f.send(tPacketIn, packetIn(1, []byte(tt.name)))
			if ev := app.next(t, "packet-in"); string(ev.pi.Data) != tt.name {
				t.Errorf("packet-in after the refusal carries %q", ev.pi.Data)
			}
		})
	}
	tc.waitMetric(t, "ovsmesh_bad_messages_total", map[string]string{"dpid": dpid.String()}, float64(len(tests)))
	if f.isClosed() {
		t.Error("session closed")
	}
}

// TestSwitchErrorsCounted: OFPT_ERROR from a switch is counted by error
// type and offending message type, and the session goes on.
func TestSwitchErrorsCounted(t *testing.T) {
	flowModHdr := ofMessage(ofVersion, tFlowMod, 0x99, bytes.Repeat([]byte{0}, 40))
	tests := []struct {
		name          string
		body          []byte
		wantType      string
		wantOffending string
	}{
		{"flow-mod table full", errorMsg(etFlowModFailed, fmfcTableFull, flowModHdr), "ErrTypeFlowModFailed", "TypeFlowMod"},
		{"bad request to a packet-out", errorMsg(etBadRequest, 9, ofMessage(ofVersion, 13, 4, nil)), "ErrTypeBadRequest", "TypePacketOut"},
		{"hello failed text", errorMsg(etHelloFailed, 1, []byte("permission denied")), "ErrTypeHelloFailed", "none"},
		{"bad action without data", errorMsg(etBadAction, 4, []byte{1, 2}), "ErrTypeBadAction", "none"},
	}
	app := newRecorder("rec")
	tc := startController(t, Options{}, app)
	const dpid = flows.DPID(0xe1)
	f := tc.connect(t, dpid)
	app.next(t, "up")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.send(tError, tt.body)
			tc.waitMetric(t, "ovsmesh_switch_errors_total",
				map[string]string{"dpid": dpid.String(), "type": tt.wantType, "offending": tt.wantOffending}, 1)
		})
	}
	f.echo("the errors")
	if f.isClosed() || len(tc.Switches()) != 1 {
		t.Error("session ended after switch errors")
	}
}

// TestAppPanicRecovered: a handler that panics or fails is logged with
// dpid and app and counted; the other apps still get the event and the
// next event is delivered.
func TestAppPanicRecovered(t *testing.T) {
	errBoom := errors.New("boom")
	tests := []struct {
		name    string
		arm     func(r *recorder) // makes r fail on its first event of the kind
		trigger func(f *fakeSwitch, i int)
		kind    string
		wantLog string
	}{
		{name: "PacketIn panic", kind: "packet-in", wantLog: "panicked: packet-in",
			arm: func(r *recorder) {
				once := true
				r.onPacketIn = func(context.Context, Switch, *flows.PacketIn) error {
					if once {
						once = false
						panic("packet-in")
					}
					return nil
				}
			},
			trigger: func(f *fakeSwitch, i int) { f.send(tPacketIn, packetIn(1, seq(i))) }},
		{name: "PacketIn nil dereference", kind: "packet-in", wantLog: "nil pointer dereference",
			arm: func(r *recorder) {
				once := true
				r.onPacketIn = func(_ context.Context, _ Switch, pi *flows.PacketIn) error {
					if once {
						once = false
						var p *flows.PacketIn
						_ = p.Data[0]
					}
					return nil
				}
			},
			trigger: func(f *fakeSwitch, i int) { f.send(tPacketIn, packetIn(1, seq(i))) }},
		{name: "PortStatus panic", kind: "port-status", wantLog: "panicked: port-status",
			arm: func(r *recorder) {
				once := true
				r.onPortStatus = func(context.Context, Switch, flows.PortStatus) error {
					if once {
						once = false
						panic("port-status")
					}
					return nil
				}
			},
			trigger: func(f *fakeSwitch, i int) { f.send(tPortStatus, portStatus(ofpprAdd, ofPort(uint32(10+i), "p", 0))) }},
		{name: "FlowRemoved error", kind: "flow-removed", wantLog: "boom",
			arm: func(r *recorder) {
				once := true
				r.onFlowRemoved = func(context.Context, Switch, *flows.FlowRemoved) error {
					if once {
						once = false
						return errBoom
					}
					return nil
				}
			},
			trigger: func(f *fakeSwitch, i int) { f.send(tFlowRemoved, flowRemoved(flows.Cookie(i), 1)) }},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad, witness := newRecorder("panicky"), newRecorder("witness")
			tt.arm(bad)
			tc := startController(t, Options{}, bad, witness)
			dpid := flows.DPID(0xf00 + i)
			f := tc.connect(t, dpid, ofPort(1, "eth1", 0))
			bad.next(t, "up")
			witness.next(t, "up")

			for j := range 2 {
				tt.trigger(f, j)
				bad.next(t, tt.kind)
				if tt.kind != "flow-removed" { // FLOW_REMOVED goes to its owner only
					witness.next(t, tt.kind)
				}
			}
			line := tc.waitLog(t, "level=ERROR", "app handler failed", "app=panicky", "dpid="+dpid.String())
			if !strings.Contains(line, tt.wantLog) {
				t.Errorf("log line %q does not mention %q", line, tt.wantLog)
			}
			tc.waitMetric(t, "ovsmesh_app_errors_total", map[string]string{"app": "panicky"}, 1)
			if got := tc.metric(t, "ovsmesh_app_errors_total", map[string]string{"app": "witness"}); got != 0 {
				t.Errorf("witness app errors = %v", got)
			}
			if f.isClosed() {
				t.Error("session closed after the app failed")
			}
		})
	}
}

// TestSwitchUpPanicRecovered: a panicking SwitchUp does not keep the
// switch's events from the apps.
func TestSwitchUpPanicRecovered(t *testing.T) {
	bad := newRecorder("panicky")
	bad.onUp = func(context.Context, Switch) error { panic("switch-up") }
	tc := startController(t, Options{}, bad)
	f := tc.connect(t, 3, ofPort(1, "eth1", 0))
	bad.next(t, "up")
	f.send(tPacketIn, packetIn(1, seq(0)))
	bad.next(t, "packet-in")
	tc.waitLog(t, "app=panicky", "panicked: switch-up", "dpid="+flows.DPID(3).String())
	tc.waitMetric(t, "ovsmesh_app_errors_total", map[string]string{"app": "panicky"}, 1)
}

// TestPortStatusUpdatesPorts: Ports() reflects each PORT_STATUS (add,
// modify, delete) by the time the PortStatus handlers run.
func TestPortStatusUpdatesPorts(t *testing.T) {
	tests := []struct {
		name      string
		reason    uint8
		port      []byte
		wantPorts []flows.OFPort
		check     func(t *testing.T, ports []flows.Port)
	}{
		{name: "add port 5", reason: ofpprAdd, port: ofPort(5, "eth5", 0), wantPorts: []flows.OFPort{1, 2, 5}},
		{name: "modify port 2 link down", reason: ofpprModify, port: ofPort(2, "eth2", ofppsLinkDown), wantPorts: []flows.OFPort{1, 2, 5},
			check: func(t *testing.T, ports []flows.Port) {
				if ports[1].Up() {
					t.Errorf("port 2 still up: %+v", ports[1])
				}
			}},
		{name: "modify port 2 renamed and up", reason: ofpprModify, port: ofPort(2, "eth2b", 0), wantPorts: []flows.OFPort{1, 2, 5},
			check: func(t *testing.T, ports []flows.Port) {
				if !ports[1].Up() || ports[1].Name != "eth2b" {
					t.Errorf("port 2 = %+v, want eth2b up", ports[1])
				}
			}},
		{name: "delete port 1", reason: ofpprDelete, port: ofPort(1, "eth1", 0), wantPorts: []flows.OFPort{2, 5}},
		{name: "delete unknown port 9", reason: ofpprDelete, port: ofPort(9, "eth9", 0), wantPorts: []flows.OFPort{2, 5}},
		{name: "modify unknown port 7 adds it", reason: ofpprModify, port: ofPort(7, "eth7", 0), wantPorts: []flows.OFPort{2, 5, 7}},
	}
	app := newRecorder("rec")
	tc := startController(t, Options{}, app)
	const dpid = flows.DPID(0x99)
	f := tc.connect(t, dpid, ofPort(2, "eth2", 0), ofPort(1, "eth1", 0))
	app.next(t, "up")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.send(tPortStatus, portStatus(tt.reason, tt.port))
			ev := app.next(t, "port-status")
			if ev.ps.Reason != tt.reason || ev.ps.Port.No != flows.OFPort(binary.BigEndian.Uint32(tt.port)) {
				t.Errorf("PortStatus reason %d port %d, want reason %d port %d", ev.ps.Reason, ev.ps.Port.No, tt.reason, binary.BigEndian.Uint32(tt.port))
			}
			if got := portNumbers(ev.ports); !slices.Equal(got, tt.wantPorts) {
				t.Fatalf("Ports() in the handler = %v, want %v", got, tt.wantPorts)
			}
			if tt.check != nil {
				tt.check(t, ev.ports)
			}
			if got := portNumbers(tc.Switches()[0].Ports); !slices.Equal(got, tt.wantPorts) {
				t.Errorf("Switches() ports = %v, want %v", got, tt.wantPorts)
			}
		})
	}
}

// TestHandlerSendsNotHeldBack: what a handler sends reaches the switch
// after it returns even when more events are queued and the next
// handler blocks (sends from handlers are batched, never parked until
// the queue drains).
func TestHandlerSendsNotHeldBack(t *testing.T) {
	const dpid = flows.DPID(0x5e)
	queued, release := make(chan struct{}), make(chan struct{})
	app := newRecorder("rec")
	app.onPacketIn = func(ctx context.Context, sw Switch, pi *flows.PacketIn) error {
		switch string(pi.Data) {
		case "first":
			// Hold until the second packet-in is queued behind this one.
			select {
			case <-queued:
			case <-ctx.Done():
			}
			return sw.Send(ctx, flows.PacketOut{InPort: pi.InPort, Actions: []flows.Action{flows.Output{Port: 2}}, Data: pi.Data})
		case "second":
			select {
			case <-release:
			case <-ctx.Done():
			}
		}
		return nil
	}
	tc := startController(t, Options{EchoInterval: time.Minute}, app)
	f := tc.connect(t, dpid, ofPort(1, "eth1", 0), ofPort(2, "eth2", 0))
	app.next(t, "up")
	f.waitFor(tBarrierRequest, "reconciliation's first BARRIER", nil)
	f.waitFor(tBarrierRequest, "reconciliation's final BARRIER", nil)

	f.send(tPacketIn, packetIn(1, []byte("first")))
	app.next(t, "packet-in")
	f.send(tPacketIn, packetIn(1, []byte("second")))
	waitUntil(t, "the second packet-in queued", func() bool { return tc.session(dpid).queue.len() == 1 })
	close(queued)
	app.next(t, "packet-in") // the second handler is now blocked
	m := f.expect(13, "the first handler's PACKET_OUT while the second handler is blocked")
	if !bytes.HasSuffix(m.body, []byte("first")) {
		t.Errorf("PACKET_OUT body % x does not carry the packet", m.body)
	}
	close(release)
}
