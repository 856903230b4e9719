package api

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ovsmesh/ovsmesh/controller"
	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/topo"
)

// fakeController is a PortStatser: connected switches and the counters
// each one answers with.
type fakeController struct {
	mu    sync.Mutex
	up    []controller.SwitchInfo
	stats map[flows.DPID][]flows.PortStats
	calls atomic.Int64
	// inflight and maxInflight measure how many requests overlap.
	inflight, maxInflight atomic.Int64
	delay                 time.Duration
}

func (f *fakeController) Switches() []controller.SwitchInfo {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.up
}

func (f *fakeController) PortStats(ctx context.Context, dpid flows.DPID) ([]flows.PortStats, error) {
	f.calls.Add(1)
	n := f.inflight.Add(1)
	defer f.inflight.Add(-1)
	for {
		m := f.maxInflight.Load()
		if n <= m || f.maxInflight.CompareAndSwap(m, n) {
			break
		}
	}
	if f.delay > 0 {
		select {
		case <-time.After(f.delay):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	ps, ok := f.stats[dpid]
	if !ok {
		return nil, fmt.Errorf("port stats: %w", controller.ErrNoSwitch)
	}
	return ps, nil
}

// port is a flows.Port named name, up unless down.
func port(no flows.OFPort, name string, down bool) flows.Port {
	p := flows.Port{No: no, Name: name}
	if down {
		p.State = 1
	}
	return p
}

// clock is a manual clock for the sampler.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestBuildTopology(t *testing.T) {
	h := func(name string) topo.Host {
		return topo.Host{Name: name, TunnelIP: netip.MustParseAddr("198.18.0." + name[1:])}
	}
	mesh := topo.NewMesh([]topo.Host{h("h1"), h("h2"), h("h3"), h("h4")})
	mesh.SetOVSDBState("h1", topo.OVSDBState{Connected: true})
	mesh.SetOVSDBState("h2", topo.OVSDBState{Connected: true})
	mesh.SetOVSDBState("h3", topo.OVSDBState{LastError: "connection refused"})
	// h1 -> h2 is port 3 by OVSDB (its name on the switch is odd); the
	// other ports are found by name.
	mesh.SetTunnelOFPort("h1", "h2", 3)
	since := time.Unix(1000, 0)
	fc := &fakeController{
		up: []controller.SwitchInfo{
			{DPID: topo.DPIDFor("h1"), Since: since, Ports: []flows.Port{port(1, "v-h1g1", false), port(3, "renamed", false), port(4, "om-h3", false), port(5, "om-h4", false)}},
			{DPID: topo.DPIDFor("h2"), Since: since, Ports: []flows.Port{port(7, "om-h1", false), port(8, "om-h3", true)}},
			{DPID: topo.DPIDFor("h3"), Since: since, Ports: []flows.Port{port(1, "om-h1", false), port(2, "om-h2", false)}},
		},
	}
	macs := topo.NewMACTable()
	for i, loc := range []string{"h1", "h1", "h1", "h1", "h2", ""} {
		macs.Put(topo.MACEntry{MAC: net.HardwareAddr{2, 0, 0, 0, 0, byte(10 - i)}, Host: loc, DPID: topo.DPIDFor(loc)})
	}
	macs.Put(topo.MACEntry{MAC: net.HardwareAddr{2, 0, 0, 0, 0, 0x99}, Domain: 0x77, Host: ""})
	src := MeshTopology{Mesh: mesh, Controller: fc, MACs: macs}
	clk := &clock{t: time.Unix(2000, 0)}
	s := newSampler()
	s.record(topo.DPIDFor("h1"), since, clk.t, []flows.PortStats{{Port: 3, TxBytes: 1000, TxPackets: 10, RxBytes: 50, RxPackets: 1}})
	s.record(topo.DPIDFor("h1"), since, clk.t.Add(2*time.Second), []flows.PortStats{{Port: 3, TxBytes: 5000, TxPackets: 30, RxBytes: 50, RxPackets: 1}})
	o := TopologyOptions{Interval: 2 * time.Second, GuestSample: 3, NATGateway: func() string { return "h2" },
		Trace: func() []TraceHop { return []TraceHop{{Host: "h1", Note: "in"}, {Host: "h2"}} }}
	got := buildTopology(src, s, o, clk.t)

	wantHosts := []TopologyHost{
		{Name: "h1", DPID: topo.DPIDFor("h1").String(), TunnelIP: "198.18.0.1", OVSDBConnected: true, OpenFlowConnected: true,
			Tunnels: map[string]int32{"h2": 3}, Guests: Guests{Count: 4, MACs: []string{"02:00:00:00:00:07", "02:00:00:00:00:08", "02:00:00:00:00:09"}}},
		{Name: "h2", DPID: topo.DPIDFor("h2").String(), TunnelIP: "198.18.0.2", OVSDBConnected: true, OpenFlowConnected: true,
			Tunnels: map[string]int32{}, Guests: Guests{Count: 1, MACs: []string{"02:00:00:00:00:06"}}},
		{Name: "h3", DPID: topo.DPIDFor("h3").String(), TunnelIP: "198.18.0.3", OVSDBError: "connection refused", OpenFlowConnected: true,
			Tunnels: map[string]int32{}, Guests: Guests{MACs: []string{}}},
		{Name: "h4", DPID: topo.DPIDFor("h4").String(), TunnelIP: "198.18.0.4", Tunnels: map[string]int32{}, Guests: Guests{MACs: []string{}}},
	}
	if !reflect.DeepEqual(got.Hosts, wantHosts) {
		t.Errorf("hosts\n got %+v\nwant %+v", got.Hosts, wantHosts)
	}
	up := TunnelEnd{Up: true}
	wantTunnels := []TopologyTunnel{
		{A: "h1", B: "h2", State: TunnelUp, AEnd: TunnelEnd{Up: true, Rates: &PortRates{TxBytes: 2000, TxPackets: 10}}, BEnd: up},
		{A: "h1", B: "h3", State: TunnelUp, AEnd: up, BEnd: up},
		{A: "h1", B: "h4", State: TunnelUnknown, AEnd: up},
		{A: "h2", B: "h3", State: TunnelDown, BEnd: up},
		{A: "h2", B: "h4", State: TunnelUnknown},
		{A: "h3", B: "h4", State: TunnelUnknown},
	}
	if !reflect.DeepEqual(got.Tunnels, wantTunnels) {
		t.Errorf("tunnels\n got %+v\nwant %+v", got.Tunnels, wantTunnels)
	}
	if got.GuestsTotal != 5 || got.NATGateway != "h2" || len(got.Trace) != 2 || got.IntervalSeconds != 2 {
		t.Errorf("guests_total %d, nat_gateway %q, trace %v, interval %v; want 5, h2, 2 hops, 2",
			got.GuestsTotal, got.NATGateway, got.Trace, got.IntervalSeconds)
	}
	// Without a gateway or trace source the placeholders are empty, not null.
	body, _ := json.Marshal(buildTopology(src, s, TopologyOptions{GuestSample: 3}, clk.t))
	for _, want := range []string{`"nat_gateway":""`, `"trace":[]`, `"macs":[]`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("JSON lacks %s: %s", want, body)
		}
	}
}

