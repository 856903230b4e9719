package ovsdb

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	libovsdb "github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/ovsmesh/ovsmesh/ovsdb/vswitchd"
	"github.com/ovsmesh/ovsmesh/topo"
)

// AppKey is the external_ids key naming the app that owns a port
// ovsmesh keeps on the mesh bridge for it (the NAT gateway's external
// port, say). Such a port also carries OwnerKey=OwnerValue; it is never
// taken for a tunnel.
const AppKey = "ovsmesh-app"

// AppPortSource says which interfaces apps own on each host's mesh
// bridge; *topo.Mesh satisfies it.
type AppPortSource interface {
	// AppPorts returns the ports apps own on host.
	AppPorts(host string) []topo.AppPort
	// WatchAppPorts calls f whenever the declared ports change, until
	// cancel is called. f must not block.
	WatchAppPorts(f func()) (cancel func())
}

// AppPortPublisher is a Publisher that also takes the status of app
// ports; the Manager finds it by a type assertion on Options.Publisher.
// *topo.Mesh satisfies it.
type AppPortPublisher interface {
	Publisher
	// SetAppPortStatus records the status of the app port name on host.
	SetAppPortStatus(host, name string, st topo.AppPortStatus)
}

// AppPortResult says what one SyncAppPorts call committed, by port name.
type AppPortResult struct {
	// Created are ports inserted (missing, or recreated because their
	// interfaces had been replaced).
	Created []string
	// Adopted are ports an operator had put on the mesh bridge, now
	// marked as ovsmesh's (or moved from one app to another).
	Adopted []string
	// Fixed are owned ports whose interface type or bridge membership
	// was corrected in place.
	Fixed []string
	// Reopened are owned ports taken out of ovs-vswitchd and put back,
	// so that it opens their interface afresh (see Conn.SyncAppPorts).
	Reopened []string
	// Removed are owned app ports no longer declared.
	Removed []string
}

// Changed reports whether anything was written.
func (r AppPortResult) Changed() bool {
	return len(r.Created)+len(r.Adopted)+len(r.Fixed)+len(r.Reopened)+len(r.Removed) > 0
}

// String lists the changes for logs, e.g. "created [ext0] removed [ext1]".
func (r AppPortResult) String() string {
	var parts []string
	for _, p := range []struct {
		what  string
		names []string
	}{{"created", r.Created}, {"adopted", r.Adopted}, {"fixed", r.Fixed}, {"reopened", r.Reopened}, {"removed", r.Removed}} {
		if len(p.names) > 0 {
			parts = append(parts, fmt.Sprintf("%s %v", p.what, p.names))
		}
	}
	if len(parts) == 0 {
		return "no changes"
	}
	return strings.Join(parts, " ")
}

// SyncAppPorts makes the app ports on bridge exactly want (the ports
// apps own on this host; Host is not checked), in one transaction
// (reopens aside, below):
//
//   - a missing port is created as a Port with one Interface of the same
//     name and type "" (a system interface: the Linux netdev of that
//     name where ovs-vswitchd runs), marked with OwnerKey and AppKey;
//   - a port of that name already on the bridge and not marked (made by
//     an operator) is adopted: marked, nothing else changed. One with
//     several interfaces, or whose interface is not a system interface
//     (internal, a tunnel...), is left alone and reported;
//   - a port of that name on another bridge is left alone and reported,
//     unless ovsmesh marked it as this app's, when it is moved back;
//   - an owned port whose interface was replaced or retyped is fixed;
//   - owned app ports on bridge that want does not name are removed.
//
// Ports without the marks are never removed, nor changed but for being
// adopted; tunnel ports are never touched.
//
// reopen names owned ports to take out of ovs-vswitchd and put back, so
// that it opens their interface afresh: ovs-vswitchd matches ports by
// name, so deleting and inserting the rows in one transaction keeps the
// netdev it holds, and a port whose Linux device was deleted and created
// again under the same name stays bound to the dead one (seen on OVS
// 3.1, userspace datapath: ofport kept, no error, no traffic). Each
// reopen is therefore two transactions: the port's rows are deleted and
// Open_vSwitch.next_cfg is incremented; once ovs-vswitchd has applied
// that (cur_cfg reaches it, vswitchd.conf.db(5)), or after reopenWait
// when it does not answer, the rows are inserted again. The other
// ports' changes are committed first.
//
// The result lists what was committed, also alongside an error; the
// status map gives, for each port in want, its state in the replica
// before the call (Since unset), with the reason for ports left alone.
// Errors wrap ErrNoBridge or ErrTransact; a port left alone is not an
// error.
func (c *Conn) SyncAppPorts(ctx context.Context, bridge string, want []topo.AppPort, reopen []string) (AppPortResult, map[string]topo.AppPortStatus, error) {
	return c.syncAppPorts(ctx, c.snapshot(), bridge, want, reopen)
}

