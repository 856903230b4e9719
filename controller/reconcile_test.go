package controller

import (
	"context"
	"encoding/binary"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/ovsmesh/ovsmesh/flows"
)

// TestReconcile: after SwitchUp the controller sends a BARRIER, dumps
// every flow, deletes each stale (generation, app) pair once by cookie
// and mask, and ends with a BARRIER. Foreign (app 0) and current
// generation flows are left alone.
func TestReconcile(t *testing.T) {
	const gen = 7
	c := flows.NewCookie
	tests := []struct {
		name      string
		parts     [][]flows.Cookie // flow stats reply parts; all but the last carry REPLY_MORE
		wantStale []flows.Cookie   // generation|app of each expected delete
	}{
		{name: "no flows", parts: [][]flows.Cookie{nil}},
		{name: "only current generation and foreign flows",
			parts: [][]flows.Cookie{{c(gen, flows.AppBaseline, 0), c(gen, appLearning, 99), 0, 0x1234, c(3, 0, 5)}}},
		{name: "stale generations of two apps",
			parts: [][]flows.Cookie{{
				c(5, flows.AppBaseline, 10), c(5, flows.AppBaseline, 11), c(5, appLearning, 3),
				c(6, flows.AppBaseline, 0), 0, c(gen, flows.AppBaseline, 5), c(gen, appLearning, 9),
			}},
			wantStale: []flows.Cookie{c(5, flows.AppBaseline, 0), c(5, appLearning, 0), c(6, flows.AppBaseline, 0)}},
		{name: "stale pairs spread over REPLY_MORE parts",
			parts: [][]flows.Cookie{
				{c(1, appLearning, 1), 0},
				{c(1, appLearning, 2), c(gen, appLearning, 2), c(0xffff, 0xff, 0xffffffff)},
				{},
				{c(gen+1, flows.AppBaseline, 0)},
			},
			wantStale: []flows.Cookie{c(1, appLearning, 0), c(0xffff, 0xff, 0), c(gen+1, flows.AppBaseline, 0)}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := newRecorder("rec")
			baseline := flows.AddFlow(flows.Flow{Table: 0, Priority: 0, Cookie: c(gen, flows.AppBaseline, 0)})
			app.onUp = func(ctx context.Context, sw Switch) error { return sw.Send(ctx, baseline) }
			tc := startController(t, Options{Generation: gen}, app)
			dpid := flows.DPID(0xc0 + i)
			f := dialSwitch(t, tc.addr)
			f.autoFlowStats.Store(false)
			f.handshake(dpid, ofPort(1, "eth1", 0))

			// The app's replay, then a barrier, then the flow dump.
			if fm := decodeFlowMod(t, f.expect(tFlowMod, "the app's SwitchUp flow")); fm.command != ofpfcAdd || fm.cookie != baseline.Flow.Cookie {
				t.Errorf("first flow-mod %+v, want the app's add", fm)
			}
			f.expect(tBarrierRequest, "BARRIER after the replay")
			req := f.expect(tMultipartRequest, "FLOW stats request")
			checkFlowStatsRequest(t, req.body)

			for j, part := range tt.parts {
				var body []byte
				for _, ck := range part {
					body = append(body, flowStatsEntry(uint8(j), ck)...)
				}
				var flags uint16
				if j < len(tt.parts)-1 {
					flags = mpfReplyMore
				}
				f.sendXID(tMultipartReply, req.h.XID, multipartReply(mpFlow, flags, body))
			}

			deleted := map[flows.Cookie]int{}
			for {
				m := f.next("DELETE flow-mods then BARRIER")
				if m.h.Type == tBarrierRequest {
					break
				}
				fm := decodeFlowMod(t, m)
				if fm.command != ofpfcDelete || fm.table != ofpttAll || fm.mask != flows.CookieGenAppMask ||
					fm.outPort != ofppAny || fm.outGroup != ofpgAny {
					t.Errorf("flow-mod %+v, want DELETE in table ALL by cookie under mask %v, out_port and out_group ANY", fm, flows.CookieGenAppMask)
				}
				deleted[fm.cookie]++
			}
			for ck, n := range deleted {
				if n != 1 {
					t.Errorf("cookie %v deleted %d times, want once", ck, n)
				}
				if ck.Object() != 0 {
					t.Errorf("delete cookie %v carries an object ID", ck)
				}
			}
			got := slices.Sorted(maps.Keys(deleted))
			want := slices.Sorted(slices.Values(tt.wantStale))
			if !slices.Equal(got, want) {
				t.Errorf("deleted generation/app pairs %v, want %v", got, want)
			}
			if len(want) > 0 {
				tc.waitMetric(t, "ovsmesh_stale_cookies_deleted_total", map[string]string{"dpid": dpid.String()}, float64(len(want)))
			}
			// Events flow after reconciliation.
			f.send(tPacketIn, packetIn(1, seq(0)))
			app.next(t, "up")
			app.next(t, "packet-in")
		})
	}
}

