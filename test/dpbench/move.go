//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"slices"
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