func TestSamplerRates(t *testing.T) {
	const dpid = flows.DPID(1)
	t0, since := time.Unix(100, 0), time.Unix(50, 0)
	ps := func(tx, rx uint64, d time.Duration) []flows.PortStats {
		return []flows.PortStats{{Port: 1, TxPackets: tx, RxPackets: rx, TxBytes: 100 * tx, RxBytes: 100 * rx, Duration: d}}
	}
	u := flows.CounterUnavailable
	tests := []struct {
		name   string
		first  []flows.PortStats
		second []flows.PortStats
		since2 time.Time
		dt     time.Duration
		want   *PortRates
	}{
		{"steady", ps(10, 20, time.Second), ps(30, 60, 3*time.Second), since, 2 * time.Second, &PortRates{TxPackets: 10, RxPackets: 20, TxBytes: 1000, RxBytes: 2000}},
		{"idle", ps(10, 20, time.Second), ps(10, 20, 3*time.Second), since, 2 * time.Second, &PortRates{}},
		{"counter went back: port re-created", ps(10, 20, 9*time.Second), ps(1, 2, time.Second), since, 2 * time.Second, nil},
		{"new session", ps(10, 20, time.Second), ps(30, 60, 3*time.Second), since.Add(time.Second), 2 * time.Second, nil},
		{"no time passed", ps(10, 20, time.Second), ps(30, 60, 3*time.Second), since, 0, nil},
		{"unavailable counters", []flows.PortStats{{Port: 1, TxPackets: 5, RxPackets: u, TxBytes: u, RxBytes: 7}},
			[]flows.PortStats{{Port: 1, TxPackets: 9, RxPackets: u, TxBytes: u, RxBytes: 11}}, since, time.Second, &PortRates{TxPackets: 4, RxBytes: 4}},
		{"port new in the second sample", nil, ps(1, 1, time.Second), since, time.Second, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSampler()
			if got := s.rates(dpid, 1); got != nil {
				t.Fatalf("rates before any sample = %+v", got)
			}
			s.record(dpid, since, t0, tt.first)
			if got := s.rates(dpid, 1); got != nil {
				t.Fatalf("rates after one sample = %+v", got)
			}
			s.record(dpid, tt.since2, t0.Add(tt.dt), tt.second)
			if got := s.rates(dpid, 1); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("rates = %+v, want %+v", got, tt.want)
			}
		})
	}
	s := newSampler()
	s.record(1, since, t0, nil)
	s.record(2, since, t0, nil)
	s.retain(map[flows.DPID]bool{2: true})
	if len(s.switches) != 1 || s.switches[2] == nil {
		t.Errorf("after retain(2): %v", s.switches)
	}
}

