//go:build integration

package test

import (
	"context"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ovsmesh/ovsmesh/lab"
)

// pingRun is a ping at 100 pps between two guests, running in the
// background while a test breaks something.
type pingRun struct {
	src, dst lab.Guest
	count    int
	cmd      *exec.Cmd
	lines    <-chan string
	all      []string
}

// startPing starts count pings at 100 pps from src to dst and returns
// once after replies have come back, so the traffic is flowing when the
// test acts. It fails the test if they do not come within 15 s.
func startPing(ctx context.Context, t *testing.T, src, dst lab.Guest, count, after int) *pingRun {
	t.Helper()
	p := &pingRun{src: src, dst: dst, count: count}
	p.cmd = exec.CommandContext(ctx, "ip", "netns", "exec", src.NS,
		"ping", "-n", "-i", "0.01", "-c", strconv.Itoa(count), "-W", "2", dst.IP.String())
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.lines = lineReader(stdout)
	replies := 0
	timeout := time.After(15 * time.Second)
	for replies < after {
		select {
		case l, ok := <-p.lines:
			if !ok {
				t.Fatalf("ping %s -> %s ended before %d replies: %q", src.Name, dst.Name, after, p.all)
			}
			p.all = append(p.all, l)
			if strings.Contains(l, "bytes from") {
				replies++
			}
		case <-timeout:
			_ = p.cmd.Process.Kill()
			t.Fatalf("timed out waiting for %d replies of ping %s -> %s; got %d: %q", after, src.Name, dst.Name, replies, p.all)
		}
	}
	return p
}

// expectNoLoss waits for the ping to finish and fails the test unless
// every packet was answered; what says what happened meanwhile.
func (p *pingRun) expectNoLoss(t *testing.T, what string) {
	t.Helper()
	for l := range p.lines {
		p.all = append(p.all, l)
	}
	waitErr := p.cmd.Wait()
	out := strings.Join(p.all, "\n")
	m := regexp.MustCompile(`(\d+) packets transmitted, (\d+) received`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("ping %s -> %s: no statistics (%v): %s", p.src.Name, p.dst.Name, waitErr, tail(out, 10))
	}
	if m[1] != strconv.Itoa(p.count) || m[2] != m[1] {
		t.Errorf("ping %s -> %s at 100 pps across %s: %s sent, %s received; want %d and 0 lost",
			p.src.Name, p.dst.Name, what, m[1], m[2], p.count)
		return
	}
	t.Logf("ping %s -> %s across %s: %s/%s, 0 lost", p.src.Name, p.dst.Name, what, m[2], m[1])
}
