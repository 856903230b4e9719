package trace

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Render writes r for people, in the spirit of ovn-trace: one block per
// switch the packet passed, one line per stage with the flow that
// decided it (probe) or the app's rule (explain), then where the packet
// went from there, the verdict, and the comparison with the
// explanation.
func Render(w io.Writer, r *Result) error {
	b := &strings.Builder{}
	fmt.Fprintf(b, "# %s %s > %s", r.Proto, endText(r.Src), endText(r.Dst))
	if r.Port != 0 {
		fmt.Fprintf(b, " port %d", r.Port)
	}
	if r.Mode == "probe" {
		fmt.Fprintf(b, "\n# probe tagged %s, %.1f ms", r.Tag, r.DurationMS)
	} else {
		b.WriteString("\n# explanation from the controller's state (no switch touched)")
	}
	fmt.Fprintf(b, "\n# %s\n", r.Flow)
	for i, v := range r.Visits {
		fmt.Fprintf(b, "\n%s (dpid %s): in_port %s", v.Host, v.DPID, portText(v.InPort, v.InPortName))
		if v.From != "" {
			fmt.Fprintf(b, ", through the tunnel from %s", v.From)
		}
		b.WriteString("\n")
		tw := tabwriter.NewWriter(b, 0, 4, 2, ' ', 0)
		for _, h := range v.Hops {
			fmt.Fprintf(tw, "  %3d\t%s\t%s\t%s\n", h.Table, h.Stage, h.App, hopText(r.Mode, h))
			for _, c := range h.Rewrites {
				fmt.Fprintf(tw, "\t\t\t  rewrote %s\n", c)
			}
			for _, n := range h.Notes {
				fmt.Fprintf(tw, "\t\t\t  note: %s\n", n)
			}
		}
		tw.Flush()
		for _, c := range r.Tunnels {
			if c.FromVisit == i {
				how := ""
				switch {
				case c.Emulated:
					how = ", emulated: put in at its far end by the controller"
				case c.ByController:
					how = ", sent by the controller"
				}
				if !c.Arrived {
					how += ", did not arrive"
				}
				fmt.Fprintf(b, "  => tunnel %s to %s%s\n", portText(c.Port, c.PortName), c.To, how)
			}
		}
		for _, vd := range r.Verdicts {
			if vd.Visit == i {
				fmt.Fprintf(b, "  => %s\n", vd)
			}
		}
	}
	fmt.Fprintf(b, "\nverdict: %s\n", r.Verdict)
	if r.Mode == "probe" {
		if r.Agree {
			b.WriteString("explanation: agrees (every stage matched the flow the controller expects)\n")
		} else {
			b.WriteString("explanation: DISAGREES\n")
			for _, d := range r.Disagreements {
				fmt.Fprintf(b, "  - %s\n", d)
			}
			if r.Explanation != nil {
				fmt.Fprintf(b, "  the controller expects: %s\n", r.Explanation.Verdict)
			}
		}
	}
	for _, wn := range r.Warnings {
		fmt.Fprintf(b, "warning: %s\n", wn)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// hopText is a hop's flow (probe) or rule (explain) and outcome.
func hopText(mode string, h Hop) string {
	if mode != "probe" {
		return h.Rule
	}
	if h.Cookie == "" {
		return "no flow matches"
	}
	m := h.Match
	if m == "" {
		m = "(all)"
	}
	return fmt.Sprintf("priority %d, cookie %s, %s  actions=%s", h.Priority, h.Cookie, m, h.Actions)
}

func endText(e Endpoint) string {
	s := e.Given
	var at []string
	if e.IP != "" && e.IP != e.Given {
		at = append(at, e.IP)
	}
	if e.MAC != "" && e.MAC != e.Given {
		at = append(at, e.MAC)
	}
	if e.Host != "" {
		at = append(at, fmt.Sprintf("%s port %s", e.Host, portText(e.OFPort, e.PortName)))
	} else {
		at = append(at, "not in the MAC table")
	}
	return s + " (" + strings.Join(at, ", ") + ")"
}

func portText(p interface{ String() string }, name string) string {
	if name == "" {
		return p.String()
	}
	return p.String() + " (" + name + ")"
}