// TestSamplerRun: Run samples every connected switch each interval, at
// most Parallel at a time, forgets a switch that left, and returns when
// its context ends.
func TestSamplerRun(t *testing.T) {
	fc := &fakeController{stats: map[flows.DPID][]flows.PortStats{}, delay: 5 * time.Millisecond}
	for i := range 20 {
		dpid := flows.DPID(i + 1)
		fc.up = append(fc.up, controller.SwitchInfo{DPID: dpid})
		fc.stats[dpid] = []flows.PortStats{{Port: 1, TxBytes: uint64(i)}}
	}
	ts := NewTopologyServer(MeshTopology{Mesh: topo.NewMesh(nil), Controller: fc}, TopologyOptions{Interval: 20 * time.Millisecond, Parallel: 3})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		ts.Run(ctx)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for fc.calls.Load() < 60 {
		if time.Now().After(deadline) {
			t.Fatalf("%d port-stats requests in 10 s, want 3 rounds of 20", fc.calls.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if m := fc.maxInflight.Load(); m > 3 || m < 2 {
		t.Errorf("at most %d requests overlapped, want 2 or 3 (Parallel 3)", m)
	}
	fc.mu.Lock()
	fc.up = fc.up[:1]
	fc.mu.Unlock()
	for n := fc.calls.Load(); fc.calls.Load() < n+25; {
		if time.Now().After(deadline) {
			t.Fatal("no further rounds after a switch left")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return 5 s after its context ended")
	}
	ts.sampler.mu.Lock()
	defer ts.sampler.mu.Unlock()
	if len(ts.sampler.switches) != 1 {
		t.Errorf("sampler keeps %d switches after 19 left, want 1", len(ts.sampler.switches))
	}
}

// TestTopologyHTTP: the endpoint answers compact JSON, gzipped when
// asked; the page and its assets are served from the embedded files.
func TestTopologyHTTP(t *testing.T) {
	mesh := topo.NewMesh([]topo.Host{{Name: "h1"}, {Name: "h2"}})
	ts := NewTopologyServer(MeshTopology{Mesh: mesh, Controller: &fakeController{}}, TopologyOptions{})
	h, err := New(Sources{Mesh: mesh, Switches: fakeSwitches{}, Registry: prometheus.NewRegistry(), Topology: ts})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	tests := []struct {
		path, encoding  string
		status          int
		contentType     string
		contentEncoding string
		want            string
	}{
		{"/api/v1/topology", "identity", 200, "application/json", "", `"tunnels":[{"a":"h1","b":"h2","state":"unknown"`},
		{"/api/v1/topology", "gzip", 200, "application/json", "gzip", `"hosts":[{"name":"h1"`},
		{"/api/v1/topology", "br, gzip;q=0", 200, "application/json", "", `"nat_gateway":""`},
		{"/api/v1/topology?x=1", "", 400, "application/json", "", `unknown query parameter`},
		{"/", "", 200, "text/html; charset=utf-8", "", `<script src="/ui/app.js">`},
		{"/ui/app.js", "", 200, "text/javascript; charset=utf-8", "", `/api/v1/topology`},
		{"/ui/style.css", "", 200, "text/css; charset=utf-8", "", `.tunnel`},
		{"/ui/nope.js", "", 404, "text/plain; charset=utf-8", "", `404 page not found`},
		{"/api/v1/nothing", "", 404, "application/json", "", `flows, hosts, reload, switches, topology)`},
	}
	for _, tt := range tests {
		t.Run(tt.path+" "+tt.encoding, func(t *testing.T) {
			req, _ := http.NewRequest("GET", srv.URL+tt.path, nil)
			if tt.encoding != "" {
				req.Header.Set("Accept-Encoding", tt.encoding)
			}
			tr := &http.Transport{DisableCompression: true}
			defer tr.CloseIdleConnections()
			resp, err := tr.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var r io.Reader = resp.Body
			if resp.Header.Get("Content-Encoding") == "gzip" {
				if r, err = gzip.NewReader(resp.Body); err != nil {
					t.Fatal(err)
				}
			}
			body, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.status || resp.Header.Get("Content-Type") != tt.contentType ||
				resp.Header.Get("Content-Encoding") != tt.contentEncoding || !strings.Contains(string(body), tt.want) {
				t.Errorf("GET %s: %d %q %q, want %d %q %q containing %s; body:\n%.400s", tt.path, resp.StatusCode,
					resp.Header.Get("Content-Type"), resp.Header.Get("Content-Encoding"), tt.status, tt.contentType, tt.contentEncoding, tt.want, body)
			}
		})
	}
}

func TestInsertLowest(t *testing.T) {
	var got []net.HardwareAddr
	for _, b := range []byte{9, 3, 7, 1, 8, 2, 2} {
		got = insertLowest(got, net.HardwareAddr{0, 0, 0, 0, 0, b}, 3)
	}
	if fmt.Sprint(got) != "[00:00:00:00:00:01 00:00:00:00:00:02 00:00:00:00:00:02]" {
		t.Errorf("lowest 3 = %v", got)
	}
	if got := insertLowest(nil, net.HardwareAddr{1, 2, 3, 4, 5, 6}, 0); got != nil {
		t.Errorf("n=0 kept %v", got)
	}
}
