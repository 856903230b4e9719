package portsec

import (
	"context"
	"slices"
	"time"

	"github.com/ovsmesh/ovsmesh/topo"
)

// pollEvery is how often Run polls the port_security flows' counters
// for the metrics.
const pollEvery = 10 * time.Second

// Run implements apps.Runner: it follows what each host's OVSDB
// declares (a changed Interface row rewrites only the flows it touches)
// and polls the drop counters, until ctx ends.
func (a *App) Run(ctx context.Context) {
	cancel := a.opts.Mesh.WatchInterfaces(a.ifacesChanged)
	defer cancel()
	for _, h := range a.opts.Mesh.Hosts() {
		a.ifacesChanged(h.Name) // published before the watch began
	}
	t := time.NewTicker(pollEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.wake:
			a.refresh(ctx)
		case <-t.C:
			a.poll(ctx)
		}
	}
}

// ifacesChanged is the Mesh's watcher. It runs under the Mesh's lock,
// so it only notes the host and wakes Run.
func (a *App) ifacesChanged(host string) {
	a.dirtyMu.Lock()
	a.dirty[host] = true
	a.dirtyMu.Unlock()
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// refresh reads the interfaces of the hosts that changed, keeps them in
// the state (so a restarted controller enforces them before OVSDB
// answers), and applies the change. A host whose OVSDB has not been
// read since start keeps what the state holds.
func (a *App) refresh(ctx context.Context) {
	a.dirtyMu.Lock()
	hosts := a.dirty
	a.dirty = map[string]bool{}
	a.dirtyMu.Unlock()
	if len(hosts) == 0 {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	changed := false
	for h := range hosts {
		list, ok := a.opts.Mesh.Interfaces(h)
		if !ok {
			continue
		}
		if slices.EqualFunc(list, a.ovsdb[h], sameIface) {
			continue
		}
		changed = true
		a.ovsdb[h] = list
		rec := record{Key: ovsdbKey(h), Host: h, OVSDB: []PortDecl{}}
		for _, i := range list {
			if d, ok := ifaceDecl(i); ok {
				rec.OVSDB = append(rec.OVSDB, d.portDecl())
			}
		}
		a.records.Put(rec)
	}
	if changed {
		a.applyLocked(ctx)
	}
}

// sameIface reports whether two interface records declare the same and
// report the same problems.
func sameIface(x, y topo.Iface) bool {
	return x.Host == y.Host && x.Name == y.Name && x.OFPort == y.OFPort && string(x.MAC) == string(y.MAC) &&
		slices.Equal(x.IPs, y.IPs) && x.Disabled == y.Disabled && slices.Equal(x.Problems, y.Problems)
}
