package proxyarp

import (
	"context"
	"net"

	"github.com/ovsmesh/ovsmesh/apps"
	"github.com/ovsmesh/ovsmesh/topo"
)

// Declared is the slice of the declared bindings table (port security's,
// topo.DeclaredTable) the app reads: every binding a port declares is
// treated as a static binding, never learned over and never aged, and
// follows the table as it changes.
type Declared interface {
	Select(keep func(topo.DeclaredBinding) bool) []topo.DeclaredBinding
	Watch(fn func(op topo.ChangeOp, b topo.DeclaredBinding)) (cancel func())
}

// openDeclared opens the declared bindings table in the controller's
// state (nil without state: none are declared).
func openDeclared(env apps.Env) (Declared, error) {
	if env.State == nil {
		return nil, nil
	}
	return topo.OpenDeclaredTable(env.State)
}

// withDeclared returns the static bindings list extended with every
// declared binding; a configured static binding of the same IP wins
// (apps.proxyarp.static is the operator's word for this app), and the
// conflict is logged.
func (a *App) withDeclared(list []Static) []Static {
	if a.opts.Declared == nil {
		return list
	}
	ips := map[string]bool{}
	for _, s := range list {
		ips[s.IP.String()] = true
	}
	out := list
	for _, d := range a.opts.Declared.Select(nil) {
		if ips[d.IP.String()] {
			a.log.Warn("declared binding ignored: apps.proxyarp.static binds the IP", "ip", d.IP, "mac", d.MAC.String(),
				"host", d.Host, "port", d.Port)
			continue
		}
		out = append(out, Static{IP: d.IP, MAC: append(net.HardwareAddr(nil), d.MAC...)})
	}
	return out
}

// followDeclared makes the static bindings follow the declared bindings
// table until ctx ends: each change (a burst costs one pass) re-applies
// the static list, so a newly declared IP replaces any learned binding
// and an undeclared one is dropped. It returns once the watch is set.
func (a *App) followDeclared(ctx context.Context) {
	if a.opts.Declared == nil {
		return
	}
	wake := make(chan struct{}, 1)
	cancel := a.opts.Declared.Watch(func(topo.ChangeOp, topo.DeclaredBinding) {
		select {
		case wake <- struct{}{}:
		default:
		}
	})
	wake <- struct{}{} // changes between New and now
	go func() {
		defer cancel()
		for {
			select {
			case <-ctx.Done():
				return
			case <-wake:
			}
			a.mu.Lock()
			a.setStatic(ctx, a.opts.Static, a.clock.Now())
			a.mu.Unlock()
		}
	}()
}
