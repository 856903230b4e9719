package lab

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// needLab skips t unless the lab can run here (root, OVS and iproute2).
func needLab(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("lab integration test skipped in -short mode")
	}
	if err := CheckPrereqs(); err != nil {
		if errors.Is(err, ErrPrereq) {
			t.Skipf("lab integration test needs root and Open vSwitch: %v", err)
		}
		t.Fatal(err)
	}
}

// upLab brings up a lab for t and tears it down in t.Cleanup, even when
// the test fails. Each test uses its own prefix and slot so tests (and
// other packages' labs) can run at the same time.
func upLab(t *testing.T, o Options) *Lab {
	t.Helper()
	o.Dir = t.TempDir()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := Down(ctx, o.Dir, nil); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	start := time.Now()
	l, err := Up(ctx, o)
	if err != nil {
		t.Fatalf("Up: %v", err)
	}
	t.Logf("up %d×%d took %v", o.Hosts, o.Guests, time.Since(start))
	return l
}

func TestLabIntegration(t *testing.T) {
	needLab(t)
	l := upLab(t, Options{Prefix: "labt", Slot: 201, Hosts: 2, Guests: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	for _, h := range l.Hosts() {
		if out, err := l.AppCtl(ctx, h.Name, "version"); err != nil || !strings.Contains(out, "ovs-vswitchd") {
			t.Fatalf("%s: ovs-vswitchd does not answer: %q, %v", h.Name, out, err)
		}
		// The TCP remote, as ovsmesh reaches it from the root namespace.
		if _, err := run(ctx, nil, "ovs-vsctl", "--timeout=5", "--db="+h.OVSDB(), "br-exists", phyBridge); err != nil {
			t.Fatalf("%s: ovsdb over %s: %v", h.Name, h.OVSDB(), err)
		}
	}

	// Underlay: h1 pings h2 across both br-phy bridges; the underlay
	// capture on h2's port sees the requests and replies.
	h2ip := l.Hosts()[1].UnderlayIP
	capt, err := l.StartCapture(ctx, l.UnderlayNS(), l.UnderlayPort("h2"), "icmp")
	if err != nil {
		t.Fatal(err)
	}
	mustPing(ctx, t, l, "", "labt-h1", h2ip)
	if n, err := capt.Stop(); err != nil || n < 4 {
		t.Errorf("underlay capture: %d packets, %v; want at least 4 (%q)", n, err, capt.Lines())
	}

	// No controller here: make plain standalone bridges (no tunnels), add
	// a second guest on h1, attach, and ping within h1.
	for _, h := range l.Hosts() {
		if _, err := l.VSCtl(ctx, h.Name, "add-br", MeshBridge, "--", "set", "bridge", MeshBridge,
			"datapath_type=netdev", "fail_mode=standalone"); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.AttachGuests(ctx); err != nil {
		t.Fatal(err)
	}
	g2, err := l.AddGuest(ctx, "h1")
	if err != nil {
		t.Fatal(err)
	}
	if g2.Name != "h1g2" || g2.IP != netip.MustParseAddr("10.0.1.2") {
		t.Fatalf("AddGuest = %+v", g2)
	}
	mustPing(ctx, t, l, "h1g1", "", g2.IP)

	// Move h2g1 to h1, keeping MAC and IP: now h1g1 reaches it locally.
	moved, err := l.MoveGuest(ctx, "h2g1", "h1")
	if err != nil {
		t.Fatal(err)
	}
	out, err := l.VSCtl(ctx, "h1", "list-ports", MeshBridge)
	if err != nil || !strings.Contains(out, moved.Port) {
		t.Fatalf("h1 ports after move: %q, %v", out, err)
	}
	mustPing(ctx, t, l, "h1g1", "", moved.IP)
	if flows, err := l.DumpFlows(ctx, "h1"); err != nil || !strings.Contains(flows, "NORMAL") {
		t.Errorf("dump-flows h1: %q, %v", flows, err)
	}
	if err := l.RemoveGuest(ctx, "h1g2"); err != nil {
		t.Fatal(err)
	}

	// Failure helpers: a vswitchd crash and restart brings br-phy back
	// with its address; an ovsdb-server restart serves the same db.
	if err := l.Restart(ctx, "h2", Vswitchd); err != nil {
		t.Fatal(err)
	}
	mustPing(ctx, t, l, "", "labt-h1", h2ip)
	if err := l.Restart(ctx, "h1", OVSDBServer); err != nil {
		t.Fatal(err)
	}
	if _, err := l.VSCtl(ctx, "h1", "br-exists", MeshBridge); err != nil {
		t.Fatal(err)
	}

	pids := l.Hosts()[0].PIDs
	if err := l.Down(ctx); err != nil {
		t.Fatalf("Down: %v", err)
	}
	assertGone(t, "labt", pids)
	if err := Down(ctx, l.Dir(), nil); err != nil {
		t.Fatalf("second Down: %v", err)
	}
}

// TestLabLXC checks the lxc variant: guests behind lxcbr0, one OVS port.
func TestLabLXC(t *testing.T) {
	needLab(t)
	l := upLab(t, Options{Prefix: "labx", Slot: 202, Hosts: 1, Guests: 2, LXC: true, PreBridge: true})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := l.AttachGuests(ctx); err != nil {
		t.Fatal(err)
	}
	out, err := l.VSCtl(ctx, "h1", "list-ports", MeshBridge)
	if err != nil || strings.TrimSpace(out) != lxcOVS {
		t.Fatalf("mesh bridge ports = %q, %v; want only %s", out, err, lxcOVS)
	}
	mustPing(ctx, t, l, "h1g1", "", GuestIP(1, 2))
}

// TestDownAfterCrash kills a process in the middle of Up and checks that
// Down cleans up from the state file alone.
func TestDownAfterCrash(t *testing.T) {
	if dir := os.Getenv("LAB_CRASH_DIR"); dir != "" {
		// The child: bring a lab up and wait to be killed.
		_, err := Up(context.Background(), Options{Dir: dir, Prefix: "labc", Slot: 203, Hosts: 3, Guests: 2})
		fmt.Println("child Up returned", err)
		time.Sleep(time.Minute)
		return
	}
	needLab(t)
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestDownAfterCrash$")
	cmd.Env = append(os.Environ(), "LAB_CRASH_DIR="+dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill it once the state file records one ovs-vswitchd: some hosts are
	// then half made.
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, err := readState(dir)
		if err == nil && slices.ContainsFunc(st.Hosts, func(h Host) bool { return h.PIDs[Vswitchd] > 0 }) {
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatal("child never recorded namespaces")
		}
		time.Sleep(5 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, _ := readState(dir)
	var pids map[Daemon]int
	if len(st.Hosts) > 0 {
		pids = st.Hosts[0].PIDs
	}
	if err := Down(ctx, dir, nil); err != nil {
		t.Fatalf("Down after crash: %v", err)
	}
	// Daemons the child started but had not yet recorded are found
	// through their pid files.
	assertGone(t, "labc", pids)
	for _, h := range st.Hosts {
		for _, d := range []Daemon{OVSDBServer, Vswitchd} {
			if pid, err := readPID(h.pidFile(d)); err == nil && ownedBy(pid, h.Dir) {
				t.Errorf("%s %s (pid %d) still running", h.Name, d, pid)
			}
		}
	}
	if err := Down(ctx, dir, nil); err != nil {
		t.Fatalf("second Down: %v", err)
	}
}

// assertGone checks that no namespace or root link with prefix is left
// and that pids are dead.
func assertGone(t *testing.T, prefix string, pids map[Daemon]int) {
	t.Helper()
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, prefix+"-") {
			t.Errorf("namespace left behind: %s", line)
		}
	}
	links, _ := os.ReadDir("/sys/class/net")
	for _, e := range links {
		if strings.HasPrefix(e.Name(), prefix) {
			t.Errorf("root link left behind: %s", e.Name())
		}
	}
	for d, pid := range pids {
		if pid > 0 && alive(pid) {
			t.Errorf("%s pid %d still alive", d, pid)
		}
	}
}

// mustPing pings dst from a guest (or, when guest is "", from namespace
// ns) and fails t unless a reply comes back.
func mustPing(ctx context.Context, t *testing.T, l *Lab, guest, ns string, dst netip.Addr) {
	t.Helper()
	var res PingResult
	var err error
	if guest != "" {
		res, err = l.Ping(ctx, guest, dst, 3)
	} else {
		res, err = PingNS(ctx, ns, dst, 3)
	}
	if err != nil || !res.OK() {
		t.Fatalf("ping %s from %s%s: %+v, %v", dst, guest, ns, res, err)
	}
}

// TestLabTunnel wires two hosts by hand with one VXLAN port each (what
// ovsmesh does over OVSDB; two hosts cannot loop) and checks that guests
// reach each other from the first ping and that the encapsulated traffic
// can be counted on the underlay.
func TestLabTunnel(t *testing.T) {
	needLab(t)
	l := upLab(t, Options{Prefix: "labv", Slot: 204, Hosts: 2, Guests: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	hosts := l.Hosts()
	for i, h := range hosts {
		peer := hosts[1-i]
		if _, err := l.VSCtl(ctx, h.Name, "add-br", MeshBridge, "--", "set", "bridge", MeshBridge,
			"datapath_type=netdev", "fail_mode=standalone",
			"--", "add-port", MeshBridge, "vx", "--", "set", "interface", "vx", "type=vxlan",
			"options:remote_ip="+peer.UnderlayIP.String(), "options:key=5001"); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.AttachGuests(ctx); err != nil {
		t.Fatal(err)
	}
	capt, err := l.StartCapture(ctx, l.UnderlayNS(), l.UnderlayPort("h2"), "udp dst port 4789")
	if err != nil {
		t.Fatal(err)
	}
	// ARP inside VXLAN: the inner EtherType sits 28 bytes into the UDP
	// header (8 UDP + 8 VXLAN + 12 Ethernet).
	arps, err := l.StartCapture(ctx, l.UnderlayNS(), l.UnderlayPort("h2"), "udp dst port 4789 and udp[28:2] = 0x0806")
	if err != nil {
		t.Fatal(err)
	}
	res, err := l.Ping(ctx, "h1g1", GuestIP(2, 1), 1)
	if err != nil || !res.OK() {
		t.Fatalf("first ping across the tunnel: %+v, %v", res, err)
	}
	n, err := capt.Stop()
	// ARP request and reply, echo request and reply.
	if err != nil || n < 4 {
		t.Errorf("underlay capture: %d VXLAN packets, %v; want at least 4 (%q)", n, err, capt.Lines())
	}
	if n, err := arps.Stop(); err != nil || n < 2 {
		t.Errorf("underlay capture: %d encapsulated ARP, %v; want request and reply (%q)", n, err, arps.Lines())
	}
}

// TestLabOutside checks the outside namespace of Options.Outside: its
// addresses and the external port on the last host, the guests' default
// route (also for guests added and moved later), ICMP and TCP to both
// outside addresses through the last host's userspace datapath, and
// that Down removes it.
func TestLabOutside(t *testing.T) {
	needLab(t)
	l := upLab(t, Options{Prefix: "labo", Slot: 205, Hosts: 2, Guests: 1, Outside: true})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out := l.OutsideNS()
	if out != "labo-out" || l.Gateway() != "h2" {
		t.Fatalf("OutsideNS = %q, Gateway = %q", out, l.Gateway())
	}
	sh := func(ns string, argv ...string) string {
		t.Helper()
		s, err := l.Exec(ctx, ns, argv...)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if s := sh(out, "ip", "-4", "-o", "addr", "show"); !strings.Contains(s, "inet 198.18.200.254/24") || !strings.Contains(s, "lo    inet 198.18.201.1/32") {
		t.Errorf("outside addresses:\n%s", s)
	}
	if s := sh(out, "ip", "route", "show", "default"); s != "" {
		t.Errorf("outside has a default route: %q", s)
	}
	h2 := l.Hosts()[1]
	if s := sh(h2.NS, "ip", "-o", "link", "show", NATExternalPort); !strings.Contains(s, "mtu 1450") || !strings.Contains(s, "UP") {
		t.Errorf("%s on h2: %s", NATExternalPort, s)
	}
	if s := sh(h2.NS, "ip", "-4", "-o", "addr", "show", "dev", NATExternalPort); s != "" {
		t.Errorf("%s has addresses: %s", NATExternalPort, s)
	}
	for _, c := range []struct{ ns, dev string }{{h2.NS, NATExternalPort}, {out, OutsideIf}} {
		if s := sh(c.ns, "ethtool", "-k", c.dev); !strings.Contains(s, "tx-checksumming: off") {
			t.Errorf("%s in %s: tx checksum offload on", c.dev, c.ns)
		}
	}
	want := "default via " + NATRouterIP.String() + " dev eth0"
	checkRoute := func(guest string) {
		t.Helper()
		g, err := l.Guest(guest)
		if err != nil {
			t.Fatal(err)
		}
		if s := sh(g.NS, "ip", "route", "show", "default"); !strings.Contains(s, want) {
			t.Errorf("guest %s default route %q, want %q", guest, s, want)
		}
	}
	checkRoute("h1g1")
	checkRoute("h2g1")
	g, err := l.AddGuest(ctx, "h1")
	if err != nil {
		t.Fatal(err)
	}
	checkRoute(g.Name)
	if _, err := l.MoveGuest(ctx, "h1g1", "h2"); err != nil {
		t.Fatal(err)
	}
	checkRoute("h1g1")
	if nat, ok := l.Config().Section("nat").(*NATSection); !ok || nat.Gateway != "h2" || nat.External.Port != NATExternalPort {
		t.Errorf("Config nat section = %+v", l.Config().Section("nat"))
	}

	// What ovsmesh will do, by hand: ext0 on a standalone br-int, and h2's
	// kernel on br-int's own port as the gateway address. Pings and a TCP
	// stream reach both outside addresses through the userspace datapath.
	if _, err := l.VSCtl(ctx, "h2", "add-br", MeshBridge, "--", "set", "bridge", MeshBridge, "datapath_type=netdev",
		"fail_mode=standalone", "--", "add-port", MeshBridge, NATExternalPort); err != nil {
		t.Fatal(err)
	}
	if err := ipBatch(ctx, h2.NS, fmt.Sprintf("addr add %s dev %s", NATExternalIP, MeshBridge), "link set "+MeshBridge+" up",
		fmt.Sprintf("route add %s/32 via %s dev %s", NATFarIP, NATNextHop, MeshBridge)); err != nil {
		t.Fatal(err)
	}
	mustPing(ctx, t, l, "", h2.NS, NATNextHop)
	mustPing(ctx, t, l, "", h2.NS, NATFarIP)
	srv := exec.CommandContext(ctx, "ip", "netns", "exec", out, "iperf3", "-s", "-1", "-B", NATFarIP.String(), "-p", "5201")
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = srv.Process.Kill() // the one this test started; done already when the stream ran
		_ = srv.Wait()
	}()
	var res string
	for range 50 { // until the server listens
		if res, err = l.Exec(ctx, h2.NS, "iperf3", "-c", NATFarIP.String(), "-p", "5201", "-n", "4M", "-f", "m"); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil || !strings.Contains(res, "receiver") {
		t.Errorf("TCP to the far server through h2's datapath: %v\n%s", err, res)
	}
	for _, line := range strings.Split(res, "\n") {
		if strings.Contains(line, "receiver") {
			t.Logf("4 MB to %s: %s", NATFarIP, strings.Join(strings.Fields(line), " "))
		}
	}

	if err := l.Down(ctx); err != nil {
		t.Fatalf("Down: %v", err)
	}
	assertGone(t, "labo", nil)
}
