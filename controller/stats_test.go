package controller

import (
	"context"
	"errors"
	"testing"

	"github.com/ovsmesh/ovsmesh/flows"
)

// TestFlowStats: FlowStats asks the switch for every flow and joins the
// REPLY_MORE parts; an unknown DPID is ErrNoSwitch; a refused request
// is the switch's error.
func TestFlowStats(t *testing.T) {
	tc := startController(t, Options{Generation: 3})
	const dpid = flows.DPID(0xabc)
	f := tc.connect(t, dpid, ofPort(1, "eth1", 0))
	// Reconciliation's BARRIER, flow dump (answered empty) and BARRIER
	// come first.
	f.waitFor(tMultipartRequest, "reconciliation's FLOW stats request", nil)
	f.waitFor(tBarrierRequest, "reconciliation's final BARRIER", nil)
	f.autoFlowStats.Store(false)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()

	if _, err := tc.FlowStats(ctx, 0x999); !errors.Is(err, ErrNoSwitch) {
		t.Errorf("FlowStats of an unknown DPID = %v, want ErrNoSwitch", err)
	}

	tests := []struct {
		name    string
		parts   [][]flows.Cookie
		refuse  bool
		wantErr bool
	}{
		{name: "empty", parts: [][]flows.Cookie{nil}},
		{name: "two parts", parts: [][]flows.Cookie{{flows.NewCookie(3, appLearning, 7)}, {flows.NewCookie(2, flows.AppBaseline, 0), 0}}},
		{name: "refused", refuse: true, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
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
			checkFlowStatsRequest(t, req.body)
			var want []flows.Cookie
			if tt.refuse {
				f.sendXID(tError, req.h.XID, errorMsg(1, 2, req.body))
			}
			for j, part := range tt.parts {
				var body []byte
				for _, ck := range part {
					body = append(body, flowStatsEntry(uint8(j), ck)...)
					want = append(want, ck)
				}
				var flags uint16
				if j < len(tt.parts)-1 {
					flags = mpfReplyMore
				}
				f.sendXID(tMultipartReply, req.h.XID, multipartReply(mpFlow, flags, body))
			}
			r := <-done
			if (r.err != nil) != tt.wantErr {
				t.Fatalf("FlowStats error = %v, want error %v", r.err, tt.wantErr)
			}
			if len(r.fs) != len(want) {
				t.Fatalf("FlowStats returned %d flows, want %d", len(r.fs), len(want))
			}
			for i, fs := range r.fs {
				if fs.Cookie != want[i] {
					t.Errorf("flow %d cookie %v, want %v", i, fs.Cookie, want[i])
				}
			}
		})
	}
}

func TestPacketInLabels(t *testing.T) {
	tests := []struct {
		app    flows.AppID
		reason uint8
		want   [2]string
	}{
		{0, 0, [2]string{"none", "no_match"}},
		{2, 1, [2]string{"learning", "action"}},
		{flows.AppBaseline, 2, [2]string{"baseline", "invalid_ttl"}},
		{9, 7, [2]string{"app9", "reason7"}},
	}
	c, err := New(Options{}, Registration{App: &recorder{name: "learning"}, ID: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		if got := [2]string{c.AppName(tt.app), reasonLabel(tt.reason)}; got != tt.want {
			t.Errorf("labels of app %d reason %d = %v, want %v", tt.app, tt.reason, got, tt.want)
		}
	}
}
