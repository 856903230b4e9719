//go:build linux

package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/ovsmesh/ovsmesh/apps/learning"
	"github.com/ovsmesh/ovsmesh/config"
	"github.com/ovsmesh/ovsmesh/lab"
)

// setupTimeout is how long a new source MAC may stay outstanding before
// the sender gives up on it (its packet-in was dropped) and frees its
// slot in the window.
const setupTimeout = time.Second

// setupsResult is one phase of the setups benchmark.
type setupsResult struct {
	// Rate is new source MACs set up per second over the measured
	// window (all but its first fifth).
	Rate float64
	// Sent counts the new source MACs sent, Delivered those whose frame
	// reached the destination, TimedOut those given up after
	// setupTimeout; SendErrors counts sends the sender's socket refused
	// (retried a millisecond later).
	Sent, Delivered, TimedOut, SendErrors int
	// LatencyMs is the median time from a frame's send to its delivery.
	LatencyMs float64
	// MACs counts the phase's source MACs with a flow at the end, and
	// FlowsPerMAC the flows naming one per MAC (from dump-flows).
	MACs        int
	FlowsPerMAC float64
	// SwitchCPU and CtlCPU are ovs-vswitchd's and the controller's CPU
	// time over the phase, in cores (seconds of CPU per second).
	SwitchCPU, CtlCPU float64
	// CPUPerSetup is their CPU time over the phase per delivered MAC, in
	// µs: what a setup costs, which other load on the machine changes
	// less than the rate.
	CPUPerSetup float64
}

// runSetups measures flow setups per second through one ovs-vswitchd.
// Guest h1g1 sends frames (EtherType 0x88b5), each from a new source MAC,
// to guest h1g2, whose MAC the controller already knows, keeping at most
// -setups-window of them outstanding (sent, not yet delivered) as cbench's
// throughput mode does: a MAC counts as set up when its frame reaches
// h1g2 (a packet-out after the flows, or the flows themselves). After
// each phase dump-flows checks that the delivered MACs have flows.
// ovsmesh and ovs-testcontroller take turns in the same lab.
func runSetups(ctx context.Context, o options, slot int) ([]row, error) {
	lo := lab.Options{Prefix: "dpsu", Slot: slot, Hosts: 1, Guests: 2, Tunnel: o.tunnelOr("gre")}
	e, err := newEnv(ctx, o, lo, func(c *config.Config) {
		c.OpenFlow.PacketInRate = o.packetInRate
		if o.packetInRate == 0 {
			c.OpenFlow.PacketInBurst = 0
		}
		// A raw-speed benchmark: one port sends tens of thousands of new
		// sources, which the protection limits exist to stop. They are
		// raised here only, and the output says so.
		c.OpenFlow.Meters = config.Meters{}
		lc := learning.DefaultConfig()
		lc.MaxMACsPerPort, lc.MaxMACs = 0, 0
		*c = c.WithSection("apps.learning", &lc)
	})
	if err != nil {
		return nil, err
	}
	defer e.close()
	src, dst := mustGuest(e.l, "h1g1"), mustGuest(e.l, "h1g2")
	snd, err := openPacket(src.NS, "eth0")
	if err != nil {
		return nil, err
	}
	defer snd.close()
	rcv, err := openPacketRecv(dst.NS, "eth0", etherTypeBench)
	if err != nil {
		return nil, err
	}
	defer rcv.close()
	peers := []peer{peerOvsmesh, peerTC}
	res := map[peer][]setupsResult{}
	phase := 0
	for r := range o.rounds {
		for _, p := range order(r, peers...) {
			phase++
			if err := e.use(ctx, p); err != nil {
				return nil, err
			}
			if err := e.waitPing(ctx, dst.Name, src.IP, 30*time.Second); err != nil {
				return nil, fmt.Errorf("%s: %w", p, err)
			}
			sr, err := e.setupsPhase(ctx, phase, snd, rcv, dst.MAC)
			if err != nil {
				return nil, e.fail(fmt.Errorf("%s: %w", p, err))
			}
			res[p] = append(res[p], sr)
			o.progress("%s: %.0f setups/s (%+v)", p, sr.Rate, sr)
		}
	}
	limit := "no limit (raised for this raw-speed benchmark; ovsmesh's default is 1000/s, burst 250)"
	if o.packetInRate != 0 {
		limit = fmt.Sprintf("%d/s", o.packetInRate)
	}
	fmt.Printf("flow setups through one ovs-vswitchd: new source MACs, at most %d outstanding, for %v per phase;\n"+
		"CPU: ovs-vswitchd's and the controller's CPU time per delivered MAC (µs)\n"+
		"ovsmesh openflow.packet_in_rate: %s; ovs-testcontroller's Controller row: no limit\n"+
		"ovsmesh's protection limits raised for this raw-speed benchmark: openflow.meters off, apps.learning.max_macs_per_port and max_macs 0 (defaults: meters 1000/s per switch and 200/s per port; 1024 MACs per port, 100000 in all)\n",
		o.setupsWindow, o.setupsDuration, limit)
	rates := map[peer][]float64{}
	cpu := map[peer][]float64{} // vswitchd + controller CPU per setup
	for _, p := range peers {
		for i, sr := range res[p] {
			if sr.SendErrors > 0 {
				fmt.Printf("  %-15s phase %d: the sender's socket refused %d sends (retried)\n", p, i+1, sr.SendErrors)
			}
			fmt.Printf("  %-15s phase %d: %7.0f setups/s  sent %d delivered %d timed out %d  latency %.2f ms  "+
				"MACs with flows %d (%.2f flows/MAC)  CPU vswitchd %.2f ctl %.2f cores, %.0f µs/setup\n",
				p, i+1, sr.Rate, sr.Sent, sr.Delivered, sr.TimedOut, sr.LatencyMs, sr.MACs, sr.FlowsPerMAC, sr.SwitchCPU, sr.CtlCPU, sr.CPUPerSetup)
			rates[p] = append(rates[p], sr.Rate)
			cpu[p] = append(cpu[p], sr.CPUPerSetup)
		}
		series(os.Stdout, string(p), "/s", rates[p])
		series(os.Stdout, string(p)+" CPU", "µs", cpu[p])
	}
	return []row{{
		What:    fmt.Sprintf("flow setups/s (median of %d)", len(rates[peerOvsmesh])),
		Ovsmesh: median(rates[peerOvsmesh]), Peer: string(peerTC), PeerValue: median(rates[peerTC]),
		Target: target{Ratio: true, Op: ">=", Value: 2},
	}}, nil
}

