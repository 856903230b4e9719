//go:build linux

package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/ovsmesh/ovsmesh/lab"
)

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