// checkFlowStatsRequest checks an OFPMP_FLOW request body: type 1, flags
// 0, 4 pad, table ALL, 3 pad, out_port ANY, out_group ANY, 4 pad,
// cookie 0, cookie_mask 0, empty match.
func checkFlowStatsRequest(t *testing.T, b []byte) {
	t.Helper()
	if len(b) != 8+32+8 {
		t.Fatalf("flow stats request body of %d bytes, want 48", len(b))
	}
	if typ := binary.BigEndian.Uint16(b); typ != mpFlow {
		t.Errorf("multipart type %d, want OFPMP_FLOW (1)", typ)
	}
	if b[8] != ofpttAll || binary.BigEndian.Uint32(b[12:]) != ofppAny || binary.BigEndian.Uint32(b[16:]) != ofpgAny {
		t.Errorf("flow stats request % x, want table ALL, out_port ANY, out_group ANY", b[8:20])
	}
	if binary.BigEndian.Uint64(b[24:]) != 0 || binary.BigEndian.Uint64(b[32:]) != 0 {
		t.Errorf("flow stats request filters by cookie % x", b[24:40])
	}
}

// TestReconcileRefused: a switch that refuses the flow dump with an
// error leaves the session up and its events flowing.
func TestReconcileRefused(t *testing.T) {
	app := newRecorder("rec")
	tc := startController(t, Options{Generation: 2}, app)
	f := dialSwitch(t, tc.addr)
	f.autoFlowStats.Store(false)
	f.handshake(0x31)
	req := f.waitFor(tMultipartRequest, "FLOW stats request", nil)
	f.sendXID(tError, req.h.XID, errorMsg(etBadRequest, 2, ofMessage(ofVersion, tMultipartRequest, req.h.XID, req.body)))
	tc.waitLog(t, "reconciling flows after connect failed", "dpid="+flows.DPID(0x31).String())
	f.send(tPacketIn, packetIn(1, seq(0)))
	app.next(t, "up")
	app.next(t, "packet-in")
}

// TestReconnectReplaces: a second connection with the same DPID replaces
// the first, which is closed and gets its SwitchDown.
func TestReconnectReplaces(t *testing.T) {
	const dpid = flows.DPID(0xd1)
	app := newRecorder("rec")
	tc := startController(t, Options{}, app)
	first := tc.connect(t, dpid, ofPort(1, "eth1", 0))
	up1 := app.next(t, "up")

	second := tc.connect(t, dpid, ofPort(1, "eth1", 0), ofPort(2, "eth2", 0))
	first.waitClosed("replaced by a newer connection of the same DPID")
	tc.waitLog(t, "switch reconnected: closing its older session", "dpid="+dpid.String())

	// Both SwitchUp (new) and SwitchDown (old) arrive, in either order.
	var up2, down event
	for range 2 {
		select {
		case ev := <-app.events:
			switch ev.kind {
			case "up":
				up2 = ev
			case "down":
				down = ev
			default:
				t.Fatalf("unexpected %s event", ev.kind)
			}
		case <-time.After(waitTimeout):
			t.Fatal("waiting for the new SwitchUp and the old SwitchDown")
		}
	}
	if down.sw != up1.sw {
		t.Errorf("SwitchDown was for %v, want the first session %v", down.sw, up1.sw)
	}
	if up2.sw == nil || up2.sw == up1.sw || len(up2.ports) != 2 {
		t.Errorf("second SwitchUp sw %v with %d ports, want a new session with 2 ports", up2.sw, len(up2.ports))
	}
	sws := tc.Switches()
	if len(sws) != 1 || sws[0].Remote != second.conn.LocalAddr().String() {
		t.Fatalf("Switches() = %+v, want the second connection from %s", sws, second.conn.LocalAddr())
	}
	tc.waitMetric(t, "ovsmesh_switches_connected", nil, 1)
	second.send(tPacketIn, packetIn(2, seq(0)))
	if ev := app.next(t, "packet-in"); ev.sw != up2.sw || ev.pi.InPort != 2 {
		t.Errorf("packet-in on %v from port %d, want the second session from port 2", ev.sw, ev.pi.InPort)
	}
	if err := up1.sw.Send(context.Background(), flows.BarrierRequest{}); err == nil {
		t.Error("Send on the replaced session succeeded")
	}
}

// TestSessionEndsDuringSwitchUp: when the switch goes away while an app
// is still in SwitchUp, reconciliation does not wait for a reply that
// cannot come: SwitchDown follows promptly.
func TestSessionEndsDuringSwitchUp(t *testing.T) {
	const dpid = flows.DPID(0xe5)
	entered, release := make(chan struct{}), make(chan struct{})
	app := newRecorder("rec")
	app.onUp = func(ctx context.Context, sw Switch) error {
		close(entered)
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil
	}
	tc := startController(t, Options{}, app)
	f := tc.connect(t, dpid)
	<-entered
	s := tc.session(dpid)
	f.conn.Close()
	waitUntil(t, "the session's reader to end", func() bool {
		s.waitMu.Lock()
		defer s.waitMu.Unlock()
		return s.ended
	})
	close(release)
	app.next(t, "up")
	start := time.Now()
	app.next(t, "down")
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("SwitchDown came %v after SwitchUp returned", d)
	}
}
