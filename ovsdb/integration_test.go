package ovsdb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ovsmesh/ovsmesh/topo"
)

// startOVSDBServer starts a real ovsdb-server (from Debian's OVS) on a
// fresh database in its own temp dir, with OVS_RUNDIR pointing there, and
// stops it by the pid in its pid file at cleanup. It skips the test when
// ovsdb-server is not installed or the test is not run as root.
func startOVSDBServer(t *testing.T) (sock string) {
	t.Helper()
	for _, bin := range []string{"ovsdb-server", "ovsdb-tool", "ovs-vsctl"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("real-OVSDB test skipped: %s not installed (apt-get install openvswitch-switch)", bin)
		}
	}
	if os.Geteuid() != 0 {
		t.Skip("real-OVSDB test skipped: needs root (ovsdb-server pid and run files)")
	}
	// A short directory: unix socket paths are limited to 107 bytes.
	dir, err := os.MkdirTemp("", "ovsmesh-ovsdb-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	db := filepath.Join(dir, "conf.db")
	run(t, dir, "ovsdb-tool", "create", db, "vswitch.ovsschema")
	sock = filepath.Join(dir, "db.sock")
	serveOVSDB(t, sock)
	t.Cleanup(func() { stopByPidfile(t, pidfileOf(sock)) })
	if _, err := vsctl(sock, "init"); err != nil {
		t.Fatal(err)
	}
	return sock
}

// serveOVSDB starts ovsdb-server, detached, on the database next to sock.
func serveOVSDB(t *testing.T, sock string) {
	t.Helper()
	dir := filepath.Dir(sock)
	run(t, dir, "ovsdb-server", filepath.Join(dir, "conf.db"), "--remote=punix:"+sock, "--pidfile="+pidfileOf(sock),
		"--log-file="+filepath.Join(dir, "ovsdb.log"), "--unixctl="+filepath.Join(dir, "ovsdb.ctl"), "--detach")
}

func pidfileOf(sock string) string { return filepath.Join(filepath.Dir(sock), "ovsdb.pid") }

