package controller

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/ovsmesh/ovsmesh/flows"
)

// TestFlowRemovedBurst reproduces issue 11's FLOW_REMOVED burst: 8000
// idle expiries in one write used to pass the 4 x queue_len bound and
// close the session. Now the reader stops reading while the queue is
// full (TCP pushes back on the switch) and probes the switch itself
// meanwhile; every event reaches the app, in order, and the session
// stays up.
func TestFlowRemovedBurst(t *testing.T) {
	tests := []struct {
		name       string
		eventBytes int
		n          int
		hold       bool // the app blocks on the first event until the reader has stalled
	}{
		{name: "8000 with the defaults", n: 8000},
		{name: "8000 behind a blocked app", eventBytes: 16 << 10, n: 8000, hold: true},
		{name: "2000 with room for one event", eventBytes: 1, n: 2000},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const interval = 100 * time.Millisecond
			entered, release := make(chan struct{}), make(chan struct{})
			app := newRecorder("rec")
			if tt.hold {
				first := true
				app.onFlowRemoved = func(ctx context.Context, _ Switch, _ *flows.FlowRemoved) error {
					if first {
						first = false
						close(entered)
						select {
						case <-release:
						case <-ctx.Done():
						}
					}
					return nil
				}
			}
			tc := startController(t, Options{EventBytes: tt.eventBytes, EchoInterval: interval}, app)
			dpid := flows.DPID(0xf10 + i)
			f := tc.connect(t, dpid, ofPort(1, "eth1", 0))
			app.next(t, "up")
			// The burst follows reconciliation's flow dump here (the
			// fake switch answers it from its reader, which the burst's
			// write would hold up); TestFlowRemovedBurstDuringReconcile
			// covers a burst ahead of that reply.
			f.waitFor(tBarrierRequest, "reconciliation's first BARRIER", nil)
			f.waitFor(tBarrierRequest, "reconciliation's final BARRIER", nil)

			var burst []byte
			for j := range tt.n {
				burst = append(burst, ofMessage(ofVersion, tFlowRemoved, uint32(j+1), flowRemoved(flows.Cookie(j), 7))...)
			}
			wrote := make(chan error, 1)
			go func() { wrote <- f.writeRaw(burst) }()
			if tt.hold {
				<-entered
				s := tc.session(dpid)
				waitUntil(t, "the reader to stall on the full queue", func() bool { return s.stalled.Load() })
				// Stalled for several echo intervals: the controller
				// probes the switch and does not drop it.
				for range 3 {
					f.waitFor(tEchoRequest, "an ECHO_REQUEST while the reader waits", func(m ofMsg) bool {
						return bytes.Equal(m.body, []byte("ovsmesh: busy"))
					})
				}
				if f.isClosed() {
					t.Fatal("session closed while the reader waited")
				}
				close(release)
			}
			for j := range tt.n {
				ev := app.next(t, "flow-removed")
				if ev.fr.Cookie != flows.Cookie(j) {
					t.Fatalf("event %d carries cookie %v, want %d: events lost or reordered", j, ev.fr.Cookie, j)
				}
			}
			if err := <-wrote; err != nil {
				t.Fatalf("writing the burst: %v", err)
			}
			f.echo("the burst")
			if f.isClosed() || len(tc.Switches()) != 1 {
				t.Fatal("session ended by the burst")
			}
			if got := tc.metric(t, "ovsmesh_bad_messages_total", nil); got != 0 {
				t.Errorf("ovsmesh_bad_messages_total = %v, want 0", got)
			}
		})
	}
}

// TestFlowRemovedBurstDuringReconcile: a burst that fills the queue
// while reconciliation waits for its flow dump (the reply sits unread
// behind the burst) fails that wait at once instead of leaving the
// reader and the dispatcher waiting on each other for its 30 s timeout;
// every event is delivered and the session stays up.
func TestFlowRemovedBurstDuringReconcile(t *testing.T) {
	const n = 3000
	app := newRecorder("rec")
	tc := startController(t, Options{EventBytes: 16 << 10}, app)
	const dpid = flows.DPID(0xf20)
	f := tc.connect(t, dpid, ofPort(1, "eth1", 0))
	f.autoFlowStats.Store(false)
	app.next(t, "up")
	req := f.waitFor(tMultipartRequest, "reconciliation's flow dump", nil)
	var burst []byte
	for j := range n {
		burst = append(burst, ofMessage(ofVersion, tFlowRemoved, uint32(j+1), flowRemoved(flows.Cookie(j), 7))...)
	}
	burst = append(burst, ofMessage(ofVersion, tMultipartReply, req.h.XID, multipartReply(mpFlow, 0, nil))...)
	start := time.Now()
	if err := f.writeRaw(burst); err != nil {
		t.Fatal(err)
	}
	for j := range n {
		if ev := app.next(t, "flow-removed"); ev.fr.Cookie != flows.Cookie(j) {
			t.Fatalf("event %d carries cookie %v, want %d", j, ev.fr.Cookie, j)
		}
	}
	if d := time.Since(start); d > waitTimeout {
		t.Errorf("the burst took %v to deliver", d)
	}
	tc.waitLog(t, "reconciling flows after connect failed", "fill the queue ahead of the reply")
	f.echo("the burst")
	if f.isClosed() {
		t.Fatal("session ended by the burst")
	}
}

