//go:build linux

package main

import (
	"math"
	"slices"
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	inf := math.Inf(1)
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{1, inf, 2}, 2},
		{[]float64{1, inf, inf, 2}, inf},
		{[]float64{1, 2, 3, inf}, 2.5},
	} {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
	if got := median(nil); !math.IsNaN(got) {
		t.Errorf("median(nil) = %v, want NaN", got)
	}
	in := []float64{3, 1, 2}
	median(in)
	if !slices.Equal(in, []float64{3, 1, 2}) {
		t.Errorf("median reordered its argument: %v", in)
	}
}

func TestPingTimes(t *testing.T) {
	for _, tc := range []struct {
		name, out string
		want      []float64
	}{
		{"one reply", `PING 10.102.0.1 (10.102.0.1) 56(84) bytes of data.
64 bytes from 10.102.0.1: icmp_seq=1 ttl=64 time=3.95 ms

--- 10.102.0.1 ping statistics ---
1 packets transmitted, 1 received, 0% packet loss, time 0ms
rtt min/avg/max/mdev = 3.950/3.950/3.950/0.000 ms`, []float64{3.95}},
		{"lost", `PING 10.0.2.1 (10.0.2.1) 56(84) bytes of data.

--- 10.0.2.1 ping statistics ---
1 packets transmitted, 0 received, 100% packet loss, time 0ms`, nil},
		{"several, units", "icmp_seq=1 ttl=64 time=0.609 ms\nicmp_seq=2 ttl=64 time=1.2 s\nicmp_seq=3 time<1 ms\nicmp_seq=4 time=250 usec", []float64{0.609, 1200, 1, 0.25}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := pingTimes(tc.out); !slices.Equal(got, tc.want) {
				t.Errorf("pingTimes = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestParseIperf(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     iperfResult
		err      bool
	}{
		{"ok", `{"start":{},"end":{"sum_sent":{"bits_per_second":8.2e8,"retransmits":40433},"sum_received":{"bits_per_second":8.119e8}}}`,
			iperfResult{ReceivedBps: 8.119e8, Retransmits: 40433}, false},
		{"error", `{"start":{},"end":{},"error":"unable to connect to server: Connection refused"}`, iperfResult{}, true},
		{"no sum", `{"end":{}}`, iperfResult{}, true},
		{"not JSON", `iperf3: error`, iperfResult{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseIperf([]byte(tc.in))
			if (err != nil) != tc.err || got != tc.want {
				t.Errorf("parseIperf = %+v, %v; want %+v, error %v", got, err, tc.want, tc.err)
			}
		})
	}
}

func TestDistinctSources(t *testing.T) {
	out := ` cookie=0x1020000ddff0001, duration=1.2s, table=10, n_packets=0, n_bytes=0, idle_timeout=300, send_flow_rem priority=200,in_port=1,dl_src=02:dd:01:00:00:01 actions=goto_table:30
 cookie=0x1020000ddff0001, duration=1.2s, table=40, n_packets=0, n_bytes=0, priority=100,dl_src=02:dd:01:00:00:01,dl_dst=02:00:00:00:01:02 actions=output:2
 cookie=0x0, duration=0.9s, table=0, n_packets=0, n_bytes=0, idle_timeout=60, priority=32768,in_port=1,dl_src=02:dd:01:00:00:02,dl_dst=02:00:00:00:01:02,dl_type=0x88b5 actions=output:2
 cookie=0x0, duration=9.1s, table=0, n_packets=9, n_bytes=540, priority=0 actions=CONTROLLER:65535`
	macs, flows := distinctSources(out)
	if macs != 2 || flows != 3 {
		t.Errorf("distinctSources = %d MACs, %d flows; want 2, 3", macs, flows)
	}
}

// Real outputs of OVS 3.1 (userspace datapath, GRE) on host h3 of a
// 3-host lab.
const dpifShowH3 = `netdev@ovs-netdev: hit:7 missed:7
  br-int:
    br-int 65534/3: (tap)
    om-h1 1/4: (gre: key=5001, remote_ip=198.18.0.1)
    om-h2 2/4: (gre: key=5001, remote_ip=198.18.0.2)
    v-h3g1 4/6: (system)
    v-h3g2 3/5: (system)
  br-phy:
    br-phy 65534/2: (tap)
    ul0 1/1: (system)
`

func TestDpifPorts(t *testing.T) {
	got := dpifPorts(dpifShowH3)
	want := map[string]map[string]int{
		"br-int": {"br-int": 3, "om-h1": 4, "om-h2": 4, "v-h3g1": 6, "v-h3g2": 5},
		"br-phy": {"br-phy": 2, "ul0": 1},
	}
	if len(got) != len(want) {
		t.Fatalf("dpifPorts = %v, want %v", got, want)
	}
	for br, ports := range want {
		for name, n := range ports {
			if got[br][name] != n {
				t.Errorf("dpifPorts[%s][%s] = %d, want %d (all: %v)", br, name, got[br][name], n, got)
			}
		}
	}
}

func TestTraceOutputs(t *testing.T) {
	brInt := dpifPorts(dpifShowH3)["br-int"]
	for _, tc := range []struct {
		name    string
		trace   string
		want    []dpOutput
		toCtl   bool
		noTrace bool
	}{
		{"tunnel", `Megaflow: recirc_id=0,eth,ip,in_port=3,dl_src=02:00:00:00:03:02,dl_dst=02:00:00:00:01:01,nw_ecn=0,nw_frag=no
Datapath actions: tnl_push(tnl_port(4),header(size=42,type=3,eth(dst=02:18:00:00:00:01,src=02:18:00:00:00:03,dl_type=0x0800),ipv4(src=198.18.0.3,dst=198.18.0.1,proto=47,tos=0,ttl=64,frag=0x4000),gre((flags=0x2000,proto=0x6558),key=0x1389)),out_port(2)),1`,
			[]dpOutput{{Port: -1, Remote: "198.18.0.1"}}, false, false},
		{"local port", "Datapath actions: 6", []dpOutput{{Port: 6}}, false, false},
		// A flood: a local port and two tunnels, one inside clone().
		{"flood", "Datapath actions: 5,clone(tnl_push(tnl_port(4),header(size=42,type=3,eth(dst=02:18:00:00:00:02,src=02:18:00:00:00:01,dl_type=0x0800),ipv4(src=198.18.0.1,dst=198.18.0.2,proto=47,tos=0,ttl=64,frag=0x4000),gre((flags=0x2000,proto=0x6558),key=0x1389)),out_port(2)),1),tnl_push(tnl_port(4),header(size=42,type=3,eth(dst=02:18:00:00:00:03,src=02:18:00:00:00:01,dl_type=0x0800),ipv4(src=198.18.0.1,dst=198.18.0.3,proto=47,tos=0,ttl=64,frag=0x4000),gre((flags=0x2000,proto=0x6558),key=0x1389)),out_port(2)),1",
			[]dpOutput{{Port: 5}, {Port: -1, Remote: "198.18.0.2"}, {Port: -1, Remote: "198.18.0.3"}}, false, false},
		{"controller", "Datapath actions: userspace(pid=0,controller(reason=6,dont_send=1,continuation=0,recirc_id=4,rule_cookie=0x101000000000a,controller_id=0,max_len=65535))",
			nil, true, false},
		{"drop", "Datapath actions: drop", nil, false, false},
		{"no trace", "ovs-appctl: br-int: unknown bridge", nil, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			outs, toCtl, ok := traceOutputs(tc.trace)
			outs = onBridge(outs, brInt)
			if !slices.Equal(outs, tc.want) || toCtl != tc.toCtl || ok == tc.noTrace {
				t.Errorf("traceOutputs = %+v, %v, %v; want %+v, %v, %v", outs, toCtl, ok, tc.want, tc.toCtl, !tc.noTrace)
			}
		})
	}
}

func TestSplitTop(t *testing.T) {
	got := splitTop("a(b,c),d, e(f(g,h),i)")
	if want := []string{"a(b,c)", "d", "e(f(g,h),i)"}; !slices.Equal(got, want) {
		t.Errorf("splitTop = %q, want %q", got, want)
	}
}

func TestStatCPU(t *testing.T) {
	stat := "1234 (ovs-vswitchd) S 1 1233 1233 0 -1 4194624 5316 0 0 0 250 130 0 0 10 -10 5 0 1000 0 0"
	if got := statCPU(stat); math.Abs(got-3.8) > 1e-9 {
		t.Errorf("statCPU = %v, want 3.8", got)
	}
	if got := statCPU("garbage"); got != 0 {
		t.Errorf("statCPU(garbage) = %v, want 0", got)
	}
}

func TestWindowRate(t *testing.T) {
	t0 := time.Unix(1000, 0)
	w := windowStats{}
	for i := range 10 {
		w.deliveries = append(w.deliveries, t0.Add(time.Duration(i)*100*time.Millisecond))
	}
	// [0.2s, 0.7s): deliveries at 0.2 .. 0.6, five in half a second.
	if got := w.rateBetween(t0.Add(200*time.Millisecond), t0.Add(700*time.Millisecond)); got != 10 {
		t.Errorf("rateBetween = %v, want 10", got)
	}
	if got := w.rateBetween(t0, t0); got != 0 {
		t.Errorf("rateBetween over nothing = %v, want 0", got)
	}
}

func TestTarget(t *testing.T) {
	for _, tc := range []struct {
		r    row
		want string
	}{
		{row{Ovsmesh: 1.3, Peer: "NORMAL", PeerValue: 1.25, Target: target{Ratio: true, Op: "<=", Value: 1.1}}, "PASS"},
		{row{Ovsmesh: 3.3, Peer: "NORMAL", PeerValue: 1.25, Target: target{Ratio: true, Op: "<=", Value: 1.1}}, "MISS"},
		{row{Ovsmesh: 20000, Peer: "tc", PeerValue: 9000, Target: target{Ratio: true, Op: ">=", Value: 2}}, "PASS"},
		{row{Ovsmesh: 99, Target: target{Op: "<", Value: 100}}, "PASS"},
		{row{Ovsmesh: 100, Target: target{Op: "<", Value: 100}}, "MISS"},
		{row{Ovsmesh: math.NaN(), Target: target{Op: "<", Value: 100}}, "MISS"},
		{row{Ovsmesh: 1, Peer: "NORMAL", PeerValue: 0, Target: target{Ratio: true, Op: "<=", Value: 1.1}}, "MISS"},
	} {
		if got := tc.r.verdict(); got != tc.want {
			t.Errorf("%+v: verdict %s, want %s", tc.r, got, tc.want)
		}
	}
	if got := (target{Ratio: true, Op: "<=", Value: 1.05}).String(); got != "<= 1.05x" {
		t.Errorf("target string %q", got)
	}
}
