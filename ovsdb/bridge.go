package ovsdb

import (
	"context"
	"errors"
	"fmt"
	"slices"

	libovsdb "github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/ovsdb/vswitchd"
)

// ErrNoRoot is returned when the database has no Open_vSwitch row, which
// "ovs-vsctl init" (or the OVS start-up scripts) create.
var ErrNoRoot = errors.New("database has no Open_vSwitch row (run ovs-vsctl --no-wait init)")

// Bridge is the desired state of the mesh bridge on one host. Beyond these
// fields ovsmesh always wants fail_mode=secure and OpenFlow13 among the
// bridge's protocols (other protocols already listed are kept).
type Bridge struct {
	// Name is the bridge name, at most 15 bytes.
	Name string
	// DatapathType is "system" (kernel datapath) or "netdev" (userspace).
	DatapathType string
	// DPID is the datapath ID pinned through other_config:datapath-id.
	DPID flows.DPID
	// Controllers are the OpenFlow controller targets (tcp:IP:PORT); the
	// bridge's Controller rows are made to match them exactly, each with
	// connection_mode=out-of-band.
	Controllers []string
	// PacketInRate and PacketInBurst are written into every Controller
	// row as controller_rate_limit (packets/s, at least 100) and
	// controller_burst_limit (packets, at least 25): the switch itself
	// queues and drops packet-ins beyond them, fairly across ports. 0
	// leaves the columns empty (no limit).
	PacketInRate, PacketInBurst int
}

// EnsureBridge makes the bridge match b in one transaction: it creates the
// bridge (with its local internal port) when missing and adopts it when
// present, fixing datapath_type, protocols, fail_mode, the pinned DPID and
// the Controller rows. It reports whether anything was written. Errors
// wrap ErrNoRoot or ErrTransact.
func (c *Conn) EnsureBridge(ctx context.Context, b Bridge) (changed bool, err error) {
	return c.ensureBridge(ctx, c.snapshot(), b)
}

// ensureBridge is EnsureBridge against snapshot s.
func (c *Conn) ensureBridge(ctx context.Context, s *snapshot, b Bridge) (changed bool, err error) {
	if s.root == nil {
		return false, fmt.Errorf("ensure bridge %s: %w", b.Name, ErrNoRoot)
	}
	var ops []libovsdb.Operation
	if br, ok := s.bridges[b.Name]; ok {
		ops = adoptBridgeOps(s, br, b)
	} else {
		ops = createBridgeOps(s, b)
	}
	if len(ops) == 0 {
		return false, nil
	}
	if err := c.transact(ctx, "ensure bridge "+b.Name, ops); err != nil {
		return false, err
	}
	return true, nil
}

// createBridgeOps inserts the bridge with its local internal port and
// Controller rows, and links it from the Open_vSwitch row, as
// "ovs-vsctl add-br" does.
func createBridgeOps(s *snapshot, b Bridge) []libovsdb.Operation {
	ops := []libovsdb.Operation{
		insertOp(vswitchd.InterfaceTable, "local_iface", libovsdb.Row{"name": b.Name, "type": "internal"}),
		insertOp(vswitchd.PortTable, "local_port", libovsdb.Row{"name": b.Name, "interfaces": uuidSet("local_iface")}),
	}
	var ctls []string
	for i, target := range b.Controllers {
		id := fmt.Sprintf("ctl%d", i)
		ops = append(ops, insertOp(vswitchd.ControllerTable, id, controllerRow(target, b)))
		ctls = append(ctls, id)
	}
	ops = append(ops,
		insertOp(vswitchd.BridgeTable, "mesh_bridge", libovsdb.Row{
			"name":          b.Name,
			"datapath_type": b.DatapathType,
			"protocols":     stringSet(vswitchd.BridgeProtocolsOpenflow13),
			"fail_mode":     stringSet(vswitchd.BridgeFailModeSecure),
			"other_config":  stringMap(map[string]string{"datapath-id": b.DPID.String()}),
			"external_ids":  stringMap(map[string]string{OwnerKey: OwnerValue}),
			"ports":         uuidSet("local_port"),
			"controller":    uuidSet(ctls...),
		}),
		mutateOp(vswitchd.OpenvSwitchTable, whereUUID(s.root.UUID), "bridges", libovsdb.MutateOperationInsert, uuidSet("mesh_bridge")),
	)
	return ops
}

func controllerRow(target string, b Bridge) libovsdb.Row {
	row := limitsRow(b)
	row["target"] = target
	row["connection_mode"] = stringSet(vswitchd.ControllerConnectionModeOutOfBand)
	return row
}

