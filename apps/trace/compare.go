package trace

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ovsmesh/ovsmesh/flows"
)

// compare checks a probe against the explanation: the same hosts in
// the same order of arrival, the same stages on each, the flow each
// stage's app names (cookie app and object, generation aside), and the
// same verdicts. It fills probe's Agree and Disagreements; each
// disagreement says where, what the switch did and what the controller
// expects.
func (a *App) compare(probe, expl *Result) {
	var d []string
	pv, ev := visitsByKey(probe.Visits), visitsByKey(expl.Visits)
	for _, v := range probe.Visits {
		e, ok := ev[visitKey(v)]
		if !ok {
			d = append(d, fmt.Sprintf("the probe reached %s%s; the controller does not expect it there", v.Host, fromText(v.From)))
			continue
		}
		d = append(d, a.compareHops(v, e)...)
	}
	for _, e := range expl.Visits {
		if _, ok := pv[visitKey(e)]; !ok {
			d = append(d, fmt.Sprintf("the controller expects the packet at %s%s; the probe never got there", e.Host, fromText(e.From)))
		}
	}
	pvs, evs := verdictSet(probe.Verdicts), verdictSet(expl.Verdicts)
	for _, v := range probe.Verdicts {
		if !evs[verdictKey(v)] {
			d = append(d, "the probe was "+v.String()+"; the controller does not expect that")
		}
	}
	for _, v := range expl.Verdicts {
		if !pvs[verdictKey(v)] {
			d = append(d, "the controller expects the packet "+v.String()+"; the probe was not")
		}
	}
	probe.Disagreements = d
	probe.Agree = len(d) == 0
	var blind []string
	for _, v := range expl.Visits {
		for _, h := range v.Hops {
			if h.appID == 0 && !slices.Contains(blind, h.Stage) {
				blind = append(blind, h.Stage)
			}
		}
	}
	if len(blind) > 0 {
		probe.Warnings = append(probe.Warnings, fmt.Sprintf("the explanation is incomplete: the apps of stages %s do not explain them; "+
			"the comparison takes the switch's word there", strings.Join(blind, ", ")))
	}
}

// compareHops compares one visit's stages, stopping at the first stage
// where the two part. Past a stage whose app does not explain it, the
// probe may pass that app's internal stages (reached only from its own
// flows) before the next stage the explanation names; past a stage it
// explains, the probe may pass the internal stages it leaves unnamed.
func (a *App) compareHops(p, e Visit) []string {
	where := p.Host + fromText(p.From)
	pi := 0
	for ei, eh := range e.Hops {
		if pi >= len(p.Hops) {
			return []string{fmt.Sprintf("%s: the probe stopped after %s; the controller expects it to go on to %s", where, stageAt(p.Hops, pi-1), eh.Stage)}
		}
		// Between two stages it explains, an app may take the packet
		// through internal stages it does not name (conntrack lookups on
		// the way to the stage it does).
		if ei > 0 && e.Hops[ei-1].appID != 0 {
			owner := a.owner(flows.TableID(e.Hops[ei-1].Table))
			for pi < len(p.Hops) && p.Hops[pi].Table != eh.Table && a.internalOf(flows.TableID(p.Hops[pi].Table), owner) {
				pi++
			}
			if pi >= len(p.Hops) {
				return []string{fmt.Sprintf("%s: the probe stopped after %s; the controller expects it to go on to %s", where, stageAt(p.Hops, pi-1), eh.Stage)}
			}
		}
		ph := p.Hops[pi]
		if ph.Table != eh.Table {
			return []string{fmt.Sprintf("%s: after %s the probe went to %s; the controller expects %s", where, stageAt(p.Hops, pi-1), ph.Stage, stageAt(e.Hops, ei))}
		}
		pi++
		if eh.appID == 0 {
			owner := a.owner(flows.TableID(eh.Table))
			for pi < len(p.Hops) && a.internalOf(flows.TableID(p.Hops[pi].Table), owner) {
				pi++
			}
			continue
		}
		if ph.appID != eh.appID || ph.Object != eh.Object {
			return []string{fmt.Sprintf("%s %s: the switch matched %s; the controller expects %s (%s)",
				where, ph.Stage, flowText(ph), expectedText(eh), eh.Rule)}
		}
	}
	if pi < len(p.Hops) {
		return []string{fmt.Sprintf("%s: the probe went on to %s; the controller expects it to stop after %s", where, p.Hops[pi].Stage, stageAt(e.Hops, len(e.Hops)-1))}
	}
	return nil
}

// owner returns the app owning table t's stage.
func (a *App) owner(t flows.TableID) flows.AppID {
	s, _ := a.opts.Pipeline.Stage(t)
	return s.Owner
}

// internalOf reports whether table t is an internal stage of app.
func (a *App) internalOf(t flows.TableID, app flows.AppID) bool {
	s, ok := a.opts.Pipeline.Stage(t)
	return ok && s.Internal && s.Owner == app
}

// flowText describes the flow a probe hop matched.
func flowText(h Hop) string {
	if h.Cookie == "" {
		return "no flow"
	}
	what := fmt.Sprintf("%s object %#x", h.App, h.Object)
	if h.appID == flows.AppBaseline {
		what = "the table-miss entry"
	}
	return fmt.Sprintf("%s (priority %d, cookie %s, actions %s)", what, h.Priority, h.Cookie, h.Actions)
}

// expectedText describes the flow an explanation hop names.
func expectedText(h Hop) string {
	if h.appID == flows.AppBaseline {
		return "the table-miss entry"
	}
	return fmt.Sprintf("%s's flow for object %#x", h.App, h.Object)
}

func stageAt(hops []Hop, i int) string {
	if i < 0 || i >= len(hops) {
		return "arrival"
	}
	return hops[i].Stage
}

func fromText(from string) string {
	if from == "" {
		return ""
	}
	return " (from " + from + ")"
}

func visitKey(v Visit) string { return v.Host + "<" + v.From }

func visitsByKey(vs []Visit) map[string]Visit {
	m := map[string]Visit{}
	for _, v := range vs {
		m[visitKey(v)] = v
	}
	return m
}

// verdictKey identifies a verdict by kind, place and ports, not by its
// wording.
func verdictKey(v Verdict) string {
	var ports []string
	for _, p := range v.Ports {
		ports = append(ports, flows.PortString(p.OFPort))
	}
	slices.Sort(ports)
	return fmt.Sprintf("%s|%s|%d|%s", v.Kind, v.Host, v.Table, strings.Join(ports, ","))
}

func verdictSet(vs []Verdict) map[string]bool {
	m := map[string]bool{}
	for _, v := range vs {
		m[verdictKey(v)] = true
	}
	return m
}
