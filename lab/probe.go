package lab

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// PingResult is the outcome of Ping.
type PingResult struct {
	// Sent and Received count echo requests and replies.
	Sent, Received int
}

// OK reports whether at least one reply came back.
func (r PingResult) OK() bool { return r.Received > 0 }

// Loss returns the fraction of requests without a reply, 0 to 1.
func (r PingResult) Loss() float64 {
	if r.Sent == 0 {
		return 1
	}
	return float64(r.Sent-r.Received) / float64(r.Sent)
}

var pingStats = regexp.MustCompile(`(\d+) packets transmitted, (\d+) (?:packets )?received`)

// Ping sends count echo requests 100ms apart from guest's namespace to
// dst, waiting up to 1s for the last reply. Lost replies are not an error
// (see PingResult); failing to run ping is.
func (l *Lab) Ping(ctx context.Context, guest string, dst netip.Addr, count int) (PingResult, error) {
	g, err := l.Guest(guest)
	if err != nil {
		return PingResult{}, err
	}
	return PingNS(ctx, g.NS, dst, count)
}

// PingNS is Ping from any namespace: a host's NS pings over the underlay
// or management network, "" is the root namespace.
func PingNS(ctx context.Context, ns string, dst netip.Addr, count int) (PingResult, error) {
	if count < 1 {
		count = 1
	}
	out, err := inNS(ctx, ns, "ping", "-n", "-q", "-c", strconv.Itoa(count), "-i", "0.1", "-W", "1", dst.String())
	m := pingStats.FindStringSubmatch(out)
	if m == nil {
		if err == nil {
			err = fmt.Errorf("no statistics in output %q", out)
		}
		return PingResult{}, fmt.Errorf("ping %s from %s: %w", dst, ns, err)
	}
	sent, _ := strconv.Atoi(m[1])
	recv, _ := strconv.Atoi(m[2])
	return PingResult{Sent: sent, Received: recv}, nil
}

// Capture is a running tcpdump started by StartCapture.
type Capture struct {
	cmd    *exec.Cmd
	stderr *lockedBuffer
	stdout *lockedBuffer
	done   chan error
}

var capturedRE = regexp.MustCompile(`(\d+) packets? captured`)

// StartCapture starts tcpdump on interface iface in namespace ns ("" for
// the root namespace, for example on the management bridge) with a
// pcap filter (may be ""), and returns once tcpdump is listening. ctx
// bounds the start and the capture's lifetime; call Stop for the count.
func (l *Lab) StartCapture(ctx context.Context, ns, iface, filter string) (*Capture, error) {
	argv := nsArgv(ns, []string{"tcpdump", "--immediate-mode", "-i", iface, "-n", "-e", "-l"})
	if filter != "" {
		argv = append(argv, filter)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGINT) }
	cmd.WaitDelay = 2 * time.Second
	c := &Capture{cmd: cmd, stderr: &lockedBuffer{}, stdout: &lockedBuffer{}, done: make(chan error, 1)}
	cmd.Stdout = c.stdout
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("start capture on %s/%s: %w", ns, iface, err)
	}
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		return nil, fmt.Errorf("start capture on %s/%s: %w", ns, iface, err)
	}
	pw.Close()
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pr)
		signalled := false
		for sc.Scan() {
			c.stderr.Write(append(sc.Bytes(), '\n'))
			if !signalled && strings.Contains(sc.Text(), "listening on") {
				close(ready)
				signalled = true
			}
		}
		pr.Close()
		if !signalled {
			close(ready)
		}
		c.done <- cmd.Wait()
	}()
	timer := time.NewTimer(10 * time.Second)
	defer timer.Stop()
	select {
	case <-ready:
	case <-timer.C:
	case <-ctx.Done():
	}
	if !strings.Contains(c.stderr.String(), "listening on") {
		_ = cmd.Process.Kill()
		<-c.done
		return nil, fmt.Errorf("start capture on %s/%s: tcpdump did not start listening: %s", ns, iface, strings.TrimSpace(c.stderr.String()))
	}
	return c, nil
}

// Stop waits until tcpdump has printed nothing new for 100ms (at most
// 2s, so packets still in flight are counted), stops it (SIGINT) and
// returns how many packets it captured (matching the filter). Lines
// returns what it printed.
func (c *Capture) Stop() (int, error) {
	c.settle(100*time.Millisecond, 2*time.Second)
	if err := c.cmd.Process.Signal(syscall.SIGINT); err != nil && !errors.Is(err, syscall.ESRCH) && !errors.Is(err, os.ErrProcessDone) {
		return 0, fmt.Errorf("stop capture: %w", err)
	}
	err := <-c.done
	c.done <- err // Stop may be called again
	m := capturedRE.FindStringSubmatch(c.stderr.String())
	if m == nil {
		return 0, fmt.Errorf("stop capture: no packet count from tcpdump (%v): %s", err, strings.TrimSpace(c.stderr.String()))
	}
	n, _ := strconv.Atoi(m[1])
	return n, nil
}

// settle waits until the output has not grown for quiet, or for at most
// limit.
func (c *Capture) settle(quiet, limit time.Duration) {
	deadline := time.Now().Add(limit)
	last, since := -1, time.Now()
	for time.Now().Before(deadline) {
		if n := len(c.stdout.String()); n != last {
			last, since = n, time.Now()
		} else if time.Since(since) >= quiet {
			return
		}
		select {
		case err := <-c.done:
			c.done <- err
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Lines returns the packets tcpdump printed so far, one per line
// (tcpdump -n -e format).
func (c *Capture) Lines() []string {
	s := strings.TrimSpace(c.stdout.String())
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// lockedBuffer is a bytes.Buffer safe for one writer and many readers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p under the lock; it never fails.
func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns a copy of what was written so far.
func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
