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
func compare(probe, expl *Result) {
	var d []string
	pv, ev := visitsByKey(probe.Visits), visitsByKey(expl.Visits)
	for _, v := range probe.Visits {
		e, ok := ev[visitKey(v)]
		if !ok {
			d = append(d, fmt.Sprintf("the probe reached %s%s; the controller does not expect it there", v.Host, fromText(v.From)))
			continue
		}
		d = append(d, compareHops(v, e)...)
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
	for _, v := range expl.Visits {
		for _, h := range v.Hops {
			if h.appID == 0 {
				probe.Warnings = append(probe.Warnings, fmt.Sprintf("the explanation is incomplete at %s %s: %s", v.Host, h.Stage, h.Rule))
			}
		}
	}
}

// compareHops compares one visit's stages, stopping at the first stage
// where the two part.
func compareHops(p, e Visit) []string {
	where := p.Host + fromText(p.From)
	for i := 0; i < max(len(p.Hops), len(e.Hops)); i++ {
		switch {
		case i >= len(p.Hops):
			return []string{fmt.Sprintf("%s: the probe stopped after %s; the controller expects it to go on to %s", where, stageAt(p.Hops, i-1), e.Hops[i].Stage)}
		case i >= len(e.Hops):
			return []string{fmt.Sprintf("%s: the probe went on to %s; the controller expects it to stop after %s", where, p.Hops[i].Stage, stageAt(e.Hops, i-1))}
		}
		ph, eh := p.Hops[i], e.Hops[i]
		if ph.Table != eh.Table {
			return []string{fmt.Sprintf("%s: after %s the probe went to %s; the controller expects %s", where, stageAt(p.Hops, i-1), ph.Stage, eh.Stage)}
		}
		if eh.appID != 0 && (ph.appID != eh.appID || ph.Object != eh.Object) {
			return []string{fmt.Sprintf("%s %s: the switch matched %s; the controller expects %s (%s)",
				where, ph.Stage, flowText(ph), expectedText(eh), eh.Rule)}
		}
	}
	return nil
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
