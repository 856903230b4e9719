//go:build integration

package test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ovsmesh/ovsmesh/lab"
)

// TestState runs one 2-host × 2-guest VXLAN lab through the issue-6
// checks: the JSON API and CLI end to end, the metrics, a hitless
// controller restart under traffic with the tables restored from the
// state file, and an ovs-vswitchd restart whose flows must be back
// within 2 s of reconnection.
func TestState(t *testing.T) {
	e := newEnv(t, lab.Options{Prefix: "itst", Slot: 241, Hosts: 2, Guests: 2, Tunnel: "vxlan"})
	hosts := e.hostNames()
	c := e.startController(t)
	e.waitMesh(t, meshDeadline-time.Since(c.started), hosts, hosts)
	attach(t, e)
	e.waitConnected(t, 30*time.Second, hosts...)
	e.pingAll(t, e.guestNames())

	t.Run("api-and-cli", func(t *testing.T) { testAPIAndCLI(t, e) })
	t.Run("packet-in-metrics", func(t *testing.T) { testPacketInMetrics(t, e) })
	t.Run("restart-hitless", func(t *testing.T) { testRestartHitless(t, e) })
	t.Run("vswitchd-restart-2s", func(t *testing.T) { testVswitchdReplay(t, e) })
	t.Run("metrics", func(t *testing.T) { testMetrics(t, e) })
}

// macSet returns the API's MAC table as "mac@dpid:port" strings.
func (e *env) macSet() ([]string, error) {
	var rows []struct {
		MAC    string `json:"mac"`
		DPID   string `json:"dpid"`
		OFPort uint32 `json:"ofport"`
	}
	if err := e.getJSON("/api/v1/macs", &rows); err != nil {
		return nil, err
	}
	var out []string
	for _, r := range rows {
		out = append(out, fmt.Sprintf("%s@%s:%d", r.MAC, r.DPID, r.OFPort))
	}
	slices.Sort(out)
	return out, nil
}

// arpSet returns the API's ARP table as "ip=mac" strings.
func (e *env) arpSet() ([]string, error) {
	var rows []struct {
		IP  string `json:"ip"`
		MAC string `json:"mac"`
	}
	if err := e.getJSON("/api/v1/arp", &rows); err != nil {
		return nil, err
	}
	var out []string
	for _, r := range rows {
		out = append(out, r.IP+"="+r.MAC)
	}
	slices.Sort(out)
	return out, nil
}

// testRestartHitless SIGKILLs the controller during a 10 s ping at 100
// pps between guests of h1 and h2 and restarts it at once, while the
// ping runs: no packet may be lost; the restarted controller must show
// the MAC and ARP tables from disk at its first API answer; after
// convergence only the new generation's flows remain and every pair
// pings.
func testRestartHitless(t *testing.T, e *env) {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	macsBefore, err := e.macSet()
	if err != nil {
		t.Fatal(err)
	}
	arpBefore, err := e.arpSet()
	if err != nil {
		t.Fatal(err)
	}
	if len(macsBefore) < len(e.guestNames()) {
		t.Fatalf("only %d MACs learned before the restart: %v", len(macsBefore), macsBefore)
	}
	old := e.current()
	oldGen := old.generation(t)
	src, _ := e.lab.Guest("h1g1")
	dst, _ := e.lab.Guest("h2g1")
	ping := startPing(ctx, t, src, dst, 1000, 100)
	old.kill(t)
	killed := time.Now()
	c := e.startController(t)
	gen := c.generation(t)
	if gen != oldGen+1 {
		t.Errorf("restarted controller logged generation=%d; want %d + 1", gen, oldGen)
	}
	// The first API answer must already hold the tables from disk.
	var macsAfter, arpAfter []string
	poll(t, 10*time.Second, "the restarted controller's API", func() (bool, string) {
		var err error
		if macsAfter, err = e.macSet(); err != nil {
			return false, err.Error()
		}
		arpAfter, err = e.arpSet()
		return err == nil, fmt.Sprint(err)
	})
	t.Logf("restarted controller answered %v after the SIGKILL with %d MACs and %d ARP bindings", time.Since(killed).Round(time.Millisecond), len(macsAfter), len(arpAfter))
	if !slices.Equal(macsAfter, macsBefore) {
		t.Errorf("MAC table after restart (from disk):\n%v\nwant the one before:\n%v", macsAfter, macsBefore)
	}
	if !slices.Equal(arpAfter, arpBefore) {
		t.Errorf("ARP table after restart (from disk):\n%v\nwant the one before:\n%v", arpAfter, arpBefore)
	}

	ping.expectNoLoss(t, "a controller SIGKILL and restart")

	hosts := e.hostNames()
	e.waitConnected(t, 40*time.Second, hosts...)
	check := func(what string) {
		t.Helper()
		took := poll(t, 20*time.Second, what+": only generation "+strconv.Itoa(gen)+" flows on every host", func() (bool, string) {
			var probs []string
			for _, h := range hosts {
				fs, err := e.flowsOf(ctx, h)
				if err != nil {
					return false, err.Error()
				}
				probs = append(probs, flowProblems(h, fs, uint16(gen))...)
			}
			return len(probs) == 0, strings.Join(probs, "; ")
		})
		t.Logf("%s: only generation %d flows (%v)", what, gen, took.Round(time.Millisecond))
	}
	check("after the restart")
	e.pingAll(t, e.guestNames())
	check("after pinging")
}

// flowKeys returns host's flows as "table=T,priority=P,MATCH actions=A"
// with cookies and counters left out.
func (e *env) flowKeys(ctx context.Context, host string) (map[string]bool, error) {
	fs, err := e.flowsOf(ctx, host)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, f := range fs {
		out[fmt.Sprintf("table=%d,priority=%d,%s actions=%s", f.table, f.priority, f.match, f.actions)] = true
	}
	return out, nil
}

// testVswitchdReplay restarts h2's ovs-vswitchd (its flows are gone) and
// checks that every flow it had is back within 2 s of the switch's
// reconnection (the session's since time), then that guests ping.
func testVswitchdReplay(t *testing.T, e *env) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	before, err := e.flowKeys(ctx, "h2")
	if err != nil {
		t.Fatal(err)
	}
	restarted := time.Now()
	if err := e.lab.Restart(ctx, "h2", lab.Vswitchd); err != nil {
		t.Fatal(err)
	}
	since := e.waitReconnect(t, 30*time.Second, "h2", restarted)
	var missing []string
	poll(t, 10*time.Second, "every flow h2 had before its restart to be back", func() (bool, string) {
		now, err := e.flowKeys(ctx, "h2")
		if err != nil {
			return false, err.Error()
		}
		missing = missing[:0]
		for k := range before {
			if !now[k] {
				missing = append(missing, k)
			}
		}
		return len(missing) == 0, fmt.Sprintf("%d of %d missing, e.g. %v", len(missing), len(before), slices.Sorted(maps.Keys(before))[:1])
	})
	took := time.Since(since)
	t.Logf("h2's %d flows back %v after its switch reconnected (restart to reconnect %v)", len(before), took.Round(time.Millisecond), since.Sub(restarted).Round(time.Millisecond))
	if took > 2*time.Second {
		t.Errorf("h2's flows came back %v after reconnection; want within 2s", took)
	}
	e.pingAll(t, e.guestNames())
}
