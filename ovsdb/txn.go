package ovsdb

import (
	"context"
	"errors"
	"fmt"

	libovsdb "github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/ovsmesh/ovsmesh/ovsdb/vswitchd"
)

// ErrTransact marks errors of an OVSDB transaction: the RPC failed, or the
// server answered with operation errors (RFC 7047 section 4.1.3). Nothing
// of a failed transaction is committed.
var ErrTransact = errors.New("ovsdb transaction failed")

// transact runs ops as one transaction (RFC 7047 section 4.1.3) and checks
// every operation result. All errors are joined and wrapped with
// ErrTransact; on error nothing was committed.
func (c *Conn) transact(ctx context.Context, what string, ops []libovsdb.Operation) error {
	if len(ops) == 0 {
		return nil
	}
	res, err := c.cli.Transact(ctx, ops...)
	if err != nil {
		return fmt.Errorf("%s: %w: %w", what, ErrTransact, err)
	}
	opErrs, err := libovsdb.CheckOperationResults(res, ops)
	if err != nil {
		errs := []error{err}
		for _, e := range opErrs {
			errs = append(errs, e)
		}
		return fmt.Errorf("%s: %w: %w", what, ErrTransact, errors.Join(errs...))
	}
	return nil
}

// snapshot is a copy of the monitored rows, indexed the ways the Ensure
// methods look them up.
type snapshot struct {
	root        *vswitchd.OpenvSwitch
	bridges     map[string]*vswitchd.Bridge // by name
	bridgeByID  map[string]*vswitchd.Bridge // by UUID
	ports       map[string]*vswitchd.Port   // by UUID
	portByName  map[string]*vswitchd.Port
	ifaces      map[string]*vswitchd.Interface // by UUID
	ifaceByName map[string]*vswitchd.Interface
	controllers map[string]*vswitchd.Controller // by UUID
}

func (c *Conn) snapshot() *snapshot {
	s := &snapshot{
		bridges: map[string]*vswitchd.Bridge{}, bridgeByID: map[string]*vswitchd.Bridge{},
		ports: map[string]*vswitchd.Port{}, portByName: map[string]*vswitchd.Port{},
		ifaces: map[string]*vswitchd.Interface{}, ifaceByName: map[string]*vswitchd.Interface{},
		controllers: map[string]*vswitchd.Controller{},
	}
	rows := func(table string) map[string]any {
		out := map[string]any{}
		if t := c.cache.Table(table); t != nil {
			for id, m := range t.Rows() {
				out[id] = m
			}
		}
		return out
	}
	for _, m := range rows(vswitchd.OpenvSwitchTable) {
		s.root = m.(*vswitchd.OpenvSwitch)
	}
	for id, m := range rows(vswitchd.BridgeTable) {
		b := m.(*vswitchd.Bridge)
		s.bridges[b.Name], s.bridgeByID[id] = b, b
	}
	for id, m := range rows(vswitchd.PortTable) {
		p := m.(*vswitchd.Port)
		s.ports[id], s.portByName[p.Name] = p, p
	}
	for id, m := range rows(vswitchd.InterfaceTable) {
		i := m.(*vswitchd.Interface)
		s.ifaces[id], s.ifaceByName[i.Name] = i, i
	}
	for id, m := range rows(vswitchd.ControllerTable) {
		s.controllers[id] = m.(*vswitchd.Controller)
	}
	return s
}

// Helpers that build RFC 7047 section 5.2 operations.

func whereUUID(id string) []libovsdb.Condition {
	return []libovsdb.Condition{libovsdb.NewCondition("_uuid", libovsdb.ConditionEqual, libovsdb.UUID{GoUUID: id})}
}

func whereName(name string) []libovsdb.Condition {
	return []libovsdb.Condition{libovsdb.NewCondition("name", libovsdb.ConditionEqual, name)}
}

func uuidSet(ids ...string) libovsdb.OvsSet {
	s := libovsdb.OvsSet{GoSet: make([]any, 0, len(ids))}
	for _, id := range ids {
		s.GoSet = append(s.GoSet, libovsdb.UUID{GoUUID: id})
	}
	return s
}

func stringSet(vs ...string) libovsdb.OvsSet {
	s := libovsdb.OvsSet{GoSet: make([]any, 0, len(vs))}
	for _, v := range vs {
		s.GoSet = append(s.GoSet, v)
	}
	return s
}

func stringMap(m map[string]string) libovsdb.OvsMap {
	out := libovsdb.OvsMap{GoMap: make(map[any]any, len(m))}
	for k, v := range m {
		out.GoMap[k] = v
	}
	return out
}

func insertOp(table, uuidName string, row libovsdb.Row) libovsdb.Operation {
	return libovsdb.Operation{Op: libovsdb.OperationInsert, Table: table, UUIDName: uuidName, Row: row}
}

func updateOp(table string, where []libovsdb.Condition, row libovsdb.Row) libovsdb.Operation {
	return libovsdb.Operation{Op: libovsdb.OperationUpdate, Table: table, Where: where, Row: row}
}

func mutateOp(table string, where []libovsdb.Condition, column string, mutator libovsdb.Mutator, value any) libovsdb.Operation {
	return libovsdb.Operation{Op: libovsdb.OperationMutate, Table: table, Where: where,
		Mutations: []libovsdb.Mutation{*libovsdb.NewMutation(column, mutator, value)}}
}

func deleteOp(table, id string) libovsdb.Operation {
	return libovsdb.Operation{Op: libovsdb.OperationDelete, Table: table, Where: whereUUID(id)}
}

// setMapKeysOps returns the mutations that make the map column hold
// want's pairs while leaving other keys alone: delete the keys whose value
// differs, then insert the wanted pairs (RFC 7047 section 5.1: "insert"
// never overwrites an existing key).
func setMapKeysOps(table string, where []libovsdb.Condition, column string, have, want map[string]string) []libovsdb.Operation {
	var stale []string
	add := map[string]string{}
	for k, v := range want {
		if cur, ok := have[k]; !ok || cur != v {
			add[k] = v
			if ok {
				stale = append(stale, k)
			}
		}
	}
	var ops []libovsdb.Operation
	if len(stale) > 0 {
		ops = append(ops, mutateOp(table, where, column, libovsdb.MutateOperationDelete, stringSet(stale...)))
	}
	if len(add) > 0 {
		ops = append(ops, mutateOp(table, where, column, libovsdb.MutateOperationInsert, stringMap(add)))
	}
	return ops
}
