//go:build linux

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ovsmesh/ovsmesh/config"
	"github.com/ovsmesh/ovsmesh/lab"
)

// peer names what switches the lab: ovsmesh, OVS NORMAL, or
// ovs-testcontroller.
type peer string

const (
	peerOvsmesh peer = "ovsmesh"
	peerNormal  peer = "NORMAL"
	peerTC      peer = "testcontroller"
)

// tcPort is the TCP port ovs-testcontroller listens on, on the lab's
// controller address.
const tcPort = 6699

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

// use makes p switch the lab: it stops the running controller, clears
// br-int's flows and groups, and starts p (ovsmesh with a fresh state
// file; ovs-testcontroller; or NORMAL: no controller, fail_mode
// standalone, one flow priority=0,actions=NORMAL). It returns once p's
// switches are connected; whether traffic passes is for the benchmark to
// check. The first use must be ovsmesh: it makes br-int.
func (e *env) use(ctx context.Context, p peer) error {
	e.stopController()
	if p != peerOvsmesh && !e.attached {
		return fmt.Errorf("use %s: br-int does not exist yet (use ovsmesh first)", p)
	}
	if e.attached {
		if err := e.clearFlows(ctx); err != nil {
			return fmt.Errorf("use %s: %w", p, err)
		}
	}
	var err error
	switch p {
	case peerOvsmesh:
		err = e.startOvsmesh(ctx)
	case peerNormal:
		err = e.eachHost(func(h lab.Host) error {
			if _, err := e.l.VSCtl(ctx, h.Name, "del-controller", lab.MeshBridge,
				"--", "set", "Bridge", lab.MeshBridge, "fail_mode=standalone"); err != nil {
				return err
			}
			_, err := e.l.OFCtl(ctx, h.Name, "add-flow", lab.MeshBridge, "priority=0,actions=NORMAL")
			return err
		})
	case peerTC:
		err = e.startTestcontroller(ctx)
	default:
		err = fmt.Errorf("unknown peer %q", p)
	}
	if err != nil {
		return e.fail(fmt.Errorf("use %s: %w", p, err))
	}
	e.o.progress("%s switches the lab", p)
	return nil
}

// startOvsmesh writes the configuration with a fresh state file, starts
// `ovsmesh controller`, attaches the guests the first time, and waits
// until the API shows every host's OVSDB session, tunnels and OpenFlow
// connection up and every guest port on its switch.
func (e *env) startOvsmesh(ctx context.Context) error {
	if err := e.startOvsmeshProc(); err != nil {
		return err
	}
	if !e.attached {
		if err := e.l.AttachGuests(ctx); err != nil {
			return err
		}
		e.attached = true
	}
	return pollUntil(ctx, 60*time.Second, 20*time.Millisecond, func() (bool, error) {
		if e.ctl.exited() {
			return false, fmt.Errorf("ovsmesh exited: %v", e.ctl.err)
		}
		probs, err := e.meshProblems()
		return err == nil && len(probs) == 0, nil
	}, func() string {
		probs, err := e.meshProblems()
		return fmt.Sprintf("the API to show every host, tunnel and guest port up (%v %v)", probs, err)
	})
}

// startOvsmeshProc writes ctl.yaml with a fresh state file and starts the
// controller; it does not wait.
func (e *env) startOvsmeshProc() error {
	e.starts++
	e.cfg.State = filepath.Join(e.dir, fmt.Sprintf("ovsmesh-%d.db", e.starts))
	data, err := config.Marshal(e.cfg)
	if err != nil {
		return err
	}
	if err := os.WriteFile(e.cfgPath, data, 0o644); err != nil {
		return err
	}
	p, err := startProc("ovsmesh", filepath.Join(e.dir, fmt.Sprintf("ovsmesh-%d.log", e.starts)),
		e.o.bin, "controller", "--config", e.cfgPath, "--log-level", "warn")
	if err != nil {
		return err
	}
	e.ctl = e.procs.add(p)
	return nil
}

