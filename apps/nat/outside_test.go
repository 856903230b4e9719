package nat

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ovsmesh/ovsmesh/flows"
)

// TestExternalPortAndNextHopProblems checks the gateway's outside going
// wrong (issue 12, bad input): a next hop that never answers is asked
// again every nextHopRetry and reported unresolved; the external port
// disappearing is reported in the status and the metric, its flows are
// removed on the gateway only and no request goes out while it is
// missing; when it comes back its flows return and the next hop is asked
// at once.
func TestExternalPortAndNextHopProblems(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil)
	f.take()
	h3 := f.recs["h3"]
	tick := func() {
		f.clock.Advance(nextHopRetry)
		f.a.mu.Lock()
		f.a.tickNextHopLocked(ctx, f.clock.Now())
		f.a.mu.Unlock()
	}
	requests := func() uint64 { return f.a.Status(ctx).NextHop.Requests }

	if st := f.a.Status(ctx); st.NextHop.State != "unresolved" || st.NextHop.Requests != 1 || !st.External.Up {
		t.Fatalf("at start: next hop %+v, external %+v; want unresolved after 1 request, the port up", st.NextHop, st.External)
	}
	tick()
	tick()
	if n := requests(); n != 3 {
		t.Errorf("an unanswered next hop after two retry periods: %d requests, want 3", n)
	}
	if out := f.take(); strings.Count(out, "[h3] packet_out") != 2 || strings.Count(out, "\n") != 2 {
		t.Errorf("the retries sent:\n%s\nwant two packet-outs on h3 and nothing else", out)
	}

	ext := h3.PortList[len(h3.PortList)-1]
	h3.PortList = slices.DeleteFunc(h3.PortList, func(p flows.Port) bool { return p.Name == "ext0" })
	must(t, f.a.PortStatus(ctx, h3, flows.PortStatus{Reason: flows.PortDeleted, Port: ext}))
	st := f.a.Status(ctx)
	if st.External.Up || !strings.Contains(st.External.Problem, "ext0 is not on the gateway's bridge") || testutil.ToFloat64(f.a.m.extPortUp) != 0 {
		t.Errorf("external port gone: %+v, metric %v; want down with the problem named, metric 0", st.External, testutil.ToFloat64(f.a.m.extPortUp))
	}
	out := f.take()
	if out == "" || strings.Contains(out, "[h1]") || strings.Contains(out, "[h2]") || strings.Contains(out, "add") {
		t.Errorf("external port gone, sent:\n%s\nwant only deletions, on h3", out)
	}
	tick()
	if n := requests(); n != 3 {
		t.Errorf("requests while the external port is missing: %d, want still 3", n)
	}

	h3.PortList = append(h3.PortList, ext)
	must(t, f.a.PortStatus(ctx, h3, flows.PortStatus{Reason: flows.PortAdded, Port: ext}))
	if st := f.a.Status(ctx); !st.External.Up || st.External.Problem != "" || testutil.ToFloat64(f.a.m.extPortUp) != 1 || st.NextHop.Requests != 4 {
		t.Errorf("external port back: %+v, metric %v, %d requests; want up, metric 1, the next hop asked at once (4)",
			st.External, testutil.ToFloat64(f.a.m.extPortUp), st.NextHop.Requests)
	}
	if out := f.take(); strings.Contains(out, "[h1]") || strings.Contains(out, "[h2]") || !strings.Contains(out, "in_port=5") {
		t.Errorf("external port back, sent:\n%s\nwant the external port's flows again, on h3 only", out)
	}
}
