package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ovsmesh/ovsmesh/lab"
)

// config is what one run needs.
type config struct {
	bin     string // ovsmesh binary
	hosts   int
	tunnel  string
	prefix  string
	slot    int
	pprof   string // the controller's --pprof address, "" for none
	outDir  string // where logs and profiles go
	timeout time.Duration
	// staticARP gives h1g1 and every other guest permanent neighbour
	// entries for each other, so the pings time the data path alone,
	// without the guests' ARP retransmit schedule (1 s).
	staticARP bool
}

// result is one run's figures; times are from the controller's start.
type result struct {
	hosts, ports   int
	tunnels, pings time.Duration
	ctlCPU         time.Duration // once both tunnels and pings are complete
	ctlCPUTunnels  time.Duration // at tunnels complete
	ctlCPUAfter    time.Duration // in the afterQuiet that follows ctlCPU
	ovsCPU         time.Duration // every OVS daemon, controller start to ctlCPU
	ovsCPUTunnels  time.Duration // every OVS daemon, controller start to tunnels complete
	rss            uint64        // controller peak RSS, bytes
	labUp          time.Duration
	load           string // load average before the controller started
}

// runOnce brings up a lab of c.hosts hosts, runs the controller on it and
// measures; the lab is always torn down.
func runOnce(ctx context.Context, c config) (res result, err error) {
	res.hosts, res.ports = c.hosts, c.hosts*(c.hosts-1)
	start := time.Now()
	l, down, err := lab.UpTemp(ctx, "convbench", lab.Options{Prefix: c.prefix, Hosts: c.hosts, Guests: 1, Tunnel: c.tunnel, Slot: c.slot})
	if err != nil {
		return res, err
	}
	res.labUp = time.Since(start)
	defer func() { err = errors.Join(err, down()) }()
	rctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	hosts := l.Hosts()
	w, err := watchMesh(rctx, hosts)
	if err != nil {
		return res, err
	}
	defer w.close()
	src, err := l.Guest("h1g1")
	if err != nil {
		return res, err
	}
	if c.staticARP {
		if err := staticNeighbours(rctx, l, src); err != nil {
			return res, err
		}
	}
	var ovsPIDs []int
	for _, h := range hosts {
		ovsPIDs = append(ovsPIDs, h.PIDs[lab.Vswitchd], h.PIDs[lab.OVSDBServer])
	}

	res.load = loadAvg()
	ovs0 := cpuSum(ovsPIDs)
	args := []string{"controller", "--config", l.ConfigPath(), "--log-level", "info"}
	if c.pprof != "" {
		args = append(args, "--pprof", c.pprof)
	}
	ctl := exec.Command(c.bin, args...)
	logf, err := os.Create(filepath.Join(c.outDir, fmt.Sprintf("controller-%d.log", c.hosts)))
	if err != nil {
		return res, err
	}
	defer logf.Close()
	ctl.Stdout, ctl.Stderr = logf, logf
	ctl.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	t0 := time.Now()
	if err := ctl.Start(); err != nil {
		return res, fmt.Errorf("start controller: %w", err)
	}
	pid := ctl.Process.Pid
	exited := make(chan error, 1)
	go func() { exited <- ctl.Wait() }()
	defer stopController(ctl, exited)

	var bg sync.WaitGroup
	errs := make(chan error, 3)
	var profDone chan struct{}
	if c.pprof != "" {
		profDone = make(chan struct{})
		go func() {
			defer close(profDone)
			if err := fetchProfile(rctx, c.pprof, "profile?seconds="+strconv.Itoa(profileSeconds(c.hosts)),
				filepath.Join(c.outDir, fmt.Sprintf("cpu-%d.pprof", c.hosts))); err != nil {
				fmt.Fprintln(os.Stderr, "convbench:", err)
			}
		}()
	}
	bg.Go(func() {
		if err := l.AttachGuests(rctx); err != nil {
			errs <- fmt.Errorf("attach guests: %w", err)
			return
		}
		fmt.Fprintf(os.Stderr, "convbench: %d hosts: every guest attached at %v\n", c.hosts, time.Since(t0).Round(time.Millisecond))
	})
	pingsDone := make(chan time.Time, 1)
	bg.Go(func() {
		t, err := pingAll(rctx, l, src, t0)
		if err != nil {
			errs <- err
			return
		}
		pingsDone <- t
	})
	var tunnelsAt, pingsAt time.Time
	tunnelsDone := make(chan time.Time, 1)
	bg.Go(func() {
		t, err := w.wait(rctx)
		if err != nil {
			errs <- err
			return
		}
		tunnelsDone <- t
	})
	for tunnelsAt.IsZero() || pingsAt.IsZero() {
		select {
		case t := <-tunnelsDone:
			tunnelsAt = t
			res.ctlCPUTunnels, _ = cpuOf(pid)
			res.ovsCPUTunnels = cpuSum(ovsPIDs) - ovs0
		case t := <-pingsDone:
			pingsAt = t
		case err := <-errs:
			cancel()
			bg.Wait()
			return res, err
		case err := <-exited:
			exited <- err
			cancel()
			bg.Wait()
			return res, fmt.Errorf("controller exited early: %v (log %s)", err, logf.Name())
		}
	}
	res.ctlCPU, _ = cpuOf(pid)
	res.ovsCPU = cpuSum(ovsPIDs) - ovs0
	bg.Wait()
	res.tunnels, res.pings = tunnelsAt.Sub(t0), pingsAt.Sub(t0)
	// Work left after convergence (resyncs, late rewrites) shows here.
	select {
	case <-time.After(afterQuiet):
	case <-rctx.Done():
		return res, rctx.Err()
	}
	after, _ := cpuOf(pid)
	res.ctlCPUAfter = after - res.ctlCPU
	if res.rss, err = peakRSS(pid); err != nil {
		return res, err
	}
	if c.pprof != "" {
		<-profDone
		for _, p := range []string{"heap", "allocs"} {
			if err := fetchProfile(rctx, c.pprof, p, filepath.Join(c.outDir, fmt.Sprintf("%s-%d.pprof", p, c.hosts))); err != nil {
				fmt.Fprintln(os.Stderr, "convbench:", err)
			}
		}
	}
	return res, nil
}

