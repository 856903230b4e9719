//go:build linux

package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is a process dpbench started; it is stopped only by its pid.
type proc struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	err     error // valid once done is closed
}

// startProc starts argv in its own process group with stdout and stderr
// in logPath.
func startProc(name, logPath string, argv ...string) (*proc, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = f, f
	// Its own process group: a ^C to dpbench does not reach it first; it
	// is signalled by pid when dpbench cleans up.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	return p, nil
}

// exited reports whether the process has exited.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM and waits up to 10s, then SIGKILL. It returns at
// once for a process that has exited.
func (p *proc) stop() {
	if p == nil || p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return
	case <-time.After(10 * time.Second):
		fmt.Fprintf(os.Stderr, "dpbench: %s (pid %d) ignored SIGTERM for 10s; killing it\n", p.name, p.cmd.Process.Pid)
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// logTail returns the last n lines of the process's log.
func (p *proc) logTail(n int) string {
	data, _ := os.ReadFile(p.logPath)
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// waitLog waits until the process's log has a line containing s.
func (p *proc) waitLog(ctx context.Context, s string, timeout time.Duration) error {
	return pollUntil(ctx, timeout, 10*time.Millisecond, func() (bool, error) {
		if p.exited() {
			return false, fmt.Errorf("%s exited (%v):\n%s", p.name, p.err, p.logTail(20))
		}
		f, err := os.Open(p.logPath)
		if err != nil {
			return false, nil
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if strings.Contains(sc.Text(), s) {
				return true, nil
			}
		}
		return false, nil
	}, func() string { return fmt.Sprintf("%q in %s", s, p.logPath) })
}

// procs tracks every process dpbench started, so a failing run still
// stops them all.
type procs struct {
	mu   sync.Mutex
	list []*proc
}

func (ps *procs) add(p *proc) *proc {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.list = append(ps.list, p)
	return p
}

// stopAll stops every tracked process that still runs.
func (ps *procs) stopAll() {
	ps.mu.Lock()
	list := ps.list
	ps.list = nil
	ps.mu.Unlock()
	for _, p := range list {
		p.stop()
	}
}

// errPollTimeout marks a pollUntil deadline.
var errPollTimeout = fmt.Errorf("timed out")

// pollUntil calls f every tick until it reports done, returns an error, or
// timeout passes (an error naming what it waited for) or ctx ends.
func pollUntil(ctx context.Context, timeout, tick time.Duration, f func() (bool, error), what func() string) error {
	deadline := time.Now().Add(timeout)
	for {
		done, err := f()
		if err != nil {
			return err
		}
		if done {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w after %v waiting for %s", errPollTimeout, timeout, what())
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what(), ctx.Err())
		case <-time.After(tick):
		}
	}
}
