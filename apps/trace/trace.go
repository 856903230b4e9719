package trace

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/ovsmesh/ovsmesh/flows"
)

// ErrBusy is returned while another probe runs: probes run one at a
// time.
var ErrBusy = errors.New("another trace is running; try again in a few seconds")

// ErrRequest is wrapped by errors in a request's fields.
var ErrRequest = errors.New("bad trace request")

// normalize checks req and fills its defaults: proto icmp, port 80 for
// TCP and UDP.
func normalize(req Request) (Request, error) {
	req.Proto = strings.ToLower(req.Proto)
	if req.Proto == "" {
		req.Proto = "icmp"
	}
	switch {
	case req.Src == "" || req.Dst == "":
		return req, fmt.Errorf("%w: give src and dst", ErrRequest)
	case req.Proto != "icmp" && req.Proto != "tcp" && req.Proto != "udp" && req.Proto != "arp":
		return req, fmt.Errorf("%w: proto %q: want icmp, tcp, udp or arp", ErrRequest, req.Proto)
	case req.Port != 0 && req.Proto != "tcp" && req.Proto != "udp":
		return req, fmt.Errorf("%w: port is for tcp and udp only", ErrRequest)
	}
	if req.Port == 0 && (req.Proto == "tcp" || req.Proto == "udp") {
		req.Port = 80
	}
	return req, nil
}

// Trace answers req. With req.Explain it follows the packet through the
// apps' expectations only. Otherwise it probes: it installs the trace
// flows on every connected switch, injects the tagged packet at SRC,
// follows it (probe.go), removes the flows, and compares the path with
// the explanation. Errors: ErrRequest and ErrResolve (the request cannot
// be traced), ErrBusy, and ctx's.
func (a *App) Trace(ctx context.Context, req Request) (*Result, error) {
	req, err := normalize(req)
	if err != nil {
		return nil, err
	}
	src, err := a.resolve("SRC", req.Src)
	if err != nil {
		return nil, err
	}
	dst, err := a.resolve("DST", req.Dst)
	if err != nil {
		return nil, err
	}
	if req.DstMAC != "" {
		mac, err := net.ParseMAC(req.DstMAC)
		if err != nil || len(mac) != 6 || mac[0]&1 == 1 {
			return nil, fmt.Errorf("%w: dst_mac %q: want a unicast MAC", ErrRequest, req.DstMAC)
		}
		dst.mac, dst.MAC = mac, mac.String()
	}
	a.mu.Lock()
	a.seq = (a.seq + 1) & 0xffffff
	seq := a.seq
	a.mu.Unlock()
	pr, err := newProbe(req, src, dst, uint16(seq))
	if err != nil {
		return nil, err
	}
	frame, err := pr.frame()
	if err != nil {
		return nil, fmt.Errorf("build the probe: %w", err)
	}
	start := a.opts.Clock.Now()
	expl := a.explain(src, frame)
	a.fill(expl, req, src, dst, frame, start)
	if req.Explain {
		a.m.traces.WithLabelValues("explain", "agree").Inc()
		expl.Agree = true
		return expl, nil
	}
	res, err := a.probe(ctx, seq, req.Proto == "arp", src, frame)
	if err != nil {
		a.m.traces.WithLabelValues("probe", "error").Inc()
		return nil, err
	}
	a.fill(res, req, src, dst, frame, start)
	res.Tag = tagString(req.Proto)
	res.summarize()
	a.compare(res, expl)
	res.Explanation = expl
	outcome := "agree"
	if !res.Agree {
		outcome = "disagree"
	}
	a.m.traces.WithLabelValues("probe", outcome).Inc()
	res.DurationMS = float64(a.opts.Clock.Now().Sub(start).Microseconds()) / 1000
	a.mu.Lock()
	a.last = res
	a.mu.Unlock()
	return res, nil
}

// fill sets the request's part of r.
func (a *App) fill(r *Result, req Request, src, dst end, frame []byte, start time.Time) {
	r.Src, r.Dst, r.Proto, r.Port = src.Endpoint, dst.Endpoint, req.Proto, req.Port
	f, _ := flows.ParsePacket(frame, nil)
	r.Packet, r.Flow = hex.EncodeToString(frame), fmt.Sprintf("in_port=%d,%s", src.port, f.FlowString())
	r.Started = start
	r.DurationMS = float64(a.opts.Clock.Now().Sub(start).Microseconds()) / 1000
}

// probe runs probe seq: one at a time, with its flows on every connected
// switch for at most the flow timeout, removed when it ends.
func (a *App) probe(ctx context.Context, seq uint32, arp bool, src end, frame []byte) (*Result, error) {
	select {
	case a.busy <- struct{}{}:
		defer func() { <-a.busy }()
	default:
		return nil, ErrBusy
	}
	timeout := a.opts.Config.FlowTimeout
	// Finish before the flows' hard timeout: leave a step's margin.
	ctx, cancel := context.WithTimeout(ctx, timeout-a.opts.Config.StepTimeout/2)
	defer cancel()
	deadline, _ := ctx.Deadline()
	res := &Result{Mode: "probe", Visits: []Visit{}, Tunnels: []Crossing{}, Verdicts: []Verdict{}}
	t := &tracer{a: a, ctx: ctx, seq: seq, id: uint16(seq), arp: arp, stops: make(chan stop, 256), res: res, hosts: map[flows.DPID]*hostView{}}
	sws := a.connected()
	a.mu.Lock()
	a.active = t
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		a.active = nil
		a.mu.Unlock()
	}()
	defer a.remove(seq, sws)
	installed, warnings := a.install(ctx, seq, arp, sws)
	res.Warnings = append(res.Warnings, warnings...)
	for _, sw := range installed {
		t.hosts[sw.DPID()] = a.newHostView(sw)
	}
	t.run(src, frame, deadline)
	for _, c := range t.crossings {
		res.Tunnels = append(res.Tunnels, c.Crossing)
	}
	if err := ctx.Err(); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return nil, err
	}
	return res, nil
}
