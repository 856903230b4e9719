package apps

import (
	"cmp"
	"slices"

	"github.com/ovsmesh/ovsmesh/flows"
)

// FlowKey is a flow's identity in a switch: table, priority and match.
// An add with the identity of an existing flow replaces it (OpenFlow
// 1.3.5 §6.4), and a strict delete names exactly it.
type FlowKey struct {
	Table    flows.TableID
	Priority uint16
	// Match is the match as ovs-ofctl prints it (flows.Match.String).
	Match string
}

// KeyOf returns f's identity.
func KeyOf(f flows.Flow) FlowKey {
	return FlowKey{Table: f.Table, Priority: f.Priority, Match: f.Match.String()}
}

// FlowSet is the flows an app keeps on one switch, by identity: the
// desired state an app computes from its tables, rather than a log of
// changes. The app's lock guards it.
type FlowSet map[FlowKey]flows.Flow

// Sync returns the messages that turn the switch's flows from s into
// want, and makes s equal to want: an add for each flow that is new or
// differs in cookie, timeouts or instructions, a strict delete for each
// flow no longer wanted. Messages come in a stable order (table,
// priority, match), deletes first, so a replaced flow never coexists
// with its successor at another priority longer than the batch. want
// must not hold two flows with the same identity.
func (s FlowSet) Sync(want []flows.Flow) []flows.Message {
	next := make(map[FlowKey]flows.Flow, len(want))
	for _, f := range want {
		next[KeyOf(f)] = f
	}
	var del, add []flows.Flow
	for k, f := range s {
		if _, ok := next[k]; !ok {
			del = append(del, f)
			delete(s, k)
		}
	}
	for k, f := range next {
		if old, ok := s[k]; !ok || old.String() != f.String() {
			add = append(add, f)
			s[k] = f
		}
	}
	byKey := func(a, b flows.Flow) int {
		return cmp.Or(cmp.Compare(a.Table, b.Table), cmp.Compare(a.Priority, b.Priority), cmp.Compare(a.Match.String(), b.Match.String()))
	}
	slices.SortFunc(del, byKey)
	slices.SortFunc(add, byKey)
	msgs := make([]flows.Message, 0, len(del)+len(add))
	for _, f := range del {
		msgs = append(msgs, flows.DeleteStrict(f))
	}
	for _, f := range add {
		msgs = append(msgs, flows.AddFlow(f))
	}
	return msgs
}
