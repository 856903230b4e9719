package ovsdb

import (
	"context"
	"errors"
	"fmt"
	"strings"

	libovsdb "github.com/ovn-kubernetes/libovsdb/ovsdb"
)

// SyncResult says what one SyncTunnelPorts call committed, by port name.
type SyncResult struct {
	// Created are ports that were inserted (missing, or recreated because
	// their interfaces had been replaced).
	Created []string
	// Fixed are existing owned ports whose type, options, ownership marks
	// or bridge membership were corrected in place.
	Fixed []string
	// Removed are owned ports that want does not name.
	Removed []string
}

// Changed reports whether anything was written.
func (r SyncResult) Changed() bool { return len(r.Created)+len(r.Fixed)+len(r.Removed) > 0 }

// portChange is the operations for one port in a sync.
type portChange struct {
	name string
	ops  []libovsdb.Operation
	list *[]string // where the name goes in SyncResult once committed
}

// SyncTunnelPorts makes the ovsmesh-owned ports on bridge exactly want:
// missing ports are created, drifted ones fixed in place (as
// EnsureTunnelPort does), and owned ports on the bridge that want does not
// name are removed. All of it is one transaction, so a host's whole mesh
// costs one round trip and one ovs-vswitchd reconfiguration however many
// peers it has; nothing is written when everything matches. If that
// transaction fails and it changed more than one port, each port's
// operations are retried as a transaction of its own, so one bad port
// cannot hold back the others.
//
// The result lists what was committed, also alongside an error. Errors
// are joined: ErrNoBridge, ErrNotOwned for each wanted name held by a port
// ovsmesh does not own (that port is left alone), and ErrTransact.
func (c *Conn) SyncTunnelPorts(ctx context.Context, bridge string, want []TunnelPort) (SyncResult, error) {
	return c.syncTunnelPorts(ctx, c.snapshot(), bridge, want)
}

// syncTunnelPorts is SyncTunnelPorts against snapshot s.
func (c *Conn) syncTunnelPorts(ctx context.Context, s *snapshot, bridge string, want []TunnelPort) (SyncResult, error) {
	var res SyncResult
	br, ok := s.bridges[bridge]
	if !ok {
		return res, fmt.Errorf("sync tunnel ports: bridge %s: %w", bridge, ErrNoBridge)
	}
	var changes []portChange
	var errs []error
	wanted := make(map[string]bool, len(want))
	for i, t := range want {
		wanted[t.Name] = true
		ops, create, err := tunnelPortOps(s, br, t, i)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if len(ops) == 0 {
			continue
		}
		list := &res.Fixed
		if create {
			list = &res.Created
		}
		changes = append(changes, portChange{name: t.Name, ops: ops, list: list})
	}
	for _, have := range tunnelPorts(s, bridge) {
		if wanted[have.Name] {
			continue
		}
		changes = append(changes, portChange{name: have.Name, ops: removePortOps(s, s.portByName[have.Name]), list: &res.Removed})
	}
	errs = append(errs, c.commit(ctx, fmt.Sprintf("sync %d tunnel ports on %s", len(changes), bridge), changes))
	return res, errors.Join(errs...)
}

// commit runs changes as one transaction and, once committed, appends
// each change's name to its list. If that transaction fails and there is
// more than one change, each change is retried as a transaction of its
// own, so one bad port cannot hold back the others. It returns the
// joined errors of what failed.
func (c *Conn) commit(ctx context.Context, what string, changes []portChange) error {
	if len(changes) == 0 {
		return nil
	}
	var all []libovsdb.Operation
	for _, ch := range changes {
		all = append(all, ch.ops...)
	}
	err := c.transact(ctx, what, all)
	if err == nil {
		for _, ch := range changes {
			*ch.list = append(*ch.list, ch.name)
		}
		return nil
	}
	if len(changes) == 1 || ctx.Err() != nil {
		return err
	}
	var errs []error
	for _, ch := range changes {
		if perr := c.transact(ctx, "sync port "+ch.name, ch.ops); perr != nil {
			errs = append(errs, perr)
			continue
		}
		*ch.list = append(*ch.list, ch.name)
	}
	return errors.Join(errs...)
}

// String lists the changes for logs, e.g. "created [om-h2] removed [om-h9]".
func (r SyncResult) String() string {
	var parts []string
	for _, p := range []struct {
		what  string
		names []string
	}{{"created", r.Created}, {"fixed", r.Fixed}, {"removed", r.Removed}} {
		if len(p.names) > 0 {
			parts = append(parts, fmt.Sprintf("%s %v", p.what, p.names))
		}
	}
	if len(parts) == 0 {
		return "no changes"
	}
	return strings.Join(parts, " ")
}
