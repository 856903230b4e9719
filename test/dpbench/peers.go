//go:build linux

package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
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
