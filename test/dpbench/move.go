//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/ovsmesh/ovsmesh/lab"
)

// moveTimeout bounds one move's convergence.
const moveTimeout = 5 * time.Second

// runMove measures host move convergence on 3 hosts x 2 guests: the mover
// h1g1 is moved round the hosts (h1 -> h2 -> h3 -> h1 ...) by deleting
// its veth and recreating it, same MAC and IP, on the next host. Its
// first packet there is a gratuitous ARP sent from dpbench itself and
// timestamped just before the send. Converged means: on every host,
// ofproto/trace of an ICMP packet from that host's probe guest (hIg2) to
// the mover's MAC and IP yields exactly one datapath output and no
// controller action, and that output is the mover's port on its new host
// and the tunnel to the new host elsewhere. Each host is polled in its
// own loop; the time is when the last host's first good trace returned.
func runMove(ctx context.Context, o options, slot int) ([]row, error) {
	lo := lab.Options{Prefix: "dpmv", Slot: slot, Hosts: 3, Guests: 2, Tunnel: o.tunnelOr("gre")}
	e, err := newEnv(ctx, o, lo, nil)
	if err != nil {
		return nil, err
	}
	defer e.close()
	if err := e.use(ctx, peerOvsmesh); err != nil {
		return nil, err
	}
	mover := mustGuest(e.l, "h1g1")
	hosts := e.l.Hosts()
	var (
		times    []float64
		polls    []float64
		failures int
		firstTry int
		lastMove time.Time
	)
	for t := range o.moves {
		cur, err := e.l.Guest(mover.Name)
		if err != nil {
			return nil, err
		}
		ci := slices.IndexFunc(hosts, func(h lab.Host) bool { return h.Name == cur.Host })
		next := hosts[(ci+1)%len(hosts)]
		// Precondition: every probe reaches the mover and every host
		// forwards to its current place.
		for _, h := range hosts {
			if err := e.waitPing(ctx, probeOf(h), mover.IP, 20*time.Second); err != nil {
				return nil, err
			}
		}
		checks, err := e.traceChecks(ctx, cur, hosts)
		if err != nil {
			return nil, err
		}
		_, err = e.converge(ctx, checks, 10*time.Second)
		closeChecks(checks)
		if err != nil {
			return nil, e.fail(fmt.Errorf("move %d: before the move, at %s: %w", t+1, cur.Host, err))
		}
		if wait := o.moveGap - time.Since(lastMove); wait > 0 {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(wait):
			}
		}
		moved, err := e.l.MoveGuest(ctx, mover.Name, next.Name)
		if err != nil {
			return nil, err
		}
		if err := e.waitPortMoved(ctx, moved, cur.Host); err != nil {
			return nil, e.fail(err)
		}
		checks, err = e.traceChecks(ctx, moved, hosts)
		if err != nil {
			return nil, err
		}
		pc, err := openPacket(moved.NS, "eth0")
		if err != nil {
			closeChecks(checks)
			return nil, err
		}
		garp := garpFrame(moved.MAC, moved.IP)
		lastMove = time.Now()
		if err := pc.send(garp); err != nil {
			pc.close()
			closeChecks(checks)
			return nil, fmt.Errorf("move %d: send gratuitous ARP: %w", t+1, err)
		}
		cv, err := e.converge(ctx, checks, moveTimeout)
		// Closed only now: closing a packet socket waits for an RCU grace
		// period (10-20ms here), which would delay the first trace.
		pc.close()
		closeChecks(checks)
		polls = append(polls, cv.Polls...)
		if err != nil {
			failures++
			o.progress("move %d %s -> %s: not converged: %v", t+1, cur.Host, next.Name, err)
			continue
		}
		ms := float64(cv.At.Sub(lastMove)) / float64(time.Millisecond)
		times = append(times, ms)
		if cv.FirstTry {
			firstTry++
		}
		o.progress("move %d %s -> %s: converged in %.1f ms", t+1, cur.Host, next.Name, ms)
	}
	fmt.Printf("host move convergence (%s, 3 hosts): first packet (gratuitous ARP) at the new host until every host's\n"+
		"ofproto/trace from its probe guest to the mover gives exactly one output, towards the new place (ms):\n", lo.Tunnel)
	series(os.Stdout, "ovsmesh", "ms", times)
	series(os.Stdout, "trace (unixctl)", "ms", polls)
	if firstTry > 0 {
		fmt.Printf("  %d of %d moves had converged on every host by its first trace: their figure is that trace's return, an upper bound\n", firstTry, o.moves)
	}
	if failures > 0 {
		fmt.Printf("  %d of %d moves did not converge within %v (counted as the slowest)\n", failures, o.moves, moveTimeout)
	}
	for range failures {
		times = append(times, float64(moveTimeout/time.Millisecond)*10)
	}
	return []row{{
		What: fmt.Sprintf("host move convergence (ms, median of %d)", len(times)), Ovsmesh: median(times),
		Target: target{Op: "<", Value: 100},
	}}, nil
}