// reopenWait bounds how long a reopen waits for ovs-vswitchd to apply
// the deletion before it inserts the rows again.
const reopenWait = 3 * time.Second

// syncAppPorts is SyncAppPorts against snapshot s.
func (c *Conn) syncAppPorts(ctx context.Context, s *snapshot, bridge string, want []topo.AppPort, reopen []string) (AppPortResult, map[string]topo.AppPortStatus, error) {
	var res AppPortResult
	status := make(map[string]topo.AppPortStatus, len(want))
	br, ok := s.bridges[bridge]
	if !ok {
		return res, status, fmt.Errorf("sync app ports: bridge %s: %w", bridge, ErrNoBridge)
	}
	var changes []portChange
	var reopens []topo.AppPort
	wanted := make(map[string]bool, len(want))
	for i, p := range want {
		if err := topo.CheckPortName(p.Name); err != nil || p.Name == bridge {
			msg := fmt.Sprintf("app %s: interface name %q is the mesh bridge's own port", p.App, p.Name)
			if err != nil {
				msg = fmt.Sprintf("app %s: %v", p.App, err)
			}
			status[p.Name] = topo.AppPortStatus{Error: msg}
			continue
		}
		wanted[p.Name] = true
		ch, st, mine := appPortChange(s, br, p, i, &res)
		status[p.Name] = st
		switch {
		case len(ch.ops) > 0:
			changes = append(changes, ch)
		case mine && slices.Contains(reopen, p.Name):
			reopens = append(reopens, p)
		}
	}
	for _, pid := range br.Ports {
		port, ok := s.ports[pid]
		if !ok || !owned(port.ExternalIDs) || port.ExternalIDs[AppKey] == "" || wanted[port.Name] {
			continue
		}
		changes = append(changes, portChange{name: port.Name, ops: removePortOps(s, port), list: &res.Removed})
	}
	errs := []error{c.commit(ctx, fmt.Sprintf("sync %d app ports on %s", len(changes), bridge), changes)}
	for i, p := range reopens {
		if err := c.reopenAppPort(ctx, s, br.Name, p, len(want)+i); err != nil {
			errs = append(errs, err)
			continue
		}
		res.Reopened = append(res.Reopened, p.Name)
	}
	return res, status, errors.Join(errs...)
}

// reopenAppPort deletes owned port p's rows and bumps next_cfg, waits
// (at most reopenWait) until ovs-vswitchd has applied that, then inserts
// the rows again; see SyncAppPorts. seq makes uuid-names unique.
func (c *Conn) reopenAppPort(ctx context.Context, s *snapshot, bridge string, p topo.AppPort, seq int) error {
	port := s.portByName[p.Name]
	if s.root == nil || port == nil {
		return nil
	}
	ops := append(removePortOps(s, port),
		mutateOp(vswitchd.OpenvSwitchTable, whereUUID(s.root.UUID), "next_cfg", libovsdb.MutateOperationAdd, 1),
		libovsdb.Operation{Op: libovsdb.OperationSelect, Table: vswitchd.OpenvSwitchTable, Where: whereUUID(s.root.UUID), Columns: []string{"next_cfg"}})
	res, err := c.transactResults(ctx, "reopen app port "+p.Name+": remove", ops)
	if err != nil {
		return err
	}
	if rows := res[len(res)-1].Rows; len(rows) == 1 {
		if cfg, ok := rows[0]["next_cfg"].(float64); ok {
			c.waitCurCfg(ctx, int(cfg), reopenWait)
		}
	}
	return c.transact(ctx, "reopen app port "+p.Name+": add", insertAppPortOps(bridge, p, seq))
}

