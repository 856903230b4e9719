//go:build linux

package main

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/ovsmesh/ovsmesh/config"
	"github.com/ovsmesh/ovsmesh/lab"
)

// env is one benchmark's lab with whichever peer currently switches it.
type env struct {
	o       options
	l       *lab.Lab
	dir     string
	cfg     config.Config // ovsmesh's configuration, as last written
	cfgPath string
	api     string // http://IP:PORT
	procs   procs
	ctl     *proc // the running controller, nil under NORMAL
	starts  int   // controllers started, for log and state file names
	// attached is set once ovsmesh has made br-int and the guests are
	// plugged in; NORMAL and ovs-testcontroller need the bridge.
	attached bool
}

// newEnv brings up a lab with lo (Dir is made here) and returns it with
// ovsmesh's configuration, changed by tweak when not nil. Call close.
func newEnv(ctx context.Context, o options, lo lab.Options, tweak func(*config.Config)) (*env, error) {
	dir, err := os.MkdirTemp("", "dpbench.")
	if err != nil {
		return nil, err
	}
	lo.Dir = dir
	start := time.Now()
	l, err := lab.Up(ctx, lo)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	o.progress("lab %s up: %d hosts x %d guests, %s, slot %d (%v)", lo.Prefix, lo.Hosts, lo.Guests, lo.Tunnel, lo.Slot, time.Since(start).Round(time.Millisecond))
	e := &env{o: o, l: l, dir: dir, cfg: l.Config(), cfgPath: filepath.Join(dir, "ctl.yaml")}
	if tweak != nil {
		tweak(&e.cfg)
	}
	e.api = "http://" + e.cfg.API.Listen
	return e, nil
}

// close stops every process the benchmark started, tears the lab down and
// removes its directory (kept with -keep).
func (e *env) close() {
	e.procs.stopAll()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := e.l.Down(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "dpbench: lab down:", err)
		return
	}
	if e.o.keep {
		fmt.Fprintln(os.Stderr, "dpbench: logs kept in", e.dir)
		return
	}
	os.RemoveAll(e.dir)
}

// fail wraps err with the current controller's log tail.
func (e *env) fail(err error) error {
	if err == nil || e.ctl == nil {
		return err
	}
	return fmt.Errorf("%w\n--- %s log tail (%s):\n%s", err, e.ctl.name, e.ctl.logPath, e.ctl.logTail(15))
}

// stopController stops the running controller, if any.
func (e *env) stopController() {
	e.ctl.stop()
	e.ctl = nil
}

// eachHost runs f for every lab host, in order, and stops at the first
// error.
func (e *env) eachHost(f func(h lab.Host) error) error {
	for _, h := range e.l.Hosts() {
		if err := f(h); err != nil {
			return fmt.Errorf("%s: %w", h.Name, err)
		}
	}
	return nil
}

// clearFlows deletes every flow and group of br-int on every host.
func (e *env) clearFlows(ctx context.Context) error {
	return e.eachHost(func(h lab.Host) error {
		if _, err := e.l.OFCtl(ctx, h.Name, "del-flows", lab.MeshBridge); err != nil {
			return err
		}
		_, err := e.l.OFCtl(ctx, h.Name, "del-groups", lab.MeshBridge)
		return err
	})
}

// waitPing pings dst from guest src (one echo, 1s wait) until it answers,
// for up to timeout.
func (e *env) waitPing(ctx context.Context, src string, dst netip.Addr, timeout time.Duration) error {
	g, err := e.l.Guest(src)
	if err != nil {
		return err
	}
	var last string
	err = pollUntil(ctx, timeout, 100*time.Millisecond, func() (bool, error) {
		out, err := e.l.Exec(ctx, g.NS, "ping", "-n", "-c", "1", "-W", "1", dst.String())
		last = strings.TrimSpace(out)
		return err == nil, nil
	}, func() string { return fmt.Sprintf("%s to ping %s (%s)", src, dst, last) })
	return e.fail(err)
}

// ipBatch runs `ip -n ns -batch -` with lines on stdin.
func ipBatch(ctx context.Context, ns string, lines ...string) error {
	cmd := exec.CommandContext(ctx, "ip", "-n", ns, "-batch", "-")
	cmd.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("ip -n %s -batch (%s): %w: %s", ns, strings.Join(lines, "; "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
