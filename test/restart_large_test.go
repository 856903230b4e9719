//go:build integration

package test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ovsmesh/ovsmesh/lab"
)

// largeHosts is the size of TestRestartLargeMesh's lab;
// OVSMESH_LARGE_HOSTS overrides it.
func largeHosts(t *testing.T) int {
	t.Helper()
	s := os.Getenv("OVSMESH_LARGE_HOSTS")
	if s == "" {
		return 50
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 3 {
		t.Fatalf("OVSMESH_LARGE_HOSTS=%q: want a host count of at least 3", s)
	}
	return n
}

// TestRestartLargeMesh restarts the controller (SIGTERM, then a new
// process) on a converged mesh of 50 hosts × 1 guest while h1g1 pings the
// last host's guest at 100 pps. The restarted controller must re-reconcile
// every host without writing to any host's OVSDB (no record in any
// transaction log after the restart inserts, deletes or changes a row or
// column ovsmesh manages), without losing a ping, and with every guest
// reachable from h1g1 afterwards.
func TestRestartLargeMesh(t *testing.T) {
	n := largeHosts(t)
	e := newEnv(t, lab.Options{Prefix: "itrl", Slot: 225, Hosts: n, Guests: 1, Tunnel: "vxlan"})
	hosts := e.hostNames()
	c := e.startController(t)
	e.waitTunnelsPublished(t, 90*time.Second, n)
	t.Logf("every host's %d tunnels have an OFPort %v after the controller started", n-1, time.Since(c.started).Round(time.Millisecond))
	attach(t, e)
	e.waitConnected(t, 60*time.Second, hosts...)
	e.waitConverged(t, 60*time.Second, n)
	e.waitMesh(t, 60*time.Second, hosts, hosts)
	// The first contact: cold ARP for every guest at once (see
	// docs/benchmarks.md, "Convergence").
	e.pingFrom(t, "h1g1", 60*time.Second)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	marks := map[string]int{}
	for _, h := range hosts {
		recs := e.ovsdbLog(t, ctx, h)
		marks[h] = len(recs)
		// The filter must see ovsmesh's own first writes (bridge and
		// tunnels), or its silence after the restart proves nothing.
		seen := 0
		for _, r := range recs {
			seen += len(managedChanges(r))
		}
		if seen < n {
			t.Fatalf("%s: only %d managed changes in the log before the restart; want the bridge and %d tunnel ports", h, seen, n-1)
		}
	}
	src, _ := e.lab.Guest("h1g1")
	dst, _ := e.lab.Guest(fmt.Sprintf("h%dg1", n))
	ping := startPing(ctx, t, src, dst, 1500, 100)
	oldGen := c.generation(t)
	c.stop(t)
	stopped := time.Now()
	c2 := e.startController(t)
	if gen := c2.generation(t); gen != oldGen+1 {
		t.Errorf("restarted controller logged generation=%d; want %d", gen, oldGen+1)
	}
	e.waitConverged(t, 60*time.Second, n)
	t.Logf("restarted controller found all %d hosts converged %v after the old one stopped", n, time.Since(stopped).Round(time.Millisecond))
	e.waitConnected(t, 60*time.Second, hosts...)
	ping.expectNoLoss(t, fmt.Sprintf("a controller restart on a converged %d-host mesh", n))

	var writes []string
	for _, h := range hosts {
		recs := e.ovsdbLog(t, ctx, h)
		if len(recs) < marks[h] {
			t.Fatalf("%s: transaction log shrank from %d to %d records (ovsdb-server compacted it); rerun", h, marks[h], len(recs))
		}
		for _, r := range recs[marks[h]:] {
			if w := managedChanges(r); len(w) > 0 {
				writes = append(writes, fmt.Sprintf("%s %s: %s", h, r.header, strings.Join(w, "; ")))
			}
		}
	}
	if len(writes) > 0 {
		t.Errorf("the restarted controller wrote to OVSDB on a converged mesh (%d records):\n%s", len(writes), strings.Join(writes, "\n"))
	} else {
		t.Logf("no OVSDB record on any of the %d hosts touched a managed row or column after the restart", n)
	}
	// Warm: one round of 2 s pings must do.
	e.pingFrom(t, "h1g1", time.Second)
}

// waitTunnelsPublished waits until the API shows every one of the n hosts
// with its n-1 tunnels and their OFPorts: a cheap check, polled, before
// the thorough one of waitMesh.
func (e *env) waitTunnelsPublished(t *testing.T, timeout time.Duration, n int) time.Duration {
	t.Helper()
	return poll(t, timeout, fmt.Sprintf("the API to show %d tunnels with OFPorts on each of %d hosts", n-1, n), func() (bool, string) {
		if c := e.current(); c != nil && c.exited() {
			t.Fatalf("controller exited (%v):\n%s", c.err, tail(c.log(), 40))
		}
		var rows []apiHost
		if err := e.getJSON("/api/v1/hosts", &rows); err != nil {
			return false, err.Error()
		}
		var short []string
		for _, r := range rows {
			if len(r.Tunnels) != n-1 {
				short = append(short, fmt.Sprintf("%s:%d", r.Name, len(r.Tunnels)))
			}
		}
		return len(rows) == n && len(short) == 0, fmt.Sprintf("%d hosts, short of tunnels: %v", len(rows), short)
	})
}

var convergedRE = regexp.MustCompile(`(?m)^ovsmesh_ovsdb_converged\{host="[^"]+"\} 1$`)

// waitConverged waits until the current controller's metrics show all n
// hosts converged: a reconcile pass on the current OVSDB session found
// nothing to change.
func (e *env) waitConverged(t *testing.T, timeout time.Duration, n int) time.Duration {
	t.Helper()
	return poll(t, timeout, fmt.Sprintf("ovsmesh_ovsdb_converged to be 1 for all %d hosts", n), func() (bool, string) {
		if c := e.current(); c != nil && c.exited() {
			t.Fatalf("controller exited (%v):\n%s", c.err, tail(c.log(), 40))
		}
		var body string
		if err := e.getJSON("/metrics", &body); err != nil {
			return false, err.Error()
		}
		got := len(convergedRE.FindAllString(body, -1))
		return got == n, fmt.Sprintf("%d of %d converged", got, n)
	})
}

// pingFrom waits until guest src has had a reply from every other guest,
// pinging those that have not answered yet all at once, round after
// round, for at most timeout; it returns how long that took.
func (e *env) pingFrom(t *testing.T, src string, timeout time.Duration) time.Duration {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout+5*time.Second)
	defer cancel()
	left := map[string]lab.Guest{}
	for _, g := range e.lab.Guests() {
		if g.Name != src {
			left[g.Name] = g
		}
	}
	total := len(left)
	took := poll(t, timeout, fmt.Sprintf("%s to reach all %d other guests", src, total), func() (bool, string) {
		type res struct{ dst, msg string }
		out := make(chan res)
		for _, g := range left {
			go func() {
				_, msg := e.ping(ctx, src, g.IP, 2)
				out <- res{g.Name, msg}
			}()
		}
		var fails []string
		for range len(left) {
			r := <-out
			if r.msg == "" {
				delete(left, r.dst)
			} else {
				fails = append(fails, r.msg)
			}
		}
		slices.Sort(fails)
		return len(left) == 0, fmt.Sprintf("%d of %d not reached:\n%s", len(left), total, strings.Join(fails, "\n"))
	})
	t.Logf("%s reached all %d other guests (%v)", src, total, took.Round(time.Millisecond))
	return took
}