// probeOf returns the name of host h's probe guest (hIg2).
func probeOf(h lab.Host) string { return fmt.Sprintf("h%dg2", h.Index) }

// waitPortMoved waits until the API shows g's port up on its new host's
// switch and gone from its old host's, so the first packet meets a
// controller that knows the port.
func (e *env) waitPortMoved(ctx context.Context, g lab.Guest, from string) error {
	return pollUntil(ctx, 10*time.Second, 5*time.Millisecond, func() (bool, error) {
		var sws []apiSwitch
		if err := e.getJSON("/api/v1/switches", &sws); err != nil {
			return false, nil
		}
		var onNew, onOld bool
		for _, s := range sws {
			onNew = onNew || s.Host == g.Host && s.hasPort(g.Port)
			onOld = onOld || s.Host == from && slices.ContainsFunc(s.Ports, func(p apiPort) bool { return p.Name == g.Port })
		}
		return onNew && !onOld, nil
	}, func() string {
		return fmt.Sprintf("port %s up on %s and gone from %s (/api/v1/switches)", g.Port, g.Host, from)
	})
}

// traceCheck is what converge asks of one host: ofproto/trace of flow
// must yield exactly want among the outputs to ports of br-int (ports).
type traceCheck struct {
	host  string
	flow  string
	want  dpOutput
	ports map[string]int
	ac    *appctl // to the host's ovs-vswitchd, dialled in advance
}

// closeChecks closes the checks' unixctl connections.
func closeChecks(checks []traceCheck) {
	for _, c := range checks {
		c.ac.close()
	}
}

// traceChecks returns, for every host, the check that it forwards to g
// at its current place: from the host's probe guest to g's MAC and IP,
// exactly one output, g's port on g's host and the tunnel to g's host
// elsewhere. Close them with closeChecks.
func (e *env) traceChecks(ctx context.Context, g lab.Guest, hosts []lab.Host) (checks []traceCheck, err error) {
	dstHost, err := e.l.Host(g.Host)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			closeChecks(checks)
		}
	}()
	for _, h := range hosts {
		dp, err := e.l.AppCtl(ctx, h.Name, "dpif/show")
		if err != nil {
			return nil, err
		}
		ports := dpifPorts(dp)[lab.MeshBridge]
		want := dpOutput{Port: -1, Remote: dstHost.UnderlayIP.String()}
		if h.Name == g.Host {
			port, ok := ports[g.Port]
			if !ok {
				return nil, fmt.Errorf("%s: no datapath port for %s in dpif/show:\n%s", g.Host, g.Port, dp)
			}
			want = dpOutput{Port: port}
		}
		probe := mustGuest(e.l, probeOf(h))
		ac, err := dialAppctl(h.CtlSocket(lab.Vswitchd))
		if err != nil {
			return checks, fmt.Errorf("%s: %w", h.Name, err)
		}
		checks = append(checks, traceCheck{host: h.Name, want: want, ports: ports, ac: ac,
			flow: fmt.Sprintf("icmp,in_port=%s,dl_src=%s,dl_dst=%s,nw_src=%s,nw_dst=%s,icmp_type=8",
				probe.Port, probe.MAC, g.MAC, probe.IP, g.IP)})
	}
	return checks, nil
}

// convergence is what converge observed.
type convergence struct {
	// At is when the last host's first good trace returned.
	At time.Time
	// Polls holds every trace's duration (ms).
	Polls []float64
	// FirstTry is set when every host passed its first trace: then the
	// convergence happened before or during that trace, and At is an
	// upper bound.
	FirstTry bool
}

// converge polls every check's host over its unixctl socket (one loop per
// host, 2ms between traces) until its trace passes.
func (e *env) converge(ctx context.Context, checks []traceCheck, timeout time.Duration) (convergence, error) {
	var (
		mu   sync.Mutex
		cv   = convergence{FirstTry: true}
		errs []error
		wg   sync.WaitGroup
	)
	for _, c := range checks {
		wg.Go(func() {
			var seen string
			tries := 0
			err := pollUntil(ctx, timeout, 2*time.Millisecond, func() (bool, error) {
				tries++
				t0 := time.Now()
				out, err := c.ac.call("ofproto/trace", lab.MeshBridge, c.flow)
				t1 := time.Now()
				mu.Lock()
				cv.Polls = append(cv.Polls, float64(t1.Sub(t0))/float64(time.Millisecond))
				mu.Unlock()
				if err != nil {
					return false, err
				}
				outs, toCtl, ok := traceOutputs(out)
				outs = onBridge(outs, c.ports)
				seen = fmt.Sprintf("outputs %+v, to controller %v", outs, toCtl)
				if !ok || toCtl || len(outs) != 1 || outs[0] != c.want {
					return false, nil
				}
				mu.Lock()
				if t1.After(cv.At) {
					cv.At = t1
				}
				cv.FirstTry = cv.FirstTry && tries == 1
				mu.Unlock()
				return true, nil
			}, func() string {
				return fmt.Sprintf("%s to forward %s (want %+v; last trace: %s)", c.host, c.flow, c.want, seen)
			})
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return cv, errs[0]
	}
	return cv, nil
}