// TestPacketInBytesBounded: packet-ins are bounded in bytes per switch
// and across switches; beyond either they are dropped and counted by
// reason, and once the app has handled the queue the bytes are free
// again.
func TestPacketInBytesBounded(t *testing.T) {
	const payload = 1000
	size := len(ofMessage(ofVersion, tPacketIn, 0, packetIn(1, make([]byte, payload)))) + eventOverhead
	tests := []struct {
		name       string
		opts       Options
		switches   int
		flood      int // per switch
		wantQueued int // in total, besides each switch's first (blocked) packet-in
		wantEach   int // at least, per switch
		wantReason string
	}{
		{name: "per switch", opts: Options{QueueLen: 10000, PacketInBytes: 20 * size}, switches: 1, flood: 100,
			wantQueued: 19, wantReason: dropSwitchBytes},
		// 3 switches: each reserves 5 packet-ins' bytes (half the total
		// over MaxConnections), the other 15 are shared: the first
		// switch's flood takes its 4 and the whole pool, the others
		// still get their 4 each.
		{name: "across switches", opts: Options{QueueLen: 10000, PacketInBytesTotal: 30 * size, MaxConnections: 3, MaxConnectionsPerIP: 3},
			switches: 3, flood: 50, wantQueued: 27, wantEach: 4, wantReason: dropTotalBytes},
		{name: "by count", opts: Options{QueueLen: 5}, switches: 1, flood: 50,
			wantQueued: 5, wantReason: dropQueueFull},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			release := make(chan struct{})
			app := newRecorder("rec")
			app.onPacketIn = func(ctx context.Context, _ Switch, pi *flows.PacketIn) error {
				if bytes.HasPrefix(pi.Data, []byte("first")) {
					select {
					case <-release:
					case <-ctx.Done():
					}
				}
				return nil
			}
			tc := startController(t, tt.opts, app)
			var sws []*fakeSwitch
			for k := range tt.switches {
				dpid := flows.DPID(0xb00 + 16*i + k)
				f := tc.connect(t, dpid, ofPort(1, "eth1", 0))
				app.nextOf(t, dpid, "up")
				f.send(tPacketIn, packetIn(1, append([]byte("first"), make([]byte, payload-5)...)))
				app.nextOf(t, dpid, "packet-in")
				sws = append(sws, f)
			}
			for _, f := range sws {
				for j := range tt.flood {
					f.send(tPacketIn, packetIn(1, append(seq(j), make([]byte, payload-len(seq(j)))...)))
				}
				f.echo("the flood")
			}
			var dropped float64
			for _, r := range []string{dropQueueFull, dropSwitchBytes, dropTotalBytes} {
				dropped += tc.sum(t, "ovsmesh_packet_ins_dropped_total", map[string]string{"reason": r})
			}
			queued := tc.sum(t, "ovsmesh_packet_ins_total", nil) - float64(tt.switches)
			if int(queued) != tt.wantQueued {
				t.Errorf("%v packet-ins queued behind the blocked ones, want %d", queued, tt.wantQueued)
			}
			for k := range tt.switches {
				dpid := flows.DPID(0xb00 + 16*i + k).String()
				if n := tc.sum(t, "ovsmesh_packet_ins_total", map[string]string{"dpid": dpid}) - 1; n < float64(tt.wantEach) {
					t.Errorf("switch %s: %v packet-ins queued, want at least %d: starved by the others", dpid, n, tt.wantEach)
				}
			}
			if want := float64(tt.switches*tt.flood - tt.wantQueued); dropped != want {
				t.Errorf("%v packet-ins dropped, want %v", dropped, want)
			}
			if got := tc.sum(t, "ovsmesh_packet_ins_dropped_total", map[string]string{"reason": tt.wantReason}); got == 0 {
				t.Errorf("no drop counted with reason %s", tt.wantReason)
			}
			close(release)
			for range tt.wantQueued {
				app.next(t, "packet-in")
			}
			waitUntil(t, "the packet-in bytes to be released", func() bool { return tc.pinBudget.used.Load() == 0 })
			for _, f := range sws {
				if f.isClosed() {
					t.Fatal("a session closed by the flood")
				}
			}
		})
	}
}

// sum returns the sum of every series of a counter or gauge whose labels
// include labels.
func (tc *testController) sum(t testing.TB, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := tc.reg.Gather()
	if err != nil {
		t.Fatalf("gather metrics: %v", err)
	}
	var total float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if have[k] != v {
					continue series
				}
			}
			total += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return total
}