// logRecord is one record of `ovsdb-tool show-log -mm`: its header line
// and the change lines under it.
type logRecord struct {
	header string
	lines  []string
}

// ovsdbLog returns host's transaction log records (its conf.db, read while
// ovsdb-server runs).
func (e *env) ovsdbLog(t *testing.T, ctx context.Context, host string) []logRecord {
	t.Helper()
	h, err := e.lab.Host(host)
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.lab.Exec(ctx, "", "ovsdb-tool", "show-log", "-mm", filepath.Join(h.Dir, "conf.db"))
	if err != nil {
		t.Fatalf("%s: show-log: %v", host, err)
	}
	return parseShowLog(out)
}

var recordRE = regexp.MustCompile(`^record \d+:`)

func parseShowLog(out string) []logRecord {
	var recs []logRecord
	for _, line := range strings.Split(out, "\n") {
		switch {
		case recordRE.MatchString(line):
			recs = append(recs, logRecord{header: line})
		case len(recs) > 0 && strings.TrimSpace(line) != "":
			recs[len(recs)-1].lines = append(recs[len(recs)-1].lines, line)
		}
	}
	return recs
}

// managedColumns are the columns ovsmesh writes, per table; ovs-vswitchd
// writes others of the same rows (ofport, status, statistics, cur_cfg).
var managedColumns = map[string][]string{
	"Open_vSwitch": {"bridges"},
	"Bridge":       {"name", "ports", "controller", "datapath_type", "protocols", "fail_mode", "other_config", "external_ids"},
	"Port":         {"name", "interfaces", "external_ids"},
	"Interface":    {"name", "type", "options", "external_ids"},
	"Controller":   {"target", "connection_mode", "controller_rate_limit", "controller_burst_limit"},
}

var tableLineRE = regexp.MustCompile(`^  table (\S+) (insert row|delete row|row) .*$`)

// managedChanges lists what a log record did to rows or columns ovsmesh
// manages: an insert or delete of a row of a managed table, or a diff of a
// managed column.
func managedChanges(r logRecord) []string {
	var out []string
	table, kind := "", ""
	for _, line := range r.lines {
		if m := tableLineRE.FindStringSubmatch(line); m != nil {
			table, kind = m[1], m[2]
			if _, ok := managedColumns[table]; ok && kind != "row" {
				out = append(out, strings.TrimSpace(line))
			}
			continue
		}
		col, _, ok := strings.Cut(strings.TrimSpace(line), "=")
		if ok && kind == "row" && slices.Contains(managedColumns[table], col) {
			out = append(out, table+" "+strings.TrimSpace(line))
		}
	}
	return out
}
