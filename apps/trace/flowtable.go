package trace

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/ovsmesh/ovsmesh/apps"
	"github.com/ovsmesh/ovsmesh/controller"
	"github.com/ovsmesh/ovsmesh/flows"
)

// flowStatser lists a switch's flows; a session does, and so does
// controllertest.Recorder.
type flowStatser interface {
	FlowStats(ctx context.Context, req flows.FlowStatsRequest) ([]flows.FlowStats, error)
}

// groupDescer describes a switch's groups; a session does.
type groupDescer interface {
	GroupDesc(ctx context.Context) ([]flows.GroupDesc, error)
}

// hostView is one switch as a probe sees it: its session and ports, and
// the flows and groups read from it, once per probe.
type hostView struct {
	sw     controller.Switch
	name   string
	ports  apps.Ports
	names  map[flows.OFPort]string
	tables map[flows.TableID][]flows.FlowStats // highest priority first
	groups map[flows.GroupID]flows.GroupDesc   // nil until read
}

// newHostView classifies sw's ports.
func (a *App) newHostView(sw controller.Switch) *hostView {
	h := &hostView{sw: sw, name: a.hostName(sw.DPID()), ports: a.ports(sw), names: map[flows.OFPort]string{},
		tables: map[flows.TableID][]flows.FlowStats{}}
	for _, p := range sw.Ports() {
		h.names[p.No] = p.Name
	}
	return h
}

// portRef names port on the switch.
func (h *hostView) portRef(p flows.OFPort) PortRef { return PortRef{OFPort: p, Name: h.names[p]} }

// peer returns the host a tunnel port leads to, "" for another port.
func (h *hostView) peer(p flows.OFPort) string {
	for name, port := range h.ports.Tunnels {
		if port == p {
			return name
		}
	}
	return ""
}

// lookup returns the flow of table t that matches the packet p, as the
// switch would choose it: the highest priority whose match holds, the
// trace's own flows left out. It reads the table from the switch on
// first use. A nil flow means none matches (not even a table-miss
// entry). Notes say what is uncertain: a flow above it (or of its
// priority) matching on fields ovsmesh cannot evaluate, or two flows of
// one priority that both match (OpenFlow 1.3.5 §6.4 leaves the choice
// to the switch). Flows below the one chosen are not looked at.
func (h *hostView) lookup(ctx context.Context, t flows.TableID, p *flows.PacketFields) (*flows.FlowStats, []string, error) {
	fs, ok := h.tables[t]
	if !ok {
		st, isStatser := h.sw.(flowStatser)
		if !isStatser {
			return nil, nil, fmt.Errorf("switch %s cannot list its flows", h.name)
		}
		all, err := st.FlowStats(ctx, flows.FlowStatsRequest{Table: t})
		if err != nil {
			return nil, nil, err
		}
		for _, f := range all {
			if f.Table == t && f.Cookie.App() != ID {
				fs = append(fs, f)
			}
		}
		sort.SliceStable(fs, func(i, j int) bool { return fs[i].Priority > fs[j].Priority })
		h.tables[t] = fs
	}
	var notes []string
	var best *flows.FlowStats
	for i := range fs {
		f := &fs[i]
		if best != nil && f.Priority < best.Priority {
			break
		}
		ok, err := p.Matches(f.RawMatch)
		switch {
		case errors.Is(err, flows.ErrUnsupportedField):
			notes = append(notes, fmt.Sprintf("a flow of priority %d (cookie %s) may match too: %v", f.Priority, f.Cookie, err))
		case err != nil:
			notes = append(notes, fmt.Sprintf("a flow of priority %d (cookie %s) has a malformed match: %v", f.Priority, f.Cookie, err))
		case ok && best == nil:
			best = f
		case ok:
			notes = append(notes, fmt.Sprintf("another flow of priority %d (cookie %s) matches too: the switch may choose either", f.Priority, f.Cookie))
		}
	}
	return best, notes, nil
}

// group returns group id's description, reading the switch's groups on
// first use.
func (h *hostView) group(ctx context.Context, id flows.GroupID) (flows.GroupDesc, bool, error) {
	if h.groups == nil {
		gd, ok := h.sw.(groupDescer)
		if !ok {
			return flows.GroupDesc{}, false, fmt.Errorf("switch %s cannot describe its groups", h.name)
		}
		gs, err := gd.GroupDesc(ctx)
		if err != nil {
			return flows.GroupDesc{}, false, err
		}
		h.groups = map[flows.GroupID]flows.GroupDesc{}
		for _, g := range gs {
			h.groups[g.ID] = g
		}
	}
	g, ok := h.groups[id]
	return g, ok, nil
}
