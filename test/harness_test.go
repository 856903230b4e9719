//go:build integration

package test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ovsmesh/ovsmesh/config"
	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/flows/flowstest"
	"github.com/ovsmesh/ovsmesh/lab"
	"github.com/ovsmesh/ovsmesh/topo"
)

// ovsmeshBin returns $OVSMESH_BIN, or skips t when it is unset or missing.
func ovsmeshBin(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("OVSMESH_BIN")
	if bin == "" {
		t.Skip("integration test skipped: OVSMESH_BIN is not set (run `make integration`, or `make build` and OVSMESH_BIN=$PWD/bin/ovsmesh go test -tags integration ./test/)")
	}
	if fi, err := os.Stat(bin); err != nil || fi.IsDir() {
		t.Skipf("integration test skipped: OVSMESH_BIN=%s is not a file (%v); run `make build` first", bin, err)
	}
	return bin
}

// env is one lab with the ovsmesh controller run against it. The
// controller reads its own copy of the lab's configuration (cfgPath), so
// tests can rewrite it and send SIGHUP.
type env struct {
	t       *testing.T
	lab     *lab.Lab
	bin     string
	cfgPath string
	cfg     config.Config
	api     string // http://IP:PORT

	mu   sync.Mutex
	ctl  *controllerProc   // the current controller, nil before start
	logs []*controllerProc // every controller started, for diagnostics
}

