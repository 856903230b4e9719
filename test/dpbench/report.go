//go:build linux

package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"strings"
)

// target is a benchmark's goal: the ovsmesh figure, or its ratio to the
// peer's, compared with Value by Op ("<=", ">=", "<").
type target struct {
	Ratio bool
	Op    string
	Value float64
}

// String renders the target as in the issue: "<= 1.1x", "< 100".
func (t target) String() string {
	if t.Ratio {
		return fmt.Sprintf("%s %gx", t.Op, t.Value)
	}
	return fmt.Sprintf("%s %g", t.Op, t.Value)
}

// met reports whether v meets the target.
func (t target) met(v float64) bool {
	if math.IsNaN(v) {
		return false
	}
	switch t.Op {
	case "<=":
		return v <= t.Value
	case "<":
		return v < t.Value
	case ">=":
		return v >= t.Value
	case ">":
		return v > t.Value
	}
	return false
}

// row is one verdict: ovsmesh's figure against a peer's, or alone.
type row struct {
	// What names the figure with its unit, "cold first ping (ms)".
	What string
	// Ovsmesh is ovsmesh's figure in the unit of What.
	Ovsmesh float64
	// Peer names the peer ("" for an absolute target) and PeerValue is
	// its figure, in the same unit.
	Peer      string
	PeerValue float64
	Target    target
}

// ratio returns Ovsmesh/PeerValue (NaN without a peer).
func (r row) ratio() float64 {
	if r.Peer == "" || r.PeerValue == 0 {
		return math.NaN()
	}
	return r.Ovsmesh / r.PeerValue
}

// verdict returns "PASS" or "MISS".
func (r row) verdict() string {
	v := r.Ovsmesh
	if r.Target.Ratio {
		v = r.ratio()
	}
	if r.Target.met(v) {
		return "PASS"
	}
	return "MISS"
}

// printRows prints rows as a table: figure, ovsmesh, peer, ratio,
// target, verdict.
func printRows(w io.Writer, rows []row) {
	fmt.Fprintf(w, "%-44s %12s %-15s %12s %8s %10s %s\n", "what", "ovsmesh", "peer", "peer value", "ratio", "target", "result")
	for _, r := range rows {
		peer, pv, ratio := "(absolute)", "", ""
		if r.Peer != "" {
			peer, pv, ratio = r.Peer, num(r.PeerValue), fmt.Sprintf("%.2fx", r.ratio())
		}
		fmt.Fprintf(w, "%-44s %12s %-15s %12s %8s %10s %s\n", r.What, num(r.Ovsmesh), peer, pv, ratio, r.Target, r.verdict())
	}
}

// num renders a figure with 3 significant decimals for small values.
func num(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "lost"
	case math.IsNaN(v):
		return "n/a"
	case math.Abs(v) >= 1000:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.3f", v)
	}
}

// loadAvg returns the first three fields of /proc/loadavg.
func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// series prints a peer's samples: median, min, max and count.
func series(w io.Writer, label, unit string, xs []float64) {
	lo, hi := minMax(xs)
	fmt.Fprintf(w, "  %-18s median %10s %-5s min %10s  max %10s  n=%d\n", label, num(median(xs)), unit, num(lo), num(hi), len(xs))
}
