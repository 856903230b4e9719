package controller

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ovsmesh/ovsmesh/flows"
)

// TestFlowStatsComplete reproduces issue 11's truncated flow dump: a
// waiter buffered 64 parts and dropped the rest, so 3000 flows came back
// as 1536. Every part sent in one write must arrive; a reply over
// MaxReplyBytes is an error, never a shorter list; the session goes on.
func TestFlowStatsComplete(t *testing.T) {
	entry := len(flowStatsEntry(0, 0))
	tests := []struct {
		name     string
		flows    int
		perPart  int
		maxBytes int
		wantErr  string
	}{
		{name: "3000 flows in 300 parts", flows: 3000, perPart: 10},
		{name: "3000 flows in 3000 parts", flows: 3000, perPart: 1},
		{name: "one part over the limit", flows: 100, perPart: 100, maxBytes: 99 * entry, wantErr: "over its byte limit"},
		{name: "many parts over the limit", flows: 3000, perPart: 10, maxBytes: 2999 * entry, wantErr: "over its byte limit"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tc := startController(t, Options{MaxReplyBytes: tt.maxBytes})
			dpid := flows.DPID(0xd00 + i)
			f := tc.connect(t, dpid, ofPort(1, "eth1", 0))
			f.waitFor(tBarrierRequest, "reconciliation's final BARRIER", nil)
			f.waitFor(tBarrierRequest, "reconciliation's final BARRIER", nil)
			f.autoFlowStats.Store(false)
			ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
			defer cancel()
			type result struct {
				fs  []flows.FlowStats
				err error
			}
			done := make(chan result, 1)
			go func() {
				fs, err := tc.FlowStats(ctx, dpid)
				done <- result{fs, err}
			}()
			req := f.waitFor(tMultipartRequest, "FLOW stats request", nil)
			var all []byte
			for start := 0; start < tt.flows; start += tt.perPart {
				var body []byte
				for k := start; k < min(start+tt.perPart, tt.flows); k++ {
					body = append(body, flowStatsEntry(uint8(k%200), flows.Cookie(k))...)
				}
				var flags uint16
				if start+tt.perPart < tt.flows {
					flags = mpfReplyMore
				}
				all = append(all, ofMessage(ofVersion, tMultipartReply, req.h.XID, multipartReply(mpFlow, flags, body))...)
			}
			if err := f.writeRaw(all); err != nil {
				t.Fatal(err)
			}
			r := <-done
			if tt.wantErr != "" {
				if r.err == nil || !strings.Contains(r.err.Error(), tt.wantErr) || r.fs != nil {
					t.Fatalf("FlowStats = %d flows, %v; want no flows and an error saying %q", len(r.fs), r.err, tt.wantErr)
				}
				if !errors.Is(r.err, errReplyTooLarge) {
					t.Errorf("error %v does not wrap errReplyTooLarge", r.err)
				}
			} else {
				if r.err != nil {
					t.Fatal(r.err)
				}
				if len(r.fs) != tt.flows {
					t.Fatalf("FlowStats returned %d flows, want %d", len(r.fs), tt.flows)
				}
				for k, fs := range r.fs {
					if fs.Cookie != flows.Cookie(k) {
						t.Fatalf("flow %d has cookie %v: parts lost or reordered", k, fs.Cookie)
					}
				}
			}
			f.echo("the reply")
			if f.isClosed() {
				t.Fatal("session closed by the reply")
			}
		})
	}
}

// TestPortDescBounded reproduces issue 11's endless port list: a
// PORT_DESC reply with More set was stored without limit (7.5 M ports
// took 1.6 GB). Past MaxPorts the handshake fails with a clear error and
// the switch never comes up.
func TestPortDescBounded(t *testing.T) {
	tests := []struct {
		name     string
		maxPorts int
		parts    []int // ports per part; all but the last carry REPLY_MORE
		wantUp   bool
	}{
		{name: "at the limit", maxPorts: 100, parts: []int{60, 40}, wantUp: true},
		{name: "one part over", maxPorts: 100, parts: []int{101}},
		{name: "endless parts", maxPorts: 100, parts: []int{60, 60, 60, 60}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := newRecorder("rec")
			tc := startController(t, Options{MaxPorts: tt.maxPorts}, app)
			dpid := flows.DPID(0xe00 + i)
			f := dialSwitch(t, tc.addr)
			f.send(tHello, helloBitmap(1<<ofVersion))
			f.expect(tHello, "controller HELLO")
			req := f.expect(tFeaturesRequest, "FEATURES_REQUEST")
			f.sendXID(tFeaturesReply, req.h.XID, featuresReply(dpid, 0))
			f.expect(tSetConfig, "SET_CONFIG")
			req = f.expect(tMultipartRequest, "PORT_DESC request")
			no := uint32(1)
			var all []byte
			for k, n := range tt.parts {
				var body []byte
				for range n {
					body = append(body, ofPort(no, "p", 0)...)
					no++
				}
				var flags uint16
				if k < len(tt.parts)-1 {
					flags = mpfReplyMore
				}
				all = append(all, ofMessage(ofVersion, tMultipartReply, req.h.XID, multipartReply(mpPortDesc, flags, body))...)
			}
			f.writeRaw(all)
			if tt.wantUp {
				if up := app.next(t, "up"); len(up.ports) != int(no-1) {
					t.Fatalf("switch up with %d ports, want %d", len(up.ports), no-1)
				}
				return
			}
			f.waitClosed("a port list over the limit")
			line := tc.waitLog(t, "switch handshake failed", "dpid="+dpid.String())
			if !strings.Contains(line, "more than 100 ports") {
				t.Errorf("log line %q does not say the port list is over its limit", line)
			}
			app.none(t, "the switch never comes up")
		})
	}
}
