package trace

import (
	"strings"

	"github.com/ovsmesh/ovsmesh/api"
)

// LastPath returns the hosts the last probe passed, in the order it got
// to them, each with what happened there: the path the topology page
// draws (api.TopologyOptions.Trace). It returns nil before the first
// probe.
func (a *App) LastPath() []api.TraceHop {
	a.mu.Lock()
	r := a.last
	a.mu.Unlock()
	if r == nil {
		return nil
	}
	return pathOf(r)
}

// pathOf sums a result up per visit: where the packet came from, and the
// verdicts of the copies that ended there.
func pathOf(r *Result) []api.TraceHop {
	out := make([]api.TraceHop, 0, len(r.Visits))
	for i, v := range r.Visits {
		var notes []string
		if v.From == "" {
			notes = append(notes, "in from "+r.Src.Given)
		} else {
			notes = append(notes, "from "+v.From)
		}
		for _, c := range r.Tunnels {
			if c.FromVisit == i {
				notes = append(notes, "to "+c.To)
			}
		}
		for _, vd := range r.Verdicts {
			if vd.Visit == i {
				notes = append(notes, vd.String())
			}
		}
		out = append(out, api.TraceHop{Host: v.Host, Note: strings.Join(notes, "; ")})
	}
	return out
}
