package ovsdb

import (
	"context"
	"errors"
	"fmt"

	"github.com/ovn-kubernetes/libovsdb/model"
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
	_, err := c.transactResults(ctx, what, ops)
	return err
}

// transactResults is transact, returning the operations' results (one
// per operation, in order) when it commits.
func (c *Conn) transactResults(ctx context.Context, what string, ops []libovsdb.Operation) ([]libovsdb.OperationResult, error) {
	if len(ops) == 0 {
		return nil, nil
	}
	res, err := c.cli.Transact(ctx, ops...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", what, ErrTransact, err)
	}
	opErrs, err := libovsdb.CheckOperationResults(res, ops)
	if err != nil {
		errs := []error{err}
		for _, e := range opErrs {
			errs = append(errs, e)
		}
		return nil, fmt.Errorf("%s: %w: %w", what, ErrTransact, errors.Join(errs...))
	}
	return res, nil
}

// snapshot is a view of the monitored rows at one moment, indexed the
// ways the Ensure methods look them up. The models are the replica's own
// (libovsdb's RowsShallow: never cloned, replaced rather than changed by
// monitor updates), so they are read-only: code that needs to change one
// copies the field first. Taking a snapshot costs a few map inserts per
// row and no allocation per column; cloning every row, as Rows does,
// costs a JSON round trip each and was the controller's main cost (see
// docs/benchmarks.md, "Convergence").
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
	rows := func(table string) map[string]model.Model {
		if t := c.cache.Table(table); t != nil {
			return t.RowsShallow()
		}
		return nil
	}
	brs, ports, ifaces, ctls := rows(vswitchd.BridgeTable), rows(vswitchd.PortTable), rows(vswitchd.InterfaceTable), rows(vswitchd.ControllerTable)
	s := &snapshot{
		bridges: make(map[string]*vswitchd.Bridge, len(brs)), bridgeByID: make(map[string]*vswitchd.Bridge, len(brs)),
		ports: make(map[string]*vswitchd.Port, len(ports)), portByName: make(map[string]*vswitchd.Port, len(ports)),
		ifaces: make(map[string]*vswitchd.Interface, len(ifaces)), ifaceByName: make(map[string]*vswitchd.Interface, len(ifaces)),
		controllers: make(map[string]*vswitchd.Controller, len(ctls)),
	}
	for _, m := range rows(vswitchd.OpenvSwitchTable) {
		s.root = m.(*vswitchd.OpenvSwitch)
	}
	for id, m := range brs {
		b := m.(*vswitchd.Bridge)
		s.bridges[b.Name], s.bridgeByID[id] = b, b
	}
	for id, m := range ports {
		p := m.(*vswitchd.Port)
		s.ports[id], s.portByName[p.Name] = p, p
	}
	for id, m := range ifaces {
		i := m.(*vswitchd.Interface)
		s.ifaces[id], s.ifaceByName[i.Name] = i, i
	}
	for id, m := range ctls {
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