func run(t *testing.T, rundir, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "OVS_RUNDIR="+rundir, "OVS_DBDIR="+rundir, "OVS_LOGDIR="+rundir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// stopByPidfile sends SIGTERM to the pid in pidfile and waits for it to
// exit; never by process name.
func stopByPidfile(t *testing.T, pidfile string) {
	data, err := os.ReadFile(pidfile)
	if err != nil {
		t.Errorf("read %s: %v", pidfile, err)
		return
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 1 {
		t.Errorf("bad pid file %s: %q", pidfile, data)
		return
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		return
	}
	eventually(t, 5*time.Second, fmt.Sprintf("ovsdb-server pid %d to exit", pid), func() error {
		// A daemonized ovsdb-server's parent is init, which may reap it
		// late: a zombie counts as exited.
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return nil
		}
		if _, rest, ok := strings.Cut(string(stat), ") "); ok && strings.HasPrefix(rest, "Z") {
			return nil
		}
		return errors.New("still running")
	})
}

// vsctl runs ovs-vsctl against sock without waiting for ovs-vswitchd
// (which these tests never start).
func vsctl(sock string, args ...string) (string, error) {
	out, err := exec.Command("ovs-vsctl", append([]string{"--db=unix:" + sock, "--no-wait", "--timeout=5"}, args...)...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("ovs-vsctl %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

// vsctlMesh checks with ovs-vsctl that self's bridge, DPID, controller and
// tunnels towards all other hosts are in place.
// foreign lists ports not owned by ovsmesh expected on the bridge.
func vsctlMesh(sock string, self topo.Host, hosts []topo.Host, foreign ...string) error {
	type check struct{ cmd, want string }
	checks := []check{
		{"get-fail-mode br-mesh", "secure"},
		{"get Bridge br-mesh other_config:datapath-id", self.DPID().String()},
		{"get Bridge br-mesh datapath_type", "netdev"},
		{"get-controller br-mesh", strings.Join(testTargets, "\n")},
		{"--columns=connection_mode list Controller", "out-of-band"},
	}
	var ports []string
	for _, peer := range hosts {
		if peer.Name == self.Name {
			continue
		}
		name := topo.TunnelPortName(peer.Name)
		ports = append(ports, name)
		checks = append(checks,
			check{"get Interface " + name + " type", "vxlan"},
			check{"get Interface " + name + " options", fmt.Sprintf("{key=5001, remote_ip=%s}", peer.TunnelIP)},
			check{"get Port " + name + " external_ids:ovsmesh-peer", peer.Name})
	}
	ports = append(ports, foreign...)
	slices.Sort(ports)
	checks = append(checks, check{"list-ports br-mesh", strings.Join(ports, "\n")})
	// One ovs-vsctl run for all checks ("--" separates commands), so
	// polling stays cheap on a loaded machine.
	var args, want []string
	for _, c := range checks {
		args = append(append(args, strings.Fields(c.cmd)...), "--")
		want = append(want, c.want)
	}
	got, err := vsctl(sock, append([]string{"--bare"}, args[:len(args)-1]...)...)
	if err != nil {
		return err
	}
	// ovs-vsctl quotes strings only when they need it.
	if got = strings.ReplaceAll(got, `"`, ""); got != strings.Join(want, "\n") {
		return fmt.Errorf("ovs-vsctl %s:\n got: %q\nwant: %q", strings.Join(args, " "), got, strings.Join(want, "\n"))
	}
	return nil
}

func TestRealOVSDB(t *testing.T) {
	socks := map[string]string{}
	hosts := []topo.Host{
		testHost("h1", "", "198.18.0.1"),
		testHost("h2", "", "198.18.0.2"),
		testHost("h3", "", "198.18.0.3"),
		// An OVSDB that accepts and never answers: it must not delay the others.
		testHost("dark", blackhole(t), "198.18.0.9"),
	}
	for i := range hosts[:3] {
		socks[hosts[i].Name] = startOVSDBServer(t)
		hosts[i].OVSDB = "unix:" + socks[hosts[i].Name]
	}
	// A foreign port that must survive.
	if _, err := vsctl(socks["h1"], "add-br", "br-mesh", "--", "add-port", "br-mesh", "vm1"); err != nil {
		t.Fatal(err)
	}
	mesh := topo.NewMesh(hosts)
	mgr, err := NewManager(Options{Mesh: testMesh(), Targets: testTargets, Hosts: hosts, Publisher: mesh,
		Logger: slog.New(slog.DiscardHandler), ConnectTimeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})

	start := time.Now()
	foreign := map[string][]string{"h1": {"vm1"}}
	for _, h := range hosts[:3] {
		eventually(t, time.Until(start.Add(5*time.Second)), "bridge, DPID, controller and tunnels on "+h.Name, func() error {
			return vsctlMesh(socks[h.Name], h, hosts, foreign[h.Name]...)
		})
	}
	t.Logf("full mesh on 3 hosts after %v, with one host unreachable", time.Since(start))
	if st := mesh.OVSDBState("dark"); st.Connected {
		t.Errorf("unreachable host reported connected: %+v", st)
	}

	t.Run("hand-deleted tunnel port comes back", func(t *testing.T) {
		port := topo.TunnelPortName("h3")
		if _, err := vsctl(socks["h2"], "del-port", "br-mesh", port); err != nil {
			t.Fatal(err)
		}
		eventually(t, 5*time.Second, port+" back on h2", func() error {
			return vsctlMesh(socks["h2"], hosts[1], hosts)
		})
	})

	t.Run("OFPort is published", func(t *testing.T) {
		// Without ovs-vswitchd nobody assigns ofport; set it by hand.
		if _, err := vsctl(socks["h3"], "set", "Interface", topo.TunnelPortName("h1"), "ofport=11"); err != nil {
			t.Fatal(err)
		}
		eventually(t, 5*time.Second, "TunnelOFPort(h3, h1) = 11", func() error {
			if p, ok := mesh.TunnelOFPort("h3", "h1"); !ok || p != 11 {
				return fmt.Errorf("got %d, %v", p, ok)
			}
			return nil
		})
	})

	t.Run("server restart: reported down, then reconnected and repaired", func(t *testing.T) {
		sock := socks["h3"]
		stopByPidfile(t, pidfileOf(sock))
		eventually(t, 5*time.Second, "h3 reported disconnected", func() error {
			if st := mesh.OVSDBState("h3"); st.Connected || st.LastError == "" {
				return fmt.Errorf("state %+v", st)
			}
			return nil
		})
		serveOVSDB(t, sock)
		if _, err := vsctl(sock, "del-port", "br-mesh", topo.TunnelPortName("h2")); err != nil {
			t.Fatal(err)
		}
		eventually(t, 5*time.Second, "h3 reconnected", func() error {
			if st := mesh.OVSDBState("h3"); !st.Connected {
				return fmt.Errorf("state %+v", st)
			}
			return nil
		})
		eventually(t, 5*time.Second, "mesh on h3 repaired after restart", func() error {
			return vsctlMesh(sock, hosts[2], hosts)
		})
	})

	t.Run("foreign port untouched", func(t *testing.T) {
		if err := vsctlMesh(socks["h1"], hosts[0], hosts, "vm1"); err != nil {
			t.Error(err)
		}
	})
}
