package lab

import (
	"context"
	"errors"
	"fmt"
	"syscall"
)

// Exec runs argv inside namespace ns (a host's or guest's NS, or
// UnderlayNS; "" is the root namespace) and returns its stdout. The error
// names the command and carries its stderr; ctx bounds the run.
func (l *Lab) Exec(ctx context.Context, ns string, argv ...string) (string, error) {
	if len(argv) == 0 {
		return "", fmt.Errorf("exec in %q: no command", ns)
	}
	return inNS(ctx, ns, argv...)
}

// VSCtl runs ovs-vsctl --db=unix:<host dir>/db.sock ARGS for host and
// returns its stdout. Without --no-wait, ovs-vsctl waits for ovs-vswitchd
// to apply the change; ctx bounds the wait.
func (l *Lab) VSCtl(ctx context.Context, host string, args ...string) (string, error) {
	h, err := l.Host(host)
	if err != nil {
		return "", err
	}
	return run(ctx, nil, append([]string{"ovs-vsctl", "--db=unix:" + h.DBSocket()}, args...)...)
}

// OFCtl runs ovs-ofctl -O OpenFlow13 ARGS for host, with the host's
// OVS_RUNDIR so bridge names resolve to the host's management sockets.
func (l *Lab) OFCtl(ctx context.Context, host string, args ...string) (string, error) {
	h, err := l.Host(host)
	if err != nil {
		return "", err
	}
	return run(ctx, []string{"OVS_RUNDIR=" + h.Dir}, append([]string{"ovs-ofctl", "-O", "OpenFlow13"}, args...)...)
}

// DumpFlows returns `ovs-ofctl -O OpenFlow13 dump-flows br-int` on host.
func (l *Lab) DumpFlows(ctx context.Context, host string) (string, error) {
	return l.OFCtl(ctx, host, "dump-flows", MeshBridge)
}

// AppCtl runs ovs-appctl -t <host dir>/vswitchd.ctl ARGS on host's
// ovs-vswitchd (for example "dpif/show", "fdb/show br-int",
// "ofproto/trace ...") and returns its stdout.
func (l *Lab) AppCtl(ctx context.Context, host string, args ...string) (string, error) {
	h, err := l.Host(host)
	if err != nil {
		return "", err
	}
	return run(ctx, nil, append([]string{"ovs-appctl", "-t", h.CtlSocket(Vswitchd)}, args...)...)
}

// Kill kills daemon d of host with SIGKILL (a crash, for failure tests)
// and waits for it to exit. Killing a daemon that is not running is not an
// error.
func (l *Lab) Kill(ctx context.Context, host string, d Daemon) error {
	h, err := l.Host(host)
	if err != nil {
		return err
	}
	if err := stopDaemon(ctx, h, d, syscall.SIGKILL); err != nil {
		return err
	}
	return l.update(func(s *state) {
		if i, ok := s.host(host); ok {
			s.Hosts[i].PIDs[d] = 0
		}
	})
}

// Start starts daemon d of host (after Kill, or the first time during Up)
// and waits until it is ready. For ovs-vswitchd that includes br-phy with
// its underlay address, which dies with the daemon's tap device. Starting
// a daemon that runs is an error from the daemon (its pid file is locked).
func (l *Lab) Start(ctx context.Context, host string, d Daemon) error {
	h, err := l.Host(host)
	if err != nil {
		return err
	}
	// Record the start first: if this process dies before it learns the
	// pid, Down waits for the daemon's pid file instead of missing it.
	if err := l.update(func(s *state) {
		if i, ok := s.host(host); ok {
			s.Hosts[i].PIDs[d] = pidStarting
		}
	}); err != nil {
		return err
	}
	pid, err := startDaemon(ctx, h, d)
	if err != nil {
		// The start is over; a daemon that got as far as its pid file
		// is still found there by Down.
		return errors.Join(err, l.update(func(s *state) {
			if i, ok := s.host(host); ok {
				s.Hosts[i].PIDs[d] = 0
			}
		}))
	}
	if err := l.update(func(s *state) {
		if i, ok := s.host(host); ok {
			s.Hosts[i].PIDs[d] = pid
		}
	}); err != nil {
		return err
	}
	if d == Vswitchd {
		if err := l.setupPhy(ctx, h); err != nil {
			return fmt.Errorf("start %s on %s: %w", d, host, err)
		}
	}
	return nil
}

// Restart kills daemon d of host (SIGKILL) and starts it again.
func (l *Lab) Restart(ctx context.Context, host string, d Daemon) error {
	if err := l.Kill(ctx, host, d); err != nil {
		return err
	}
	return l.Start(ctx, host, d)
}