// waitCurCfg returns once the replica's Open_vSwitch.cur_cfg is at least
// cfg (ovs-vswitchd has applied the configuration numbered cfg), or after
// limit, or when ctx ends.
func (c *Conn) waitCurCfg(ctx context.Context, cfg int, limit time.Duration) {
	deadline := time.Now().Add(limit)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for time.Now().Before(deadline) {
		if t := c.cache.Table(vswitchd.OpenvSwitchTable); t != nil {
			for _, m := range t.RowsShallow() {
				if m.(*vswitchd.OpenvSwitch).CurCfg >= cfg {
					return
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// appPortChange returns the change that makes p right on br (no
// operations when it is right or left alone), p's status in s, and
// whether p is an owned port on br that is right (one SyncAppPorts may
// reopen). seq makes uuid-names unique within the transaction.
func appPortChange(s *snapshot, br *vswitchd.Bridge, p topo.AppPort, seq int, res *AppPortResult) (portChange, topo.AppPortStatus, bool) {
	port, exists := s.portByName[p.Name]
	if !exists {
		return portChange{name: p.Name, ops: insertAppPortOps(br.Name, p, seq), list: &res.Created}, topo.AppPortStatus{}, false
	}
	mine := owned(port.ExternalIDs) && port.ExternalIDs[AppKey] == p.App
	onBridge := slices.Contains(br.Ports, port.UUID)
	if !onBridge && !mine {
		other := "no bridge"
		for _, b := range s.bridgeByID {
			if slices.Contains(b.Ports, port.UUID) {
				other = "bridge " + b.Name
			}
		}
		return portChange{}, topo.AppPortStatus{Error: fmt.Sprintf("port %s is on %s, not %s: ovsmesh leaves it alone", p.Name, other, br.Name)}, false
	}
	var iface *vswitchd.Interface
	if len(port.Interfaces) == 1 {
		iface = s.ifaces[port.Interfaces[0]]
		if iface == nil {
			// The monitor has not delivered the interface yet: wait for it.
			return portChange{}, topo.AppPortStatus{}, false
		}
	}
	system := iface != nil && iface.Name == p.Name && (iface.Type == "" || iface.Type == "system")
	if !mine {
		if !system {
			return portChange{}, topo.AppPortStatus{Error: fmt.Sprintf("port %s on %s is not a single system interface of that name: ovsmesh leaves it alone", p.Name, br.Name)}, false
		}
		ids := appPortIDs(p)
		ops := setMapKeysOps(vswitchd.PortTable, whereUUID(port.UUID), "external_ids", port.ExternalIDs, ids)
		ops = append(ops, setMapKeysOps(vswitchd.InterfaceTable, whereUUID(iface.UUID), "external_ids", iface.ExternalIDs, ids)...)
		return portChange{name: p.Name, ops: ops, list: &res.Adopted}, ifaceStatus(iface), false
	}
	if iface == nil || iface.Name != p.Name {
		ops := append(removePortOps(s, port), insertAppPortOps(br.Name, p, seq)...)
		return portChange{name: p.Name, ops: ops, list: &res.Created}, topo.AppPortStatus{}, false
	}
	st := ifaceStatus(iface)
	var ops []libovsdb.Operation
	for id, other := range s.bridgeByID {
		if id != br.UUID && slices.Contains(other.Ports, port.UUID) {
			ops = append(ops, mutateOp(vswitchd.BridgeTable, whereUUID(id), "ports", libovsdb.MutateOperationDelete, uuidSet(port.UUID)))
		}
	}
	if !onBridge {
		ops = append(ops, mutateOp(vswitchd.BridgeTable, whereUUID(br.UUID), "ports", libovsdb.MutateOperationInsert, uuidSet(port.UUID)))
	}
	if !system {
		ops = append(ops, updateOp(vswitchd.InterfaceTable, whereUUID(iface.UUID), libovsdb.Row{"type": ""}))
	}
	ops = append(ops, setMapKeysOps(vswitchd.InterfaceTable, whereUUID(iface.UUID), "external_ids", iface.ExternalIDs, appPortIDs(p))...)
	return portChange{name: p.Name, ops: ops, list: &res.Fixed}, st, len(ops) == 0
}

// appPortIDs are the marks of an app port.
func appPortIDs(p topo.AppPort) map[string]string {
	return map[string]string{OwnerKey: OwnerValue, AppKey: p.App}
}

// insertAppPortOps creates p on bridge: a Port with one system Interface
// of the same name, both marked.
func insertAppPortOps(bridge string, p topo.AppPort, seq int) []libovsdb.Operation {
	iface, port := fmt.Sprintf("app_iface%d", seq), fmt.Sprintf("app_port%d", seq)
	ids := stringMap(appPortIDs(p))
	return []libovsdb.Operation{
		insertOp(vswitchd.InterfaceTable, iface, libovsdb.Row{"name": p.Name, "external_ids": ids}),
		insertOp(vswitchd.PortTable, port, libovsdb.Row{"name": p.Name, "interfaces": uuidSet(iface), "external_ids": ids}),
		mutateOp(vswitchd.BridgeTable, whereName(bridge), "ports", libovsdb.MutateOperationInsert, uuidSet(port)),
	}
}

// ifaceStatus is an interface's OFPort and OVS's error as the replica
// holds them. An interface with an OpenFlow port whose Linux device is
// gone (ovs-vswitchd reports ifindex 0 for it, and keeps the port) is
// reported as such.
func ifaceStatus(i *vswitchd.Interface) topo.AppPortStatus {
	var st topo.AppPortStatus
	if i.Ofport != nil {
		st.OFPort = int32(*i.Ofport)
	}
	if i.Error != nil {
		st.Error = *i.Error
	}
	if st.OFPort > 0 && st.Error == "" && i.Ifindex != nil && *i.Ifindex == 0 {
		st.Error = fmt.Sprintf("network device %s is gone (ovs-vswitchd keeps ofport %d; ovsmesh re-adds the port when the device is back)", i.Name, st.OFPort)
	}
	return st
}
