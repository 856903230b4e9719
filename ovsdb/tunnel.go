package ovsdb

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	libovsdb "github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/ovsmesh/ovsmesh/ovsdb/vswitchd"
)

// Ownership marks in external_ids. A Port (and its Interface) is owned by
// ovsmesh when external_ids:ovsmesh-owner=ovsmesh; only owned ports are
// ever modified or removed.
const (
	// OwnerKey is the external_ids key marking ovsmesh's rows.
	OwnerKey = "ovsmesh-owner"
	// OwnerValue is OwnerKey's value on rows ovsmesh owns.
	OwnerValue = "ovsmesh"
	// PeerKey is the external_ids key naming the peer host a tunnel port
	// points at.
	PeerKey = "ovsmesh-peer"
)

// ErrNotOwned is returned when a port with the wanted name exists but is
// not owned by ovsmesh; ovsmesh leaves it alone.
var ErrNotOwned = errors.New("port exists and is not owned by ovsmesh")

// ErrNoBridge is returned when a tunnel port is ensured on a bridge that
// does not exist.
var ErrNoBridge = errors.New("bridge does not exist")

// TunnelPort is the desired state of one tunnel port (a Port with a single
// Interface of the same name).
type TunnelPort struct {
	// Name is the port and interface name, topo.TunnelPortName(Peer).
	Name string
	// Peer is the name of the host the tunnel points at, stored in
	// external_ids:ovsmesh-peer.
	Peer string
	// Type is the Interface type: "vxlan" or "gre".
	Type string
	// RemoteIP is the peer's underlay IPv4 address (options:remote_ip).
	RemoteIP netip.Addr
	// Key is the VXLAN VNI (24 bits) or GRE key (32 bits), options:key.
	Key uint32
	// OFPort is the OpenFlow port number OVS assigned (Interface.ofport);
	// 0 when not assigned yet, -1 when OVS failed to create the interface.
	// Ignored by EnsureTunnelPort.
	OFPort int32
}

func (t TunnelPort) options() map[string]string {
	return map[string]string{"remote_ip": t.RemoteIP.String(), "key": strconv.FormatUint(uint64(t.Key), 10)}
}

func (t TunnelPort) externalIDs() map[string]string {
	return map[string]string{OwnerKey: OwnerValue, PeerKey: t.Peer}
}

func owned(ids map[string]string) bool { return ids[OwnerKey] == OwnerValue }

// isTunnel reports whether p is one of ovsmesh's tunnel ports: owned and
// not an app port.
func isTunnel(p *vswitchd.Port) bool { return owned(p.ExternalIDs) && p.ExternalIDs[AppKey] == "" }

// EnsureTunnelPort makes an owned tunnel port on bridge match t in one
// transaction: it creates the port when missing, fixes the type, options
// and ownership marks in place, and recreates it when its interfaces were
// replaced. It reports whether anything was written. Errors wrap
// ErrNoBridge, ErrNotOwned or ErrTransact.
func (c *Conn) EnsureTunnelPort(ctx context.Context, bridge string, t TunnelPort) (changed bool, err error) {
	s := c.snapshot()
	br, ok := s.bridges[bridge]
	if !ok {
		return false, fmt.Errorf("ensure tunnel port %s: bridge %s: %w", t.Name, bridge, ErrNoBridge)
	}
	ops, _, err := tunnelPortOps(s, br, t, 0)
	if err != nil || len(ops) == 0 {
		return false, err
	}
	if err := c.transact(ctx, "ensure tunnel port "+t.Name, ops); err != nil {
		return false, err
	}
	return true, nil
}

// tunnelPortOps returns the operations that make t exist on br as an
// owned port, and whether they create it (rather than fix it in place).
// seq makes the operations' uuid-names unique within a transaction that
// ensures several ports. A port named t.Name that ovsmesh does not own is
// reported with ErrNotOwned.
func tunnelPortOps(s *snapshot, br *vswitchd.Bridge, t TunnelPort, seq int) (ops []libovsdb.Operation, create bool, err error) {
	port, exists := s.portByName[t.Name]
	switch {
	case !exists:
		return insertTunnelOps(br.Name, t, seq), true, nil
	case !owned(port.ExternalIDs):
		return nil, false, fmt.Errorf("ensure tunnel port %s: %w", t.Name, ErrNotOwned)
	}
	return fixTunnelOps(s, br, port, t, seq), false, nil
}

func insertTunnelOps(bridge string, t TunnelPort, seq int) []libovsdb.Operation {
	iface, port := fmt.Sprintf("tun_iface%d", seq), fmt.Sprintf("tun_port%d", seq)
	return []libovsdb.Operation{
		insertOp(vswitchd.InterfaceTable, iface, libovsdb.Row{
			"name": t.Name, "type": t.Type, "options": stringMap(t.options()), "external_ids": stringMap(t.externalIDs()),
		}),
		insertOp(vswitchd.PortTable, port, libovsdb.Row{
			"name": t.Name, "interfaces": uuidSet(iface), "external_ids": stringMap(t.externalIDs()),
		}),
		mutateOp(vswitchd.BridgeTable, whereName(bridge), "ports", libovsdb.MutateOperationInsert, uuidSet(port)),
	}
}

