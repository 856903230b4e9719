//go:build integration

package test

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The helper runs inside a network namespace the test made (the test
// binary re-executed under `ip netns exec`), so its connections to the
// controller come from that namespace's address. OVSMESH_NETNS_HELPER
// selects what it does:
//
//	flood: keep OVSMESH_HELPER_N idle TCP connections open to
//	       OVSMESH_HELPER_ADDR for OVSMESH_HELPER_SECS seconds, dialling
//	       again 200 ms after the controller closes one (at most 50 x N
//	       dials);
//	       prints "ready" once N dials were made, then "held=H dials=D".
//	spoof: connect as an OpenFlow 1.3 switch claiming datapath ID
//	       OVSMESH_HELPER_DPID (hex) and print "admitted" if the controller
//	       goes on past FEATURES_REPLY, "refused" if it closes the
//	       connection, "timeout" if neither happens within 10 s.
const helperEnv = "OVSMESH_NETNS_HELPER"

// TestNetnsHelper is the helper's entry point; it is skipped in normal
// runs.
func TestNetnsHelper(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		t.Skip("helper for the hardening tests, run inside a namespace")
	}
	addr := os.Getenv("OVSMESH_HELPER_ADDR")
	var err error
	switch mode {
	case "flood":
		n, _ := strconv.Atoi(os.Getenv("OVSMESH_HELPER_N"))
		secs, _ := strconv.Atoi(os.Getenv("OVSMESH_HELPER_SECS"))
		err = flood(addr, n, time.Duration(secs)*time.Second)
	case "spoof":
		var dpid uint64
		dpid, err = strconv.ParseUint(os.Getenv("OVSMESH_HELPER_DPID"), 16, 64)
		if err == nil {
			err = spoof(addr, dpid)
		}
	default:
		err = fmt.Errorf("unknown helper mode %q", mode)
	}
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
}

func flood(addr string, n int, d time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var held, dials atomic.Int64
	maxDials := int64(50 * n)
	var wg sync.WaitGroup
	var ready sync.WaitGroup
	ready.Add(n)
	for range n {
		wg.Go(func() {
			first := true
			for ctx.Err() == nil && dials.Add(1) <= maxDials {
				dl := net.Dialer{Timeout: 2 * time.Second}
				c, err := dl.DialContext(ctx, "tcp", addr)
				if first {
					ready.Done()
					first = false
				}
				if err != nil {
					select {
					case <-ctx.Done():
					case <-time.After(100 * time.Millisecond):
					}
					continue
				}
				held.Add(1)
				go func() { <-ctx.Done(); c.Close() }()
				io.Copy(io.Discard, c) // until the controller closes it (or ctx ends)
				held.Add(-1)
				c.Close()
				select { // a steady flood, not a busy loop
				case <-ctx.Done():
				case <-time.After(200 * time.Millisecond):
				}
			}
			if first {
				ready.Done()
			}
		})
	}
	ready.Wait()
	fmt.Println("ready")
	<-ctx.Done()
	wg.Wait()
	fmt.Printf("held=%d dials=%d\n", held.Load(), min(dials.Load(), maxDials))
	return nil
}

// ofMsg13 frames an OpenFlow 1.3 message.
func ofMsg13(typ uint8, xid uint32, body []byte) []byte {
	b := []byte{4, typ, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint16(b[2:], uint16(8+len(body)))
	binary.BigEndian.PutUint32(b[4:], xid)
	return append(b, body...)
}

func spoof(addr string, dpid uint64) error {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	// HELLO with a version bitmap holding 1.3 (OpenFlow 1.3.5 §7.5.1).
	if _, err := c.Write(ofMsg13(0, 1, []byte{0, 1, 0, 8, 0, 0, 0, 1 << 4})); err != nil {
		return err
	}
	r := bufio.NewReader(c)
	for {
		var h [8]byte
		if _, err := io.ReadFull(r, h[:]); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				fmt.Println("timeout")
			} else {
				fmt.Println("refused")
			}
			return nil
		}
		body := make([]byte, int(binary.BigEndian.Uint16(h[2:]))-8)
		if _, err := io.ReadFull(r, body); err != nil {
			fmt.Println("refused")
			return nil
		}
		switch h[1] {
		case 5: // FEATURES_REQUEST: ofp_switch_features (§7.3.1)
			f := binary.BigEndian.AppendUint64(nil, dpid)
			f = append(f, 0, 0, 0, 0, 254, 0, 0, 0)
			f = binary.BigEndian.AppendUint32(f, 0x4f)
			f = binary.BigEndian.AppendUint32(f, 0)
			if _, err := c.Write(ofMsg13(6, binary.BigEndian.Uint32(h[4:]), f)); err != nil {
				fmt.Println("refused")
				return nil
			}
		case 9, 18: // SET_CONFIG, MULTIPART_REQUEST: the handshake went on
			fmt.Println("admitted")
			return nil
		}
	}
}

// netnsHelper starts the helper in namespace ns and returns it with a
// channel of its output lines; it is killed at the end of the test.
func netnsHelper(t *testing.T, ns string, env ...string) (*exec.Cmd, <-chan string) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ip", "netns", "exec", ns, self, "-test.run=^TestNetnsHelper$", "-test.v=false")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd, lineReader(out)
}

// waitLine returns the first line from lines that starts with one of
// prefixes, failing the test after timeout or when the helper ends.
func waitLine(t *testing.T, lines <-chan string, timeout time.Duration, prefixes ...string) string {
	t.Helper()
	deadline := time.After(timeout)
	var seen []string
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("helper ended without a line starting with %q; it printed %q", prefixes, seen)
			}
			seen = append(seen, l)
			for _, p := range prefixes {
				if strings.HasPrefix(l, p) {
					return l
				}
			}
		case <-deadline:
			t.Fatalf("no helper line starting with %q within %v; it printed %q", prefixes, timeout, seen)
		}
	}
}