// startTestcontroller starts ovs-testcontroller, waits until it listens,
// then points every br-int at it (fail_mode secure, out-of-band, no
// packet-in rate limit) and waits until every bridge is connected.
func (e *env) startTestcontroller(ctx context.Context) error {
	cip := lab.ControllerIP(e.l.Options().Slot)
	addr := net.JoinHostPort(cip.String(), strconv.Itoa(tcPort))
	e.starts++
	p, err := startProc("ovs-testcontroller", filepath.Join(e.dir, fmt.Sprintf("testcontroller-%d.log", e.starts)),
		"ovs-testcontroller", "-O", "OpenFlow13", "--unixctl="+filepath.Join(e.dir, fmt.Sprintf("tc-%d.ctl", e.starts)),
		fmt.Sprintf("ptcp:%d:%s", tcPort, cip))
	if err != nil {
		return err
	}
	e.ctl = e.procs.add(p)
	// Connect once, so OVS's first attempt finds it listening (a refused
	// attempt costs a second of backoff).
	if err := pollUntil(ctx, 10*time.Second, 5*time.Millisecond, func() (bool, error) {
		if p.exited() {
			return false, fmt.Errorf("ovs-testcontroller exited: %v", p.err)
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return false, nil
		}
		c.Close()
		return true, nil
	}, func() string { return "ovs-testcontroller to listen on " + addr }); err != nil {
		return err
	}
	target := "tcp:" + addr
	if err := e.eachHost(func(h lab.Host) error {
		_, err := e.l.VSCtl(ctx, h.Name, "set-controller", lab.MeshBridge, target,
			"--", "set", "Bridge", lab.MeshBridge, "fail_mode=secure",
			"--", "set", "Controller", lab.MeshBridge, "connection_mode=out-of-band")
		return err
	}); err != nil {
		return err
	}
	return e.eachHost(func(h lab.Host) error {
		_, err := e.l.VSCtl(ctx, h.Name, "--timeout=30", "wait-until", "Controller", lab.MeshBridge, "is_connected=true")
		return err
	})
}

// apiHost is a row of GET /api/v1/hosts.
type apiHost struct {
	Name           string           `json:"name"`
	OVSDBConnected bool             `json:"ovsdb_connected"`
	OpenFlowUp     bool             `json:"openflow_connected"`
	Tunnels        map[string]int32 `json:"tunnels"`
}

// apiSwitch is a row of GET /api/v1/switches.
type apiSwitch struct {
	Host  string    `json:"host"`
	Ports []apiPort `json:"ports"`
}

// apiPort is a switch port in GET /api/v1/switches.
type apiPort struct {
	Name string `json:"name"`
	Up   bool   `json:"up"`
}

// hasPort reports whether the switch has port name, up.
func (s apiSwitch) hasPort(name string) bool {
	return slices.ContainsFunc(s.Ports, func(p apiPort) bool { return p.Name == name && p.Up })
}

// getJSON fetches e.api+path into v.
func (e *env) getJSON(path string, v any) error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.api+path, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return json.Unmarshal(body, v)
}

// hostProblems lists, from GET /api/v1/hosts, the hosts whose OVSDB
// session or OpenFlow connection is down or that lack a tunnel to a peer.
func hostProblems(rows []apiHost, n int) (ovsdb, openflow []string) {
	for _, r := range rows {
		if !r.OVSDBConnected {
			ovsdb = append(ovsdb, r.Name+": OVSDB down")
		} else if up := countPositive(r.Tunnels); up < n-1 {
			ovsdb = append(ovsdb, fmt.Sprintf("%s: %d of %d tunnels", r.Name, up, n-1))
		}
		if !r.OpenFlowUp {
			openflow = append(openflow, r.Name+": OpenFlow down")
		}
	}
	if len(rows) < n {
		ovsdb = append(ovsdb, fmt.Sprintf("%d of %d hosts in the API", len(rows), n))
	}
	return ovsdb, openflow
}

func countPositive(m map[string]int32) int {
	n := 0
	for _, v := range m {
		if v > 0 {
			n++
		}
	}
	return n
}

// meshProblems lists what the API does not show yet: hosts, tunnels,
// OpenFlow connections and attached guest ports.
func (e *env) meshProblems() ([]string, error) {
	var rows []apiHost
	if err := e.getJSON("/api/v1/hosts", &rows); err != nil {
		return nil, err
	}
	ovsdb, of := hostProblems(rows, len(e.l.Hosts()))
	probs := append(ovsdb, of...)
	var sws []apiSwitch
	if err := e.getJSON("/api/v1/switches", &sws); err != nil {
		return nil, err
	}
	for _, g := range e.l.Guests() {
		i := slices.IndexFunc(sws, func(s apiSwitch) bool { return s.Host == g.Host })
		if i < 0 || !sws[i].hasPort(g.Port) {
			probs = append(probs, fmt.Sprintf("%s: port %s not on the switch", g.Host, g.Port))
		}
	}
	return probs, nil
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
