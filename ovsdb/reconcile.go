package ovsdb

import (
	"context"
	"errors"
	"maps"
	"slices"

	"github.com/ovsmesh/ovsmesh/topo"
)

// reconcile runs one pass over the host against one snapshot of its
// replica: the bridge, then all tunnel ports in one transaction (one per
// peer created or fixed, owned ports of departed peers removed), then the
// app ports in another, then publishing. A pass that finds nothing to
// change writes nothing, so the passes that monitor updates trigger cost
// O(ports) map lookups. Failed steps are joined into the returned error
// and retried by the caller.
func (w *worker) reconcile(ctx context.Context, conn *Conn) error {
	hosts, gen, appGen := w.m.desired()
	self, ok := findHost(hosts, w.host.Name)
	if !ok {
		return nil // departed; Reload is stopping this worker
	}
	if gen != w.gen || appGen != w.appGen {
		// New host list: converge afresh and republish every OFPort, since
		// topo.Mesh drops the tunnels of hosts that leave. New app ports:
		// converge afresh, so adding them is not counted as repairs.
		if gen != w.gen {
			clear(w.published)
		}
		w.gen, w.appGen, w.state.Converged = gen, appGen, false
		w.setState(w.state.Connected, w.state.LastError)
	}
	defer w.m.metrics.passes.WithLabelValues(w.host.Name).Inc()
	o := w.m.opts
	bridge := Bridge{Name: o.Mesh.Bridge, DatapathType: o.Mesh.DatapathType, DPID: self.DPID(), Controllers: hostTargets(o.Targets, self),
		PacketInRate: o.PacketInRate, PacketInBurst: o.PacketInBurst}
	s := conn.snapshot()
	tctx, cancel := context.WithTimeout(ctx, o.TransactTimeout)
	defer cancel()
	if err := w.ensureSSL(tctx, conn, s, self); err != nil {
		return err
	}

	changed, err := conn.ensureBridge(tctx, s, bridge)
	w.countErr(err)
	if err != nil {
		return err
	}
	if changed {
		w.noteWrite("bridge " + bridge.Name)
		// The monitor update for the bridge wakes the next pass, which then
		// sees the bridge in the replica.
		w.publish(s, hosts)
		return nil
	}

	want := make([]TunnelPort, 0, len(hosts))
	for _, peer := range hosts {
		if peer.Name == self.Name {
			continue
		}
		want = append(want, TunnelPort{Name: topo.TunnelPortName(peer.Name), Peer: peer.Name, Type: o.Mesh.Tunnel,
			RemoteIP: peer.TunnelIP, Key: o.Mesh.Key})
	}
	res, err := conn.syncTunnelPorts(tctx, s, bridge.Name, want)
	w.countErr(err)
	if len(res.Removed) > 0 {
		w.log.Info("removed tunnel ports of departed peers", "ports", res.Removed)
	}
	if res.Changed() {
		w.noteWrite("tunnel ports: " + res.String())
	}
	w.publish(s, hosts)
	appChanged, appErr := w.syncAppPorts(tctx, conn, s, bridge.Name)
	w.countErr(appErr)
	if err = errors.Join(err, appErr); err != nil {
		return err
	}
	if !res.Changed() && !appChanged && !w.state.Converged {
		w.state.Converged = true
		w.setState(true, w.state.LastError)
	}
	return nil
}

// countErr counts a failed transaction in err, if any.
func (w *worker) countErr(err error) {
	if errors.Is(err, ErrTransact) {
		w.m.metrics.transactErrors.WithLabelValues(w.host.Name).Inc()
	}
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

// publish reports every peer's tunnel OFPort that changed and warns about
// interfaces whose MTU exceeds the overlay MTU.
func (w *worker) publish(s *snapshot, hosts []topo.Host) {
	ofports := map[string]int32{}
	for _, t := range tunnelPorts(s, w.m.opts.Mesh.Bridge) {
		if t.Name == topo.TunnelPortName(t.Peer) {
			ofports[t.Peer] = t.OFPort
		}
	}
	changed := map[string]int32{}
	for _, peer := range hosts {
		if peer.Name == w.host.Name {
			continue
		}
		p := max(ofports[peer.Name], 0)
		if old, ok := w.published[peer.Name]; ok && old == p {
			continue
		}
		w.published[peer.Name] = p
		changed[peer.Name] = p
	}
	if pub := w.m.opts.Publisher; pub != nil && len(changed) > 0 {
		if bp, ok := pub.(BatchPublisher); ok {
			bp.SetTunnelOFPorts(w.host.Name, changed)
		} else {
			for _, peer := range slices.Sorted(maps.Keys(changed)) {
				pub.SetTunnelOFPort(w.host.Name, peer, changed[peer])
			}
		}
	}
	w.checkMTU(s)
	w.publishInterfaces(s)
}

// checkMTU warns once per interface and MTU value when a non-tunnel
// interface on the mesh bridge (a guest's, an app's) has an MTU above
// the overlay MTU: frames that large from it are lost silently inside
// the tunnel. The bridge's own local interface is skipped.
func (w *worker) checkMTU(s *snapshot) {
	limit := w.m.OverlayMTU()
	for _, i := range bridgeInterfaces(s, w.m.opts.Mesh.Bridge) {
		if i.tunnel || i.name == w.m.opts.Mesh.Bridge || i.mtu <= limit {
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