// newEnv brings up a lab for t (a fresh directory, o.Dir is ignored) and
// registers its teardown and, on failure, the diagnostics dump. The
// controller is not started.
func newEnv(t *testing.T, o lab.Options) *env {
	t.Helper()
	if err := lab.CheckPrereqs(); err != nil {
		if errors.Is(err, lab.ErrPrereq) {
			t.Skipf("integration test skipped: %v", err)
		}
		t.Fatal(err)
	}
	bin := ovsmeshBin(t)
	o.Dir = t.TempDir()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if err := lab.Down(ctx, o.Dir, nil); err != nil {
			t.Errorf("cleanup: lab down %s: %v", o.Prefix, err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	start := time.Now()
	l, err := lab.Up(ctx, o)
	if err != nil {
		t.Fatalf("lab up %+v: %v", o, err)
	}
	t.Logf("lab %s (%s, %d hosts × %d guests, lxc=%v, pre-bridge=%v) up in %v",
		o.Prefix, o.Tunnel, o.Hosts, o.Guests, o.LXC, o.PreBridge, time.Since(start).Round(time.Millisecond))
	e := &env{t: t, lab: l, bin: bin, cfgPath: filepath.Join(o.Dir, "ctl.yaml"), cfg: l.Config()}
	e.api = "http://" + e.cfg.API.Listen
	e.writeConfig(t, e.cfg)
	// Registered after the teardown, so it runs before it.
	t.Cleanup(func() {
		if t.Failed() {
			e.dumpDiagnostics(t)
		}
	})
	return e
}

// writeConfig writes cfg to the controller's configuration file.
func (e *env) writeConfig(t *testing.T, cfg config.Config) {
	t.Helper()
	data, err := config.Marshal(cfg)
	if err != nil {
		t.Fatalf("render config: %v", err)
	}
	if err := os.WriteFile(e.cfgPath, data, 0o644); err != nil {
		t.Fatalf("write config: %v", err)
	}
	e.cfg = cfg
}

// controllerProc is one run of `ovsmesh controller`.
type controllerProc struct {
	cmd     *exec.Cmd
	logPath string
	started time.Time
	done    chan struct{}
	err     error // valid after done is closed
}

// startController starts the controller binary as a child process with
// its stderr in its own log file, and registers its stop (SIGTERM, then
// SIGKILL) in t.Cleanup. It does not wait for anything.
func (e *env) startController(t *testing.T) *controllerProc {
	t.Helper()
	return e.startControllerWith(t)
}

// startControllerWith is startController with the controller's command
// line after prefix, a command that execs the rest (such as prlimit
// --nofile=256:256 --), so the pid is still the controller's.
func (e *env) startControllerWith(t *testing.T, prefix ...string) *controllerProc {
	t.Helper()
	e.mu.Lock()
	n := len(e.logs) + 1
	e.mu.Unlock()
	logPath := filepath.Join(e.lab.Dir(), fmt.Sprintf("ovsmesh-%d.log", n))
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	argv := append(slices.Clone(prefix), e.bin, "controller", "--config", e.cfgPath, "--log-level", "debug")
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = f, f
	// Its own process group, so a ^C to the test does not reach it first
	// and it is signalled only by pid here.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	c := &controllerProc{cmd: cmd, logPath: logPath, started: time.Now(), done: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("start %s controller: %v", e.bin, err)
	}
	go func() {
		c.err = cmd.Wait()
		f.Close()
		close(c.done)
	}()
	e.mu.Lock()
	e.ctl = c
	e.logs = append(e.logs, c)
	e.mu.Unlock()
	// On the env's test, not t: a controller started in a subtest lives
	// on for the next subtests.
	e.t.Cleanup(func() { c.stop(e.t) })
	t.Logf("controller #%d started, pid %d, log %s", n, cmd.Process.Pid, logPath)
	return c
}

// exited reports whether the process has exited.
func (c *controllerProc) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM and waits up to 10s, then SIGKILL. Stopping a
// controller that has exited is a no-op.
func (c *controllerProc) stop(t *testing.T) {
	if c.exited() {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
		if c.err != nil {
			t.Errorf("controller pid %d exited with %v on SIGTERM; want a clean exit:\n%s", c.cmd.Process.Pid, c.err, tail(c.log(), 20))
		}
		return
	case <-time.After(10 * time.Second):
		t.Errorf("controller pid %d ignored SIGTERM for 10s; killing it", c.cmd.Process.Pid)
	}
	c.kill(t)
}

// kill sends SIGKILL (a crash) and waits for the process to be reaped.
func (c *controllerProc) kill(t *testing.T) {
	if c.exited() {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		t.Errorf("controller pid %d still running 10s after SIGKILL", c.cmd.Process.Pid)
	}
}

// log returns the controller's log so far.
func (c *controllerProc) log() string {
	data, _ := os.ReadFile(c.logPath)
	return string(data)
}

var generationRE = regexp.MustCompile(`msg="ovsmesh controller started".* generation=(\d+)`)

// generation waits for the controller's start line and returns the
// cookie generation it logged ("generation=N").
func (c *controllerProc) generation(t *testing.T) int {
	t.Helper()
	var gen int
	poll(t, 10*time.Second, "the controller's start line with generation=N in "+c.logPath, func() (bool, string) {
		if c.exited() {
			t.Fatalf("controller exited (%v) before logging its start:\n%s", c.err, tail(c.log(), 40))
		}
		m := generationRE.FindStringSubmatch(c.log())
		if m == nil {
			return false, tail(c.log(), 5)
		}
		gen, _ = strconv.Atoi(m[1])
		return true, ""
	})
	return gen
}

// poll calls f every 50ms until it reports done or timeout passes, then
// fails t naming what it waited for and f's last word. It returns how
// long it took.
func poll(t *testing.T, timeout time.Duration, what string, f func() (done bool, last string)) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := start.Add(timeout)
	for {
		done, last := f()
		if done {
			return time.Since(start)
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s; last state: %s", timeout, what, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// apiHost is a row of GET /api/v1/hosts.
type apiHost struct {
	Name           string           `json:"name"`
	OVSDBConnected bool             `json:"ovsdb_connected"`
	OpenFlowUp     bool             `json:"openflow_connected"`
	Tunnels        map[string]int32 `json:"tunnels"`
}

// getJSON fetches e.api+path into v (lab.GetJSON), within 3 s.
func (e *env) getJSON(path string, v any) error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	return lab.GetJSON(ctx, e.api+path, v)
}

// waitConnected waits until the API shows every named host with its
// OVSDB and OpenFlow connections up.
func (e *env) waitConnected(t *testing.T, timeout time.Duration, hosts ...string) time.Duration {
	t.Helper()
	what := fmt.Sprintf("the API (%s/api/v1/hosts) to show OVSDB and OpenFlow connected for %v", e.api, hosts)
	return poll(t, timeout, what, func() (bool, string) {
		if c := e.current(); c != nil && c.exited() {
			t.Fatalf("controller exited (%v):\n%s", c.err, tail(c.log(), 40))
		}
		var rows []apiHost
		if err := e.getJSON("/api/v1/hosts", &rows); err != nil {
			return false, err.Error()
		}
		var missing []string
		for _, h := range hosts {
			i := slices.IndexFunc(rows, func(r apiHost) bool { return r.Name == h })
			if i < 0 || !rows[i].OVSDBConnected || !rows[i].OpenFlowUp {
				missing = append(missing, h)
			}
		}
		return len(missing) == 0, fmt.Sprintf("not connected: %v in %+v", missing, rows)
	})
}

// waitReconnect polls /api/v1/switches until host's switch has a session
// that began after after (its ovs-vswitchd was restarted then), and
// returns when that session began.
func (e *env) waitReconnect(t *testing.T, timeout time.Duration, host string, after time.Time) time.Time {
	t.Helper()
	dpid := topo.DPIDFor(host).String()
	var since time.Time
	poll(t, timeout, host+"'s switch ("+dpid+") to reconnect (/api/v1/switches since)", func() (bool, string) {
		var sws []struct {
			DPID  string    `json:"dpid"`
			Since time.Time `json:"since"`
		}
		if err := e.getJSON("/api/v1/switches", &sws); err != nil {
			return false, err.Error()
		}
		for _, sw := range sws {
			if sw.DPID == dpid && sw.Since.After(after) {
				since = sw.Since
				return true, ""
			}
		}
		return false, fmt.Sprintf("%+v", sws)
	})
	return since
}

func (e *env) current() *controllerProc {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.ctl
}

// hostNames returns the lab's host names.
func (e *env) hostNames() []string {
	var out []string
	for _, h := range e.lab.Hosts() {
		out = append(out, h.Name)
	}
	return out
}

// metricSum returns the sum over all label sets of a counter or gauge on
// /metrics; it fails the test when name is not there.
func (e *env) metricSum(t *testing.T, name string) float64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	sum, found, err := lab.MetricSum(ctx, e.api+"/metrics", name, nil)
	if err != nil {
		t.Fatalf("read metrics: %v", err)
	}
	if !found {
		t.Fatalf("metric %s not on /metrics", name)
	}
	return sum
}

// meshProblems compares host's OVSDB with what ovsmesh should have
// written: br-int, fail_mode secure, OpenFlow13, the pinned datapath-id,
// the controller target, and exactly one tunnel port per peer (type, and
// options remote_ip and key). It returns what differs; nil is all good.
func (e *env) meshProblems(ctx context.Context, host string, peers []string) []string {
	vs := func(args ...string) (string, error) {
		out, err := e.lab.VSCtl(ctx, host, append([]string{"--timeout=3"}, args...)...)
		return strings.TrimSpace(out), err
	}
	if _, err := vs("br-exists", lab.MeshBridge); err != nil {
		return []string{fmt.Sprintf("%s: no bridge %s (%v)", host, lab.MeshBridge, err)}
	}
	var probs []string
	out, err := vs("get", "Bridge", lab.MeshBridge, "fail_mode", "protocols", "other_config")
	if err != nil {
		return []string{fmt.Sprintf("%s: %v", host, err)}
	}
	lines := strings.Split(out, "\n")
	if len(lines) != 3 {
		return []string{fmt.Sprintf("%s: get bridge: %q", host, out)}
	}
	if lines[0] != "secure" {
		probs = append(probs, fmt.Sprintf("%s: fail_mode %q, want secure", host, lines[0]))
	}
	if !strings.Contains(lines[1], "OpenFlow13") {
		probs = append(probs, fmt.Sprintf("%s: protocols %s lack OpenFlow13", host, lines[1]))
	}
	wantDPID := topo.DPIDFor(host).String()
	if !strings.Contains(lines[2], `datapath-id="`+wantDPID+`"`) {
		probs = append(probs, fmt.Sprintf("%s: other_config %s, want datapath-id=%s", host, lines[2], wantDPID))
	}
	ctl, err := vs("get-controller", lab.MeshBridge)
	if err != nil {
		return append(probs, fmt.Sprintf("%s: get-controller: %v", host, err))
	}
	if got, want := strings.Fields(ctl), e.cfg.OpenFlow.Targets; !sameSet(got, want) {
		probs = append(probs, fmt.Sprintf("%s: controller %v, want %v", host, got, want))
	}
	ports, err := vs("list-ports", lab.MeshBridge)
	if err != nil {
		return append(probs, fmt.Sprintf("%s: list-ports: %v", host, err))
	}
	ifaces, err := vs("--format=csv", "--data=bare", "--no-headings", "--columns=name,type,options", "list", "Interface")
	if err != nil {
		return append(probs, fmt.Sprintf("%s: list interfaces: %v", host, err))
	}
	type iface struct{ typ, opts string }
	byName := map[string]iface{}
	for _, line := range strings.Split(ifaces, "\n") {
		f := strings.SplitN(line, ",", 3)
		if len(f) == 3 {
			byName[f[0]] = iface{f[1], f[2]}
		}
	}
	want := map[string]string{}
	for _, p := range peers {
		if p != host {
			want[topo.TunnelPortName(p)] = p
		}
	}
	for _, port := range strings.Fields(ports) {
		if strings.HasPrefix(port, "om-") {
			if _, ok := want[port]; !ok {
				probs = append(probs, fmt.Sprintf("%s: unexpected tunnel port %s", host, port))
			}
		}
	}
	for name, peer := range want {
		if !slices.Contains(strings.Fields(ports), name) {
			probs = append(probs, fmt.Sprintf("%s: no tunnel port %s towards %s", host, name, peer))
			continue
		}
		ph, err := e.lab.Host(peer)
		if err != nil {
			probs = append(probs, err.Error())
			continue
		}
		i := byName[name]
		opts := strings.Fields(i.opts)
		wantOpts := []string{"key=" + strconv.FormatUint(uint64(e.cfg.Mesh.Key), 10), "remote_ip=" + ph.UnderlayIP.String()}
		if i.typ != e.cfg.Mesh.Tunnel || !sameSet(opts, wantOpts) {
			probs = append(probs, fmt.Sprintf("%s: tunnel %s is type=%s options=%v, want type=%s options=%v",
				host, name, i.typ, opts, e.cfg.Mesh.Tunnel, wantOpts))
		}
	}
	return probs
}

// waitMesh waits until every host in hosts has its mesh towards every
// host in members. It returns how long it took.
func (e *env) waitMesh(t *testing.T, timeout time.Duration, hosts, members []string) time.Duration {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout+10*time.Second)
	defer cancel()
	what := fmt.Sprintf("br-int (fail_mode secure, OpenFlow13, pinned datapath-id, controller %v) and one %s tunnel per peer of %v on %v",
		e.cfg.OpenFlow.Targets, e.cfg.Mesh.Tunnel, members, hosts)
	return poll(t, timeout, what, func() (bool, string) {
		var probs []string
		for _, h := range hosts {
			probs = append(probs, e.meshProblems(ctx, h, members)...)
		}
		return len(probs) == 0, strings.Join(probs, "; ")
	})
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// ping sends echo requests from guest to dst, one every interval, until
// one reply arrives or the whole-second deadline passes (ping -c 1 -w).
func (e *env) ping(ctx context.Context, guest string, dst netip.Addr, deadline int) (bool, string) {
	g, err := e.lab.Guest(guest)
	if err != nil {
		return false, err.Error()
	}
	out, err := e.lab.Exec(ctx, g.NS, "ping", "-n", "-q", "-c", "1", "-i", "0.05", "-w", strconv.Itoa(deadline), dst.String())
	if err != nil {
		return false, fmt.Sprintf("%s -> %s: %v %s", guest, dst, err, strings.TrimSpace(out))
	}
	return true, ""
}

// pingAll checks that every ordered pair of the named guests pings (one
// reply within 3s), in parallel per source.
func (e *env) pingAll(t *testing.T, guests []string) {
	t.Helper()
	start := time.Now()
	fails := e.eachPair(guests, func(ctx context.Context, src string, dst lab.Guest) string {
		if ok, msg := e.ping(ctx, src, dst.IP, 3); !ok {
			return msg
		}
		return ""
	})
	if len(fails) > 0 {
		t.Fatalf("%d of %d guest pairs do not ping:\n%s", len(fails), len(guests)*(len(guests)-1), strings.Join(fails, "\n"))
	}
	t.Logf("all %d ordered pairs of %d guests ping (%v)", len(guests)*(len(guests)-1), len(guests), time.Since(start).Round(time.Millisecond))
}

// eachPair runs check for every ordered pair of distinct guests, in
// parallel per source, within 60s, and returns one line per failed pair:
// "src -> dst (IP): " and what check returned ("" means the pair is fine).
func (e *env) eachPair(guests []string, check func(ctx context.Context, src string, dst lab.Guest) string) []string {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var mu sync.Mutex
	var fails []string
	fail := func(s string) {
		mu.Lock()
		fails = append(fails, s)
		mu.Unlock()
	}
	var wg sync.WaitGroup
	for _, src := range guests {
		wg.Go(func() {
			for _, dst := range guests {
				if dst == src {
					continue
				}
				g, err := e.lab.Guest(dst)
				if err != nil {
					fail(err.Error())
					continue
				}
				if msg := check(ctx, src, g); msg != "" {
					fail(fmt.Sprintf("%s -> %s (%s): %s", src, dst, g.IP, msg))
				}
			}
		})
	}
	wg.Wait()
	return fails
}

// guestNames returns the lab's current guest names.
func (e *env) guestNames() []string {
	var out []string
	for _, g := range e.lab.Guests() {
		out = append(out, g.Name)
	}
	return out
}

// flow is one parsed line of ovs-ofctl dump-flows.
type flow struct {
	line     string
	cookie   flows.Cookie
	table    int
	priority int
	match    string
	actions  string
	packets  uint64
}

var (
	cookieRE  = regexp.MustCompile(`cookie=(0x[0-9a-f]+)`)
	tableRE   = regexp.MustCompile(`table=(\d+)`)
	packetsRE = regexp.MustCompile(`n_packets=(\d+)`)
)

// parseFlows parses `ovs-ofctl -O OpenFlow13 dump-flows` output.
func parseFlows(out string) ([]flow, error) {
	var fs []flow
	for _, raw := range strings.Split(out, "\n") {
		raw = strings.TrimSpace(raw)
		if raw == "" || strings.HasPrefix(raw, "OFPST_FLOW") {
			continue
		}
		f := flow{line: raw, table: 0, priority: 32768}
		if m := cookieRE.FindStringSubmatch(raw); m != nil {
			c, err := strconv.ParseUint(m[1], 0, 64)
			if err != nil {
				return nil, fmt.Errorf("flow %q: cookie: %v", raw, err)
			}
			f.cookie = flows.Cookie(c)
		}
		if m := tableRE.FindStringSubmatch(raw); m != nil {
			f.table, _ = strconv.Atoi(m[1])
		}
		if m := packetsRE.FindStringSubmatch(raw); m != nil {
			f.packets, _ = strconv.ParseUint(m[1], 10, 64)
		}
		norm := flowstest.NormalizeDump(raw)
		left, actions, ok := strings.Cut(norm, " actions=")
		if !ok {
			return nil, fmt.Errorf("flow %q: no actions", raw)
		}
		f.actions = actions
		// The match is the last space-separated word before the actions.
		m := left
		if i := strings.LastIndexByte(left, ' '); i >= 0 {
			m = left[i+1:]
		}
		if strings.HasPrefix(m, "priority=") {
			p, rest, _ := strings.Cut(strings.TrimPrefix(m, "priority="), ",")
			f.priority, _ = strconv.Atoi(p)
			m = rest
		}
		f.match = m
		fs = append(fs, f)
	}
	return fs, nil
}

// flowsOf dumps and parses host's br-int flows.
func (e *env) flowsOf(ctx context.Context, host string) ([]flow, error) {
	out, err := e.lab.DumpFlows(ctx, host)
	if err != nil {
		return nil, err
	}
	return parseFlows(out)
}

// ofport returns the OpenFlow port number of interface name on host.
func (e *env) ofport(ctx context.Context, host, name string) (int, error) {
	out, err := e.lab.VSCtl(ctx, host, "get", "Interface", name, "ofport")
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%s: interface %s has ofport %q", host, name, strings.TrimSpace(out))
	}
	return n, nil
}