// fixTunnelOps repairs an owned port in place, or removes and recreates it
// when its interface list is not exactly the interface of the same name.
func fixTunnelOps(s *snapshot, br *vswitchd.Bridge, port *vswitchd.Port, t TunnelPort, seq int) []libovsdb.Operation {
	bridge := br.Name
	if len(port.Interfaces) != 1 {
		return append(removePortOps(s, port), insertTunnelOps(bridge, t, seq)...)
	}
	iface, ok := s.ifaces[port.Interfaces[0]]
	if !ok {
		// The monitor has not delivered the interface yet (OVSDB's
		// referential integrity guarantees it exists): wait for it.
		return nil
	}
	if iface.Name != t.Name {
		return append(removePortOps(s, port), insertTunnelOps(bridge, t, seq)...)
	}
	var ops []libovsdb.Operation
	for id, other := range s.bridgeByID {
		if id != br.UUID && slices.Contains(other.Ports, port.UUID) {
			ops = append(ops, mutateOp(vswitchd.BridgeTable, whereUUID(id), "ports", libovsdb.MutateOperationDelete, uuidSet(port.UUID)))
		}
	}
	if !slices.Contains(br.Ports, port.UUID) {
		ops = append(ops, mutateOp(vswitchd.BridgeTable, whereUUID(br.UUID), "ports", libovsdb.MutateOperationInsert, uuidSet(port.UUID)))
	}
	row := libovsdb.Row{}
	if iface.Type != t.Type {
		row["type"] = t.Type
	}
	if !maps.Equal(iface.Options, t.options()) {
		row["options"] = stringMap(t.options())
	}
	if len(row) > 0 {
		ops = append(ops, updateOp(vswitchd.InterfaceTable, whereUUID(iface.UUID), row))
	}
	ops = append(ops, setMapKeysOps(vswitchd.InterfaceTable, whereUUID(iface.UUID), "external_ids", iface.ExternalIDs, t.externalIDs())...)
	ops = append(ops, setMapKeysOps(vswitchd.PortTable, whereUUID(port.UUID), "external_ids", port.ExternalIDs, t.externalIDs())...)
	return ops
}

// removePortOps unlinks port from every bridge and deletes it and its
// interfaces.
func removePortOps(s *snapshot, port *vswitchd.Port) []libovsdb.Operation {
	var ops []libovsdb.Operation
	for id, b := range s.bridgeByID {
		if slices.Contains(b.Ports, port.UUID) {
			ops = append(ops, mutateOp(vswitchd.BridgeTable, whereUUID(id), "ports", libovsdb.MutateOperationDelete, uuidSet(port.UUID)))
		}
	}
	ops = append(ops, deleteOp(vswitchd.PortTable, port.UUID))
	for _, id := range port.Interfaces {
		ops = append(ops, deleteOp(vswitchd.InterfaceTable, id))
	}
	return ops
}

// RemoveTunnelPort removes the owned port name (and its interface) in one
// transaction. A missing port is not an error; a port ovsmesh does not own
// is left alone and reported with ErrNotOwned. It reports whether anything
// was written.
func (c *Conn) RemoveTunnelPort(ctx context.Context, name string) (changed bool, err error) {
	s := c.snapshot()
	port, ok := s.portByName[name]
	if !ok {
		return false, nil
	}
	if !owned(port.ExternalIDs) {
		return false, fmt.Errorf("remove tunnel port %s: %w", name, ErrNotOwned)
	}
	if err := c.transact(ctx, "remove tunnel port "+name, removePortOps(s, port)); err != nil {
		return false, err
	}
	return true, nil
}

// TunnelPorts returns the ovsmesh-owned ports on bridge that are not app
// ports (see AppKey) as the monitor last saw them, sorted by name, with
// their OFPort; nil when the bridge does not exist.
func (c *Conn) TunnelPorts(bridge string) []TunnelPort {
	return tunnelPorts(c.snapshot(), bridge)
}

// tunnelPorts is TunnelPorts on a snapshot.
func tunnelPorts(s *snapshot, bridge string) []TunnelPort {
	br, ok := s.bridges[bridge]
	if !ok {
		return nil
	}
	var out []TunnelPort
	for _, id := range br.Ports {
		p, ok := s.ports[id]
		if !ok || !isTunnel(p) {
			continue
		}
		t := TunnelPort{Name: p.Name, Peer: p.ExternalIDs[PeerKey]}
		if i, ok := s.ifaceByName[p.Name]; ok && slices.Contains(p.Interfaces, i.UUID) {
			t.Type = i.Type
			t.RemoteIP, _ = netip.ParseAddr(i.Options["remote_ip"])
			if k, err := strconv.ParseUint(i.Options["key"], 10, 32); err == nil {
				t.Key = uint32(k)
			}
			if i.Ofport != nil {
				t.OFPort = int32(*i.Ofport)
			}
		}
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b TunnelPort) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// ifaceInfo is what the MTU check needs of one interface.
type ifaceInfo struct {
	name   string
	mtu    int  // bytes; 0 when OVS has not reported it
	tunnel bool // an interface of one of ovsmesh's tunnel ports
}

// bridgeInterfaces lists the interfaces of every port on bridge.
func bridgeInterfaces(s *snapshot, bridge string) []ifaceInfo {
	br, ok := s.bridges[bridge]
	if !ok {
		return nil
	}
	var out []ifaceInfo
	for _, pid := range br.Ports {
		p, ok := s.ports[pid]
		if !ok {
			continue
		}
		for _, iid := range p.Interfaces {
			i, ok := s.ifaces[iid]
			if !ok {
				continue
			}
			info := ifaceInfo{name: i.Name, tunnel: isTunnel(p)}
			if i.MTU != nil {
				info.mtu = *i.MTU
			}
			out = append(out, info)
		}
	}
	return out
}
