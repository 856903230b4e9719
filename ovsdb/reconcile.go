package ovsdb

import (
	"context"
	"errors"

	"github.com/ovsmesh/ovsmesh/topo"
)

// reconcile runs one pass over the host: bridge, then one tunnel port per
// peer, then removal of owned ports of departed peers, then publishing.
// Each step is its own transaction; failed steps are joined into the
// returned error and retried by the caller.
func (w *worker) reconcile(ctx context.Context, conn *Conn) error {
	hosts, gen := w.m.desired()
	if gen != w.gen {
		// New host list: converge afresh and republish every OFPort, since
		// topo.Mesh drops the tunnels of hosts that leave.
		w.gen, w.state.Converged = gen, false
		clear(w.published)
	}
	self, ok := findHost(hosts, w.host.Name)
	if !ok {
		return nil // departed; Reload is stopping this worker
	}
	o := w.m.opts
	bridge := Bridge{Name: o.Mesh.Bridge, DatapathType: o.Mesh.DatapathType, DPID: self.DPID(), Controllers: o.Targets,
		PacketInRate: o.PacketInRate, PacketInBurst: o.PacketInBurst}
	wrote := 0
	step := func(what string, f func(context.Context) (bool, error)) error {
		tctx, cancel := context.WithTimeout(ctx, o.TransactTimeout)
		defer cancel()
		changed, err := f(tctx)
		if errors.Is(err, ErrTransact) {
			w.m.metrics.transactErrors.WithLabelValues(w.host.Name).Inc()
		}
		if changed {
			wrote++
			w.noteWrite(what)
		}
		return err
	}

	if err := step("bridge "+bridge.Name, func(ctx context.Context) (bool, error) {
		return conn.EnsureBridge(ctx, bridge)
	}); err != nil {
		return err
	}
	if wrote > 0 {
		// The monitor update for the bridge wakes the next pass, which then
		// sees the bridge in the replica.
		w.publish(conn, hosts)
		return nil
	}

	var errs []error
	want := map[string]bool{}
	for _, peer := range hosts {
		if peer.Name == self.Name {
			continue
		}
		t := TunnelPort{Name: topo.TunnelPortName(peer.Name), Peer: peer.Name, Type: o.Mesh.Tunnel,
			RemoteIP: peer.TunnelIP, Key: o.Mesh.Key}
		want[t.Name] = true
		errs = append(errs, step("tunnel port "+t.Name, func(ctx context.Context) (bool, error) {
			return conn.EnsureTunnelPort(ctx, bridge.Name, t)
		}))
	}
	for _, have := range conn.TunnelPorts(bridge.Name) {
		if want[have.Name] {
			continue
		}
		w.log.Info("removing tunnel port of departed peer", "port", have.Name, "peer", have.Peer)
		errs = append(errs, step("remove tunnel port "+have.Name, func(ctx context.Context) (bool, error) {
			return conn.RemoveTunnelPort(ctx, have.Name)
		}))
	}
	w.publish(conn, hosts)
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if wrote == 0 && !w.state.Converged {
		w.state.Converged = true
		w.setState(true, w.state.LastError)
	}
	return nil
}

// noteWrite counts a committed transaction as a repair when the host had
// already converged on the current configuration.
func (w *worker) noteWrite(what string) {
	if !w.state.Converged {
		w.log.Debug("converging", "step", what)
		return
	}
	w.m.metrics.repairs.WithLabelValues(w.host.Name).Inc()
	w.state.Repairs++
	w.log.Info("repaired drift", "step", what)
	w.setState(true, w.state.LastError)
}

// publish reports every peer's tunnel OFPort and warns about interfaces
// whose MTU exceeds the overlay MTU.
func (w *worker) publish(conn *Conn, hosts []topo.Host) {
	ofports := map[string]int32{}
	for _, t := range conn.TunnelPorts(w.m.opts.Mesh.Bridge) {
		if t.Name == topo.TunnelPortName(t.Peer) {
			ofports[t.Peer] = t.OFPort
		}
	}
	for _, peer := range hosts {
		if peer.Name == w.host.Name {
			continue
		}
		p := ofports[peer.Name]
		if p <= 0 {
			p = 0
		}
		if old, ok := w.published[peer.Name]; ok && old == p {
			continue
		}
		w.published[peer.Name] = p
		if pub := w.m.opts.Publisher; pub != nil {
			pub.SetTunnelOFPort(w.host.Name, peer.Name, p)
		}
	}
	w.checkMTU(conn)
}

// checkMTU warns once per interface and MTU value when a non-tunnel
// interface on the mesh bridge has an MTU above the overlay MTU: guests
// sending such frames lose them silently inside the tunnel. The bridge's
// own local interface is not a guest port and is skipped.
func (w *worker) checkMTU(conn *Conn) {
	limit := w.m.OverlayMTU()
	for _, i := range conn.bridgeInterfaces(w.m.opts.Mesh.Bridge) {
		if i.owned || i.name == w.m.opts.Mesh.Bridge || i.mtu <= limit {
			continue
		}
		if w.mtuWarned[i.name] == i.mtu {
			continue
		}
		w.mtuWarned[i.name] = i.mtu
		w.log.Warn("interface MTU exceeds the overlay MTU; oversized frames are dropped in the tunnel",
			"interface", i.name, "mtu", i.mtu, "overlay_mtu", limit)
	}
}

func findHost(hosts []topo.Host, name string) (topo.Host, bool) {
	for _, h := range hosts {
		if h.Name == name {
			return h, true
		}
	}
	return topo.Host{}, false
}
