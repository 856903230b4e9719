//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/ovsmesh/ovsmesh/lab"
)

// iperfPort is the iperf3 server's TCP port in the guest.
const iperfPort = 5201

// runSteady measures, for the pair of firstping with flows in place, TCP
// throughput (iperf3, h1g1 -> h2g1, guest offloads off as the lab sets
// them) and RTT (ping -i 0.01), under NORMAL and ovsmesh in turns.
func runSteady(ctx context.Context, o options, slot int) ([]row, error) {
	e, err := newEnv(ctx, o, pairLab(o, "dpst", slot), nil)
	if err != nil {
		return nil, err
	}
	defer e.close()
	g1, g2 := mustGuest(e.l, "h1g1"), mustGuest(e.l, "h2g1")
	bps := map[peer][]float64{}
	retr := map[peer][]float64{}
	rtt := map[peer][]float64{}    // each round's median
	rttAll := map[peer][]float64{} // every ping
	peers := []peer{peerOvsmesh, peerNormal}
	for r := range o.rounds {
		for _, p := range order(r, peers...) {
			if err := e.use(ctx, p); err != nil {
				return nil, err
			}
			if err := e.waitPing(ctx, g1.Name, g2.IP, 30*time.Second); err != nil {
				return nil, fmt.Errorf("%s: %w", p, err)
			}
			out, err := e.l.Exec(ctx, g1.NS, "ping", "-n", "-c", strconv.Itoa(o.rttCount), "-i", "0.01", "-W", "1", g2.IP.String())
			ts := pingTimes(out)
			if len(ts) < o.rttCount*9/10 {
				return nil, e.fail(fmt.Errorf("%s: ping -i 0.01: %d of %d replies (%v)", p, len(ts), o.rttCount, err))
			}
			rtt[p] = append(rtt[p], median(ts))
			rttAll[p] = append(rttAll[p], ts...)
			o.progress("%s RTT median %.3f ms", p, median(ts))
			for range o.steadyRuns {
				res, err := e.iperf(ctx, g1, g2)
				if err != nil {
					return nil, e.fail(fmt.Errorf("%s: %w", p, err))
				}
				bps[p] = append(bps[p], res.ReceivedBps/1e6)
				retr[p] = append(retr[p], float64(res.Retransmits))
				o.progress("%s iperf3 %.0f Mb/s, %d retransmits", p, res.ReceivedBps/1e6, res.Retransmits)
			}
		}
	}
	fmt.Printf("steady state h1g1 -> h2g1 (%s, 2 hosts): iperf3 TCP %v runs, receiver Mb/s; RTT: %d pings per round, each round's median (ms)\n",
		pairLab(o, "", 0).Tunnel, o.steadyTime, o.rttCount)
	for _, p := range peers {
		series(os.Stdout, string(p)+" Mb/s", "Mb/s", bps[p])
		series(os.Stdout, string(p)+" retransmits", "", retr[p])
		series(os.Stdout, string(p)+" RTT/round", "ms", rtt[p])
	}
	return []row{
		{What: fmt.Sprintf("iperf3 TCP (Mb/s, median of %d)", len(bps[peerOvsmesh])), Ovsmesh: median(bps[peerOvsmesh]),
			Peer: string(peerNormal), PeerValue: median(bps[peerNormal]), Target: target{Ratio: true, Op: ">=", Value: 0.97}},
		{What: fmt.Sprintf("RTT ping -i 0.01 (ms, median of %d)", len(rttAll[peerOvsmesh])), Ovsmesh: median(rttAll[peerOvsmesh]),
			Peer: string(peerNormal), PeerValue: median(rttAll[peerNormal]), Target: target{Ratio: true, Op: "<=", Value: 1.05}},
	}, nil
}

// iperf runs one iperf3 TCP test from src to dst: a one-off server in
// dst's namespace, the client in src's.
func (e *env) iperf(ctx context.Context, src, dst lab.Guest) (iperfResult, error) {
	e.starts++
	srv, err := startProc("iperf3 server", filepath.Join(e.dir, fmt.Sprintf("iperf3-%d.log", e.starts)),
		"ip", "netns", "exec", dst.NS, "iperf3", "-s", "-1", "--forceflush", "-B", dst.IP.String(), "-p", strconv.Itoa(iperfPort))
	if err != nil {
		return iperfResult{}, err
	}
	e.procs.add(srv)
	defer srv.stop()
	if err := srv.waitLog(ctx, "Server listening", 10*time.Second); err != nil {
		return iperfResult{}, err
	}
	secs := strconv.Itoa(max(1, int(e.o.steadyTime/time.Second)))
	out, err := e.l.Exec(ctx, src.NS, "iperf3", "-c", dst.IP.String(), "-p", strconv.Itoa(iperfPort), "-t", secs, "-J")
	res, perr := parseIperf([]byte(out))
	if perr != nil {
		return iperfResult{}, fmt.Errorf("iperf3 client: %v: %w", err, perr)
	}
	select {
	case <-srv.done:
	case <-time.After(5 * time.Second):
	}
	return res, nil
}