// limitsRow holds the Controller columns that bound packet-ins.
func limitsRow(b Bridge) libovsdb.Row {
	return libovsdb.Row{"controller_rate_limit": intSet(b.PacketInRate), "controller_burst_limit": intSet(b.PacketInBurst)}
}

// intSet is an optional integer column: empty for 0.
func intSet(v int) libovsdb.OvsSet {
	if v == 0 {
		return libovsdb.OvsSet{GoSet: []any{}}
	}
	return libovsdb.OvsSet{GoSet: []any{v}}
}

// optEqual reports whether an optional integer column holds v (nil for 0).
func optEqual(p *int, v int) bool {
	if p == nil {
		return v == 0
	}
	return *p == v
}

// adoptBridgeOps returns the operations that fix an existing bridge's
// drift from b; none when it already matches.
func adoptBridgeOps(s *snapshot, br *vswitchd.Bridge, b Bridge) []libovsdb.Operation {
	where := whereUUID(br.UUID)
	row := libovsdb.Row{}
	if br.DatapathType != b.DatapathType {
		row["datapath_type"] = b.DatapathType
	}
	if !slices.Contains(br.Protocols, vswitchd.BridgeProtocolsOpenflow13) {
		row["protocols"] = stringSet(append(slices.Clone(br.Protocols), vswitchd.BridgeProtocolsOpenflow13)...)
	}
	if br.FailMode == nil || *br.FailMode != vswitchd.BridgeFailModeSecure {
		row["fail_mode"] = stringSet(vswitchd.BridgeFailModeSecure)
	}
	var ops []libovsdb.Operation
	ctlOps, ctlSet, ctlChanged := controllerOps(s, br, b)
	ops = append(ops, ctlOps...)
	if ctlChanged {
		row["controller"] = uuidSet(ctlSet...)
	}
	if len(row) > 0 {
		ops = append(ops, updateOp(vswitchd.BridgeTable, where, row))
	}
	ops = append(ops, setMapKeysOps(vswitchd.BridgeTable, where, "other_config", br.OtherConfig,
		map[string]string{"datapath-id": b.DPID.String()})...)
	return ops
}

// controllerOps matches the bridge's Controller rows against targets. It
// keeps one row per wanted target (fixing its connection_mode), inserts
// rows for missing targets, and deletes dropped rows no other bridge
// references. It returns those operations, the new value of the bridge's
// controller column, and whether that column changes.
func controllerOps(s *snapshot, br *vswitchd.Bridge, b Bridge) ([]libovsdb.Operation, []string, bool) {
	targets := b.Controllers
	var ops []libovsdb.Operation
	var set []string
	kept := map[string]bool{}
	for _, id := range br.Controller {
		ctl, ok := s.controllers[id]
		if !ok || kept[ctl.Target] || !slices.Contains(targets, ctl.Target) {
			if ok && !referencedElsewhere(s, br.UUID, id) {
				ops = append(ops, deleteOp(vswitchd.ControllerTable, id))
			}
			continue
		}
		kept[ctl.Target] = true
		set = append(set, id)
		if ctl.ConnectionMode == nil || *ctl.ConnectionMode != vswitchd.ControllerConnectionModeOutOfBand {
			ops = append(ops, updateOp(vswitchd.ControllerTable, whereUUID(id),
				libovsdb.Row{"connection_mode": stringSet(vswitchd.ControllerConnectionModeOutOfBand)}))
		}
		if !optEqual(ctl.ControllerRateLimit, b.PacketInRate) || !optEqual(ctl.ControllerBurstLimit, b.PacketInBurst) {
			ops = append(ops, updateOp(vswitchd.ControllerTable, whereUUID(id), limitsRow(b)))
		}
	}
	var inserts []libovsdb.Operation
	for i, target := range targets {
		if kept[target] {
			continue
		}
		kept[target] = true
		id := fmt.Sprintf("ctl%d", i)
		inserts = append(inserts, insertOp(vswitchd.ControllerTable, id, controllerRow(target, b)))
		set = append(set, id)
	}
	changed := len(inserts) > 0 || len(set) != len(br.Controller)
	// Inserts go first so the bridge update can name them; deletes of
	// dropped rows are checked for references only at commit.
	return append(inserts, ops...), set, changed
}

// referencedElsewhere reports whether a bridge other than self references
// Controller row id.
func referencedElsewhere(s *snapshot, self, id string) bool {
	for bid, b := range s.bridgeByID {
		if bid != self && slices.Contains(b.Controller, id) {
			return true
		}
	}
	return false
}
