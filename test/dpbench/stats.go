//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// median returns the median of xs (the mean of the two middle values for
// an even count), NaN for none. +Inf values (lost trials) count as the
// largest.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	if math.IsInf(s[n/2], 1) {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// minMax returns the smallest and largest of xs (NaN, NaN for none).
func minMax(xs []float64) (float64, float64) {
	if len(xs) == 0 {
		return math.NaN(), math.NaN()
	}
	return slices.Min(xs), slices.Max(xs)
}

var pingTimeRE = regexp.MustCompile(`time[=<]([0-9.]+) ?(usec|us|ms|msec|s|sec)\b`)

// pingTimes returns every per-reply RTT in ping's output, in
// milliseconds, in order ("time=1.23 ms"; "time<1 ms" reads as 1).
func pingTimes(out string) []float64 {
	var ts []float64
	for _, m := range pingTimeRE.FindAllStringSubmatch(out, -1) {
		v, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			continue
		}
		switch m[2] {
		case "usec", "us":
			v /= 1000
		case "s", "sec":
			v *= 1000
		}
		ts = append(ts, v)
	}
	return ts
}

// iperfResult is what dpbench reads from `iperf3 -J` (client side).
type iperfResult struct {
	// ReceivedBps is the receiver's throughput, bits per second.
	ReceivedBps float64
	// Retransmits counts the sender's TCP retransmissions.
	Retransmits int
}

// parseIperf reads iperf3's JSON report.
func parseIperf(data []byte) (iperfResult, error) {
	var j struct {
		End struct {
			SumSent struct {
				Retransmits int `json:"retransmits"`
			} `json:"sum_sent"`
			SumReceived struct {
				BitsPerSecond float64 `json:"bits_per_second"`
			} `json:"sum_received"`
		} `json:"end"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(data, &j); err != nil {
		return iperfResult{}, fmt.Errorf("iperf3 JSON: %w", err)
	}
	if j.Error != "" {
		return iperfResult{}, fmt.Errorf("iperf3: %s", j.Error)
	}
	if j.End.SumReceived.BitsPerSecond <= 0 {
		return iperfResult{}, fmt.Errorf("iperf3 JSON: no end.sum_received.bits_per_second")
	}
	return iperfResult{ReceivedBps: j.End.SumReceived.BitsPerSecond, Retransmits: j.End.SumSent.Retransmits}, nil
}

var dlSrcRE = regexp.MustCompile(`dl_src=([0-9a-f:]{17})\b`)

// distinctSources counts the distinct dl_src values in `ovs-ofctl
// dump-flows` output, and returns it with the number of flows that name
// one.
func distinctSources(out string) (macs, flowsWithSrc int) {
	seen := map[string]bool{}
	for _, line := range strings.Split(out, "\n") {
		if m := dlSrcRE.FindStringSubmatch(line); m != nil {
			seen[m[1]] = true
			flowsWithSrc++
		}
	}
	return len(seen), flowsWithSrc
}

var (
	dpifBridgeRE = regexp.MustCompile(`^  (\S+):$`)
	dpifPortRE   = regexp.MustCompile(`^\s{4,}(\S+) (\d+)/(\d+):`)
)

// dpifPorts maps bridge name to port name to datapath port number from
// `ovs-appctl dpif/show` ("  br-int:" then "    v-h1g1 4/6: (system)":
// OpenFlow port 4, datapath port 6). Bridges of one userspace datapath
// share its port numbers.
func dpifPorts(out string) map[string]map[string]int {
	ports := map[string]map[string]int{}
	var br string
	for _, line := range strings.Split(out, "\n") {
		if m := dpifBridgeRE.FindStringSubmatch(line); m != nil {
			br = m[1]
			ports[br] = map[string]int{}
			continue
		}
		if m := dpifPortRE.FindStringSubmatch(line); m != nil && br != "" {
			n, _ := strconv.Atoi(m[3])
			ports[br][m[1]] = n
		}
	}
	return ports
}

// dpOutput is one output of a trace's datapath actions: a datapath port,
// or a tunnel push towards a remote underlay address.
type dpOutput struct {
	// Port is the datapath port for a plain output, -1 for a tunnel.
	Port int
	// Remote is the tunnel's outer destination address, "" for a port.
	Remote string
}

var (
	dpActionsRE = regexp.MustCompile(`(?m)^Datapath actions: (.*)$`)
	tnlDstRE    = regexp.MustCompile(`ipv[46]\(src=[^,]+,dst=([^,)]+)`)
)

// traceOutputs reads the last "Datapath actions:" line of `ovs-appctl
// ofproto/trace` and returns its outputs, and whether the packet would
// also go to the controller (a userspace() action). ok is false when the
// output has no such line.
func traceOutputs(out string) (outs []dpOutput, toController, ok bool) {
	ms := dpActionsRE.FindAllStringSubmatch(out, -1)
	if ms == nil {
		return nil, false, false
	}
	outs, toController = actionOutputs(strings.TrimSpace(ms[len(ms)-1][1]))
	return outs, toController, true
}

// actionOutputs returns the outputs of a datapath action list, looking
// inside clone(...), which OVS uses when it sends a packet to several
// tunnels ("clone(tnl_push(...),1),tnl_push(...),1").
func actionOutputs(actions string) (outs []dpOutput, toController bool) {
	for _, a := range splitTop(actions) {
		switch {
		case a == "drop":
		case strings.HasPrefix(a, "userspace("):
			toController = true
		case strings.HasPrefix(a, "clone(") && strings.HasSuffix(a, ")"):
			o, c := actionOutputs(a[len("clone(") : len(a)-1])
			outs, toController = append(outs, o...), toController || c
		case strings.HasPrefix(a, "tnl_push("):
			o := dpOutput{Port: -1}
			if m := tnlDstRE.FindStringSubmatch(a); m != nil {
				o.Remote = m[1]
			}
			outs = append(outs, o)
		default:
			if n, err := strconv.Atoi(a); err == nil {
				outs = append(outs, dpOutput{Port: n})
			}
		}
	}
	return outs, toController
}

// onBridge keeps the tunnel outputs and the plain outputs to one of
// ports (a bridge's datapath ports): with userspace tunnels the datapath
// actions also output the encapsulated packet to the underlay bridge's
// port ("tnl_push(...,out_port(2)),1"), which is not a second place.
func onBridge(outs []dpOutput, ports map[string]int) []dpOutput {
	in := map[int]bool{}
	for _, n := range ports {
		in[n] = true
	}
	var kept []dpOutput
	for _, o := range outs {
		if o.Port < 0 || in[o.Port] {
			kept = append(kept, o)
		}
	}
	return kept
}

// splitTop splits s at commas outside parentheses.
func splitTop(s string) []string {
	var parts []string
	depth, start := 0, 0
	for i, c := range s {
		switch c {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				parts = append(parts, strings.TrimSpace(s[start:i]))
				start = i + 1
			}
		}
	}
	if rest := strings.TrimSpace(s[start:]); rest != "" {
		parts = append(parts, rest)
	}
	return parts
}

// procCPU returns the CPU time (user and system, all threads) pid has
// used, in seconds; 0 when it cannot be read.
func procCPU(pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	return statCPU(string(data))
}

// statCPU reads utime+stime (fields 14 and 15, clock ticks of 1/100 s)
// from a /proc/PID/stat line.
func statCPU(stat string) float64 {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(stat[i+1:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	s, _ := strconv.ParseFloat(f[12], 64)
	return (u + s) / 100
}