// dumpDiagnostics logs the controllers' log tails and every host's flows,
// groups, ovs-vsctl show and ovs-vswitchd log tail.
func (e *env) dumpDiagnostics(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e.mu.Lock()
	procs := slices.Clone(e.logs)
	e.mu.Unlock()
	for i, c := range procs {
		t.Logf("=== controller #%d log tail (%s):\n%s", i+1, c.logPath, tail(c.log(), 60))
	}
	for _, h := range e.lab.Hosts() {
		fl, err := e.lab.DumpFlows(ctx, h.Name)
		t.Logf("=== %s dump-flows br-int (%v):\n%s", h.Name, err, fl)
		gr, err := e.lab.OFCtl(ctx, h.Name, "dump-groups", lab.MeshBridge)
		t.Logf("=== %s dump-groups br-int (%v):\n%s", h.Name, err, gr)
		show, err := e.lab.VSCtl(ctx, h.Name, "--timeout=3", "show")
		t.Logf("=== %s ovs-vsctl show (%v):\n%s", h.Name, err, show)
		dp, err := e.lab.AppCtl(ctx, h.Name, "dpif/show")
		t.Logf("=== %s dpif/show (%v):\n%s", h.Name, err, dp)
		data, _ := os.ReadFile(h.LogFile(lab.Vswitchd))
		t.Logf("=== %s ovs-vswitchd log tail:\n%s", h.Name, tail(string(data), 15))
	}
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// lineReader feeds lines of r to a channel, closed at EOF.
func lineReader(r io.Reader) <-chan string {
	ch := make(chan string, 1024)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			ch <- sc.Text()
		}
	}()
	return ch
}