// setupsPhase runs the sender once for the current peer and measures. A
// broadcast from the destination every 10ms keeps ovs-testcontroller
// (whose MAC table holds 2048 entries, least recently used evicted) from
// forgetting the destination; ovsmesh forwards those in its datapath.
func (e *env) setupsPhase(ctx context.Context, phase int, snd *packetConn, rcv *packetConn, dstMAC net.HardwareAddr) (setupsResult, error) {
	h, err := e.l.Host("h1")
	if err != nil {
		return setupsResult{}, err
	}
	stop := make(chan struct{})
	refreshed := make(chan struct{})
	go func() {
		defer close(refreshed)
		frame := etherFrame(broadcast, dstMAC, etherTypeBench, nil)
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				_ = rcv.send(frame)
			}
		}
	}()
	defer func() { close(stop); <-refreshed }()

	cpu0 := [2]float64{procCPU(h.PIDs[lab.Vswitchd]), procCPU(e.ctl.cmd.Process.Pid)}
	t0 := time.Now()
	st := runWindow(ctx, snd, rcv, phase, dstMAC, e.o.setupsWindow, e.o.setupsDuration)
	el := time.Since(t0).Seconds()
	cpu1 := [2]float64{procCPU(h.PIDs[lab.Vswitchd]), procCPU(e.ctl.cmd.Process.Pid)}

	filter := fmt.Sprintf("dl_src=02:dd:%02x:00:00:00/ff:ff:ff:00:00:00", phase)
	out, err := e.l.OFCtl(ctx, "h1", "dump-flows", lab.MeshBridge, filter)
	if err != nil {
		return setupsResult{}, err
	}
	macs, withSrc := distinctSources(out)
	if macs == 0 || st.delivered == 0 {
		return setupsResult{}, fmt.Errorf("%d source MACs sent, %d delivered, %d with flows", st.sent, st.delivered, macs)
	}
	d := st.end.Sub(st.start)
	return setupsResult{
		Rate: st.rateBetween(st.start.Add(d/5), st.end),
		Sent: st.sent, Delivered: st.delivered, TimedOut: st.timedOut, SendErrors: st.sendErrors, LatencyMs: median(st.latencies),
		MACs: macs, FlowsPerMAC: float64(withSrc) / float64(macs),
		SwitchCPU: (cpu1[0] - cpu0[0]) / el, CtlCPU: (cpu1[1] - cpu0[1]) / el,
		CPUPerSetup: (cpu1[0] - cpu0[0] + cpu1[1] - cpu0[1]) / float64(st.delivered) * 1e6,
	}, nil
}