// staticNeighbours makes src and every other guest know each other's MAC
// (permanent neighbour entries), so no ARP is needed between them.
func staticNeighbours(ctx context.Context, l *lab.Lab, src lab.Guest) error {
	var lines []string
	for _, g := range l.Guests() {
		if g.Name == src.Name {
			continue
		}
		lines = append(lines, fmt.Sprintf("neigh replace %s lladdr %s dev eth0 nud permanent", g.IP, g.MAC))
		if _, err := l.Exec(ctx, g.NS, "ip", "neigh", "replace", src.IP.String(), "lladdr", src.MAC.String(), "dev", "eth0", "nud", "permanent"); err != nil {
			return err
		}
	}
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", src.NS, "ip", "-batch", "-")
	cmd.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("static neighbours in %s: %w: %s", src.NS, err, out)
	}
	return nil
}

// afterQuiet is how long the controller is watched after convergence.
const afterQuiet = 5 * time.Second

// profileSeconds is how long the CPU profile runs: long enough to cover
// the slowest convergence measured so far at this size.
func profileSeconds(hosts int) int { return max(10, hosts) }

// stopController sends SIGTERM and waits up to 10 s, then SIGKILL.
func stopController(ctl *exec.Cmd, exited chan error) {
	_ = ctl.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		exited <- err
	case <-time.After(10 * time.Second):
		_ = ctl.Process.Kill()
		<-exited
	}
}

// pingAll pings every other guest from src, all at once, each at 10
// requests/s until its first reply, and returns when the last one
// answered.
func pingAll(ctx context.Context, l *lab.Lab, src lab.Guest, t0 time.Time) (time.Time, error) {
	var mu sync.Mutex
	var last time.Time
	var all []time.Duration
	var dsts []lab.Guest
	for _, g := range l.Guests() {
		if g.Name != src.Name {
			dsts = append(dsts, g)
		}
	}
	err := parallel(len(dsts), func(i int) error {
		t, err := pingUntilReply(ctx, src.NS, dsts[i].IP.String())
		if err != nil {
			return fmt.Errorf("ping %s -> %s (%s): %w", src.Name, dsts[i].Name, dsts[i].IP, err)
		}
		mu.Lock()
		if t.After(last) {
			last = t
		}
		all = append(all, t.Sub(t0))
		mu.Unlock()
		return nil
	})
	slices.Sort(all)
	if len(all) > 0 {
		fmt.Fprintf(os.Stderr, "convbench: %d hosts: first replies from h1g1 at %v (first), %v (median), %v (90th), %v (last)\n",
			len(all)+1, all[0].Round(time.Millisecond), all[len(all)/2].Round(time.Millisecond),
			all[len(all)*9/10].Round(time.Millisecond), all[len(all)-1].Round(time.Millisecond))
	}
	return last, err
}

// pingUntilReply runs ping in namespace ns every 100 ms, whatever errors
// come back (ARP failures end "ping -c 1"), and returns when the first
// reply arrived; ctx bounds it.
func pingUntilReply(ctx context.Context, ns, dst string) (time.Time, error) {
	pctx, cancel := context.WithCancel(ctx)
	cmd := exec.CommandContext(pctx, "ip", "netns", "exec", ns, "ping", "-n", "-i", "0.1", dst)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		return time.Time{}, err
	}
	if err := cmd.Start(); err != nil {
		cancel()
		return time.Time{}, err
	}
	defer func() {
		cancel()
		_ = cmd.Wait() // killed by cancel
	}()
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if strings.Contains(sc.Text(), "bytes from") {
			return time.Now(), nil
		}
	}
	if ctx.Err() != nil {
		return time.Time{}, fmt.Errorf("no reply: %w", ctx.Err())
	}
	return time.Time{}, fmt.Errorf("ping ended without a reply: %v", sc.Err())
}

// fetchProfile saves http://addr/debug/pprof/what to path.
func fetchProfile(ctx context.Context, addr, what, path string) error {
	var resp *http.Response
	// The controller may not listen yet; one that never does is an
	// ovsmesh without --pprof.
	listenBy := time.Now().Add(10 * time.Second)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/debug/pprof/"+what, nil)
		if err != nil {
			return err
		}
		resp, err = http.DefaultClient.Do(req)
		if err == nil {
			break
		}
		if time.Now().After(listenBy) {
			return fmt.Errorf("profile %s: nothing serves http://%s/debug/pprof/ (does this ovsmesh have --pprof?): %w", what, addr, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("profile %s: %w", what, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("profile %s: %s (does this ovsmesh have --pprof?)", what, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := io.Copy(f, resp.Body); err != nil {
		return fmt.Errorf("profile %s: %w", what, err)
	}
	return nil
}
