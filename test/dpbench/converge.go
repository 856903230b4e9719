//go:build linux

package main

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/ovsmesh/ovsmesh/lab"
)

// convergeTimeout bounds one cold start.
const convergeTimeout = 90 * time.Second

// convergeRun is one cold start, each time from the controller's start.
type convergeRun struct {
	// OVSDB: every host's OVSDB session up and all its tunnel ports
	// with an OpenFlow port number (GET /api/v1/hosts).
	OVSDB time.Duration
	// OpenFlow: every host's switch connected (same API rows).
	OpenFlow time.Duration
	// Attached: the lab has plugged every guest into br-int (it waits
	// for ovsmesh to create the bridge).
	Attached time.Duration
	// Ready is the latest of the three; Pinged is when the last ordered
	// guest pair answered its first ping, pings starting at Ready.
	Ready, Pinged time.Duration
}

// runConverge measures cold convergence of a -hosts lab with one guest
// per host: from the start of `ovsmesh controller` (br-int absent on
// every host, empty state file) until the API shows every OVSDB session
// and tunnel and every OpenFlow connection up, the guests are attached,
// and every ordered pair of guests has answered an ICMP echo (sent from
// dpbench over raw sockets in the guests' namespaces, every 100ms to
// each peer that has not answered yet). Between runs br-int is deleted
// on every host and the guests' neighbour caches are flushed.
func runConverge(ctx context.Context, o options, slot int) ([]row, error) {
	lo := lab.Options{Prefix: "dpcv", Slot: slot, Hosts: o.hosts, Guests: 1, Tunnel: o.tunnelOr("vxlan")}
	e, err := newEnv(ctx, o, lo, nil)
	if err != nil {
		return nil, err
	}
	defer e.close()
	guests := e.l.Guests()
	pingers := make([]*pinger, len(guests))
	for i, g := range guests {
		p, err := openPinger(g.NS, uint16(0x4400+i))
		if err != nil {
			return nil, err
		}
		defer p.close()
		pingers[i] = p
	}
	var runs []convergeRun
	for r := range o.convergeRuns {
		if r > 0 {
			if err := e.coldReset(ctx); err != nil {
				return nil, err
			}
		}
		cr, err := e.coldStart(ctx, pingers)
		if err != nil {
			return nil, e.fail(fmt.Errorf("run %d: %w", r+1, err))
		}
		o.progress("converge run %d: OVSDB %v, OpenFlow %v, attached %v, all pairs %v", r+1, cr.OVSDB, cr.OpenFlow, cr.Attached, cr.Pinged)
		runs = append(runs, cr)
	}
	col := func(f func(convergeRun) time.Duration) []float64 {
		var xs []float64
		for _, cr := range runs {
			xs = append(xs, f(cr).Seconds())
		}
		return xs
	}
	n := len(guests)
	fmt.Printf("cold convergence, %d hosts x 1 guest (%s), seconds from the controller's start, %d runs:\n", o.hosts, lo.Tunnel, len(runs))
	series(os.Stdout, "OVSDB+tunnels", "s", col(func(c convergeRun) time.Duration { return c.OVSDB }))
	series(os.Stdout, "OpenFlow", "s", col(func(c convergeRun) time.Duration { return c.OpenFlow }))
	series(os.Stdout, "guests attached", "s", col(func(c convergeRun) time.Duration { return c.Attached }))
	series(os.Stdout, "first pings", "s", col(func(c convergeRun) time.Duration { return c.Pinged - c.Ready }))
	series(os.Stdout, "total", "s", col(func(c convergeRun) time.Duration { return c.Pinged }))
	return []row{{
		What:    fmt.Sprintf("cold convergence, %d hosts, %d pairs (s)", o.hosts, n*(n-1)),
		Ovsmesh: median(col(func(c convergeRun) time.Duration { return c.Pinged })),
		Target:  target{Op: "<", Value: 10},
	}}, nil
}

// coldReset stops the controller, deletes br-int on every host (its
// flows, ports and tunnels with it) and flushes the guests' neighbour
// caches, so the next start is cold again.
func (e *env) coldReset(ctx context.Context) error {
	e.stopController()
	if err := e.eachHost(func(h lab.Host) error {
		_, err := e.l.VSCtl(ctx, h.Name, "--if-exists", "del-br", lab.MeshBridge)
		return err
	}); err != nil {
		return err
	}
	for _, g := range e.l.Guests() {
		if err := ipBatch(ctx, g.NS, "neigh flush all"); err != nil {
			return err
		}
	}
	e.attached = false
	return nil
}

// coldStart starts the controller and times the phases of one run.
func (e *env) coldStart(ctx context.Context, pingers []*pinger) (convergeRun, error) {
	ctx, cancel := context.WithTimeout(ctx, convergeTimeout)
	defer cancel()
	n := len(e.l.Hosts())
	var cr convergeRun
	t0 := time.Now()
	if err := e.startOvsmeshProc(); err != nil {
		return cr, err
	}
	attached := make(chan error, 1)
	go func() {
		err := e.l.AttachGuests(ctx)
		cr.Attached = time.Since(t0)
		attached <- err
	}()
	err := pollUntil(ctx, convergeTimeout, 20*time.Millisecond, func() (bool, error) {
		if e.ctl.exited() {
			return false, fmt.Errorf("ovsmesh exited: %v", e.ctl.err)
		}
		var rows []apiHost
		if err := e.getJSON("/api/v1/hosts", &rows); err != nil {
			return false, nil
		}
		now := time.Since(t0)
		ovsdb, of := hostProblems(rows, n)
		if cr.OVSDB == 0 && len(ovsdb) == 0 {
			cr.OVSDB = now
		}
		if cr.OpenFlow == 0 && len(of) == 0 {
			cr.OpenFlow = now
		}
		return cr.OVSDB > 0 && cr.OpenFlow > 0, nil
	}, func() string { return "every OVSDB session, tunnel and OpenFlow connection up (/api/v1/hosts)" })
	if aerr := <-attached; aerr != nil {
		return cr, aerr
	}
	if err != nil {
		return cr, err
	}
	e.attached = true
	cr.Ready = max(cr.OVSDB, cr.OpenFlow, cr.Attached)
	guests := e.l.Guests()
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		last    time.Time
		missing int
	)
	for i, g := range guests {
		var dsts []netip.Addr
		for _, d := range guests {
			if d.Name != g.Name {
				dsts = append(dsts, d.IP)
			}
		}
		wg.Go(func() {
			got := pingers[i].pingUntilAnswered(ctx, dsts, 100*time.Millisecond)
			mu.Lock()
			defer mu.Unlock()
			missing += len(dsts) - len(got)
			for _, t := range got {
				if t.After(last) {
					last = t
				}
			}
		})
	}
	wg.Wait()
	if missing > 0 {
		return cr, fmt.Errorf("%d of %d guest pairs never answered within %v", missing, len(guests)*(len(guests)-1), convergeTimeout)
	}
	cr.Pinged = last.Sub(t0)
	return cr, nil
}
