package lab

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"time"
)

// Down tears down the lab recorded in dir: it stops every recorded daemon
// by pid (SIGTERM, then SIGKILL after 3s), deletes the root-namespace
// links and the namespaces, and removes the state file. The host
// directories with their logs are kept. A dir without a lab is not an
// error, so Down is idempotent and works after a crashed Up.
func Down(ctx context.Context, dir string, log *slog.Logger) error {
	l, err := Open(dir, log)
	if errors.Is(err, errNoState) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("lab down: %w", err)
	}
	return l.Down(ctx)
}

// Down tears down l; see the package-level Down.
func (l *Lab) Down(ctx context.Context) error {
	start := time.Now()
	l.mu.Lock()
	st := *l.st
	hosts := make([]Host, len(st.Hosts))
	for i, h := range st.Hosts {
		hosts[i] = h.clone()
	}
	l.mu.Unlock()

	var errs []error
	// Daemons first: they hold ports on the links about to go.
	if err := parallel(len(hosts), func(i int) error {
		return errors.Join(
			stopDaemon(ctx, hosts[i], Vswitchd, syscall.SIGTERM),
			stopDaemon(ctx, hosts[i], OVSDBServer, syscall.SIGTERM))
	}); err != nil {
		errs = append(errs, err)
	}
	if err := stopStrays(ctx, l.dir); err != nil {
		errs = append(errs, err)
	}
	// Root links are deleted explicitly (namespace teardown is
	// asynchronous), the mgmt veths before the bridge.
	links := slices.Clone(st.RootLinks)
	slices.Reverse(links)
	for _, link := range links {
		if err := ipCmd(ctx, "", "link", "del", link); err != nil && !isMissing(err) {
			errs = append(errs, fmt.Errorf("lab down: %w", err))
		}
	}
	nss := slices.Clone(st.Namespaces)
	slices.Reverse(nss) // guests, then hosts, then the underlay
	for _, ns := range nss {
		if err := ipCmd(ctx, "", "netns", "del", ns); err != nil && !isMissing(err) {
			errs = append(errs, fmt.Errorf("lab down: %w", err))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if err := os.Remove(filepath.Join(l.dir, StateFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("lab down: remove state file: %w", err)
	}
	l.log.Debug("lab down", "dir", l.dir, "took", time.Since(start))
	return nil
}

// stopStrays stops every process whose command line names a path under
// dir: daemons that a crashed Up started but never recorded (a --detach
// launcher still forking, a pid file not yet written). The lab directory
// is unique to this lab, so nothing else matches. It sweeps until two
// scans in a row find nothing, or ctx ends.
func stopStrays(ctx context.Context, dir string) error {
	clean := 0
	for clean < 2 {
		pids := strays(dir)
		if len(pids) == 0 {
			clean++
		} else {
			clean = 0
		}
		for _, pid := range pids {
			if err := stopPID(ctx, pid, syscall.SIGKILL, 0); err != nil {
				return fmt.Errorf("lab down: stray daemon: %w", err)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("lab down: sweeping stray daemons: %w", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

// strays lists live processes (other than this one) whose command line
// mentions dir.
func strays(dir string) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		if ownedBy(pid, dir) {
			out = append(out, pid)
		}
	}
	return out
}
