package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Daemon names one of a host's OVS daemons.
type Daemon string

const (
	// OVSDBServer is the host's ovsdb-server.
	OVSDBServer Daemon = "ovsdb-server"
	// Vswitchd is the host's ovs-vswitchd.
	Vswitchd Daemon = "ovs-vswitchd"
)

// pidFile returns the pid file path of daemon d of host h.
func (h Host) pidFile(d Daemon) string {
	if d == OVSDBServer {
		return filepath.Join(h.Dir, "ovsdb.pid")
	}
	return filepath.Join(h.Dir, "vswitchd.pid")
}

// CtlSocket returns the unixctl socket of daemon d of host h, the target
// of ovs-appctl -t.
func (h Host) CtlSocket(d Daemon) string {
	if d == OVSDBServer {
		return filepath.Join(h.Dir, "ovsdb.ctl")
	}
	return filepath.Join(h.Dir, "vswitchd.ctl")
}

// LogFile returns the log file of daemon d of host h.
func (h Host) LogFile(d Daemon) string {
	if d == OVSDBServer {
		return filepath.Join(h.Dir, "ovsdb.log")
	}
	return filepath.Join(h.Dir, "vswitchd.log")
}

// startDaemon starts d for host h inside its namespace, detached, and
// returns its pid. --detach returns once the daemon is ready: ovsdb-server
// has bound its remotes, ovs-vswitchd has initialised.
func startDaemon(ctx context.Context, h Host, d Daemon) (int, error) {
	env := "OVS_RUNDIR=" + h.Dir
	var argv []string
	switch d {
	case OVSDBServer:
		argv = append([]string{"ovsdb-server", filepath.Join(h.Dir, "conf.db"),
			"--remote=punix:" + h.DBSocket()}, h.ovsdbRemotes()...)
	case Vswitchd:
		argv = []string{"ovs-vswitchd", "unix:" + h.DBSocket()}
	default:
		return 0, fmt.Errorf("start %s on %s: unknown daemon", d, h.Name)
	}
	// A stale pid file would hide whether this start got that far.
	if err := os.Remove(h.pidFile(d)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return 0, fmt.Errorf("start %s on %s: %w", d, h.Name, err)
	}
	argv = append(argv, "--pidfile="+h.pidFile(d), "--log-file="+h.LogFile(d),
		"--unixctl="+h.CtlSocket(d), "--detach")
	full := append([]string{"ip", "netns", "exec", h.NS, "env", env}, argv...)
	closeInheritedOnExec()
	if _, err := run(ctx, nil, full...); err != nil {
		return 0, fmt.Errorf("start %s on %s: %w", d, h.Name, err)
	}
	pid, err := readPID(h.pidFile(d))
	if err != nil {
		return 0, fmt.Errorf("start %s on %s: %w", d, h.Name, err)
	}
	return pid, nil
}

// readPID reads a pid file.
func readPID(path string) (int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("read pid file: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 1 {
		return 0, fmt.Errorf("pid file %s: bad pid %q", path, strings.TrimSpace(string(data)))
	}
	return pid, nil
}

// ownedBy reports whether pid is alive (not a zombie) and its command line
// mentions dir, so a recycled pid is never killed.
func ownedBy(pid int, dir string) bool {
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !strings.Contains(string(cmdline), dir+"/") {
		return false
	}
	return alive(pid)
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name.
	s := string(stat)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z' && s[i+2] != 'X'
	}
	return true
}

// stopPID sends sig to pid and waits for it to exit; if it is still alive
// after grace, it is sent SIGKILL. A pid that is gone is not an error.
func stopPID(ctx context.Context, pid int, sig syscall.Signal, grace time.Duration) error {
	if err := syscall.Kill(pid, sig); err != nil {
		if errors.Is(err, syscall.ESRCH) {
			return nil
		}
		return fmt.Errorf("kill %d: %w", pid, err)
	}
	deadline := time.Now().Add(grace)
	killed := sig == syscall.SIGKILL
	for tick := time.Millisecond; alive(pid); tick = min(2*tick, 50*time.Millisecond) {
		if !killed && time.Now().After(deadline) {
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
				return fmt.Errorf("kill -9 %d: %w", pid, err)
			}
			killed = true
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for pid %d to exit: %w", pid, ctx.Err())
		case <-time.After(tick):
		}
	}
	return nil
}

// pidStarting in Host.PIDs marks a daemon start in flight.
const pidStarting = -1

// startGrace bounds how long stopDaemon waits for the pid file of a start
// that was in flight when its process died.
const startGrace = 3 * time.Second

// stopDaemon stops daemon d of host h: the recorded pid and the pid in the
// pid file, if they are alive and belong to this host's directory. For a
// start in flight (pidStarting) it first waits up to startGrace for the
// daemon to write its pid file.
func stopDaemon(ctx context.Context, h Host, d Daemon, sig syscall.Signal) error {
	pids := []int{}
	if p := h.PIDs[d]; p > 0 {
		pids = append(pids, p)
	}
	p, err := readPID(h.pidFile(d))
	if h.PIDs[d] == pidStarting {
		deadline := time.Now().Add(startGrace)
		for tick := time.Millisecond; err != nil && time.Now().Before(deadline); tick = min(2*tick, 50*time.Millisecond) {
			select {
			case <-ctx.Done():
				return fmt.Errorf("stop %s on %s: wait for pid file: %w", d, h.Name, ctx.Err())
			case <-time.After(tick):
			}
			p, err = readPID(h.pidFile(d))
		}
	}
	if err == nil && p != h.PIDs[d] {
		pids = append(pids, p)
	}
	var errs []error
	for _, p := range pids {
		if !ownedBy(p, h.Dir) {
			continue
		}
		if err := stopPID(ctx, p, sig, 3*time.Second); err != nil {
			errs = append(errs, fmt.Errorf("stop %s on %s: %w", d, h.Name, err))
		}
	}
	return errors.Join(errs...)
}
