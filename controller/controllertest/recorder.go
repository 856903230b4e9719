// Package controllertest holds test doubles for code built on the
// controller package, in the spirit of net/http/httptest: a Recorder
// stands in for a switch in app tests, so an app's decisions can be
// checked without sockets.
package controllertest

import (
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ovsmesh/ovsmesh/flows"
)

// Recorder implements controller.Switch by recording every message sent
// to it. It is safe for concurrent use.
type Recorder struct {
	// ID is the datapath ID DPID returns.
	ID flows.DPID
	// PortList is what Ports returns (a copy); tests may change it
	// between events, as a PORT_STATUS would.
	PortList []flows.Port
	// Pipeline, if set, checks every message as a session's encoder does
	// (flows.Pipeline.Check): Send refuses a flow whose goto_table is not
	// a declared successor, records nothing, and reports it to TB.
	Pipeline *flows.Pipeline
	// TB, if set, fails the test on a refused message.
	TB testing.TB
	// Stats is what FlowStats lists (filtered by the request's table and
	// cookie mask); tests set it to stand in for the switch's counters.
	Stats []flows.FlowStats

	mu   sync.Mutex
	msgs []flows.Message
}

// DPID implements controller.Switch.
func (r *Recorder) DPID() flows.DPID { return r.ID }

// Ports implements controller.Switch.
func (r *Recorder) Ports() []flows.Port { return slices.Clone(r.PortList) }

// Send implements controller.Switch: it records msgs; it fails only when
// Pipeline refuses one of them.
func (r *Recorder) Send(_ context.Context, msgs ...flows.Message) error {
	for _, m := range msgs {
		if r.Pipeline == nil {
			break
		}
		if err := r.Pipeline.Check(m); err != nil {
			if r.TB != nil {
				r.TB.Errorf("switch %s refused %v: %v", r.ID, m, err)
			}
			return err
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, msgs...)
	return nil
}

// FlowStats lists the entries of Stats that req selects.
func (r *Recorder) FlowStats(_ context.Context, req flows.FlowStatsRequest) ([]flows.FlowStats, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []flows.FlowStats
	for _, f := range r.Stats {
		if (req.Table == flows.TableAll || f.Table == req.Table) && f.Cookie&req.CookieMask == req.Cookie&req.CookieMask {
			out = append(out, f)
		}
	}
	return out, nil
}

// SetStats sets what FlowStats lists, safely while the app may read it.
func (r *Recorder) SetStats(fs []flows.FlowStats) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Stats = fs
}

// Take returns and clears the recorded messages, each rendered with
// fmt.Sprint (flow-mods in ovs-ofctl syntax, see flows.FlowMod.String).
func (r *Recorder) Take() []string {
	msgs := r.Raw()
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = fmt.Sprint(m)
	}
	return out
}

// Raw returns and clears the recorded messages.
func (r *Recorder) Raw() []flows.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.msgs
	r.msgs = nil
	return out
}

// TakeAll returns and clears the messages of every recorder in recs (keyed
// by a name, such as the host's), one line per message, "[name] message",
// recorders in name order: a golden-file friendly view of what a whole
// mesh was sent.
func TakeAll(recs map[string]*Recorder) string {
	var b strings.Builder
	for _, n := range slices.Sorted(maps.Keys(recs)) {
		for _, m := range recs[n].Take() {
			fmt.Fprintf(&b, "[%s] %s\n", n, m)
		}
	}
	return b.String()
}

// Golden compares got with the golden file at path and fails t with both
// texts when they differ; with update it first rewrites the file with
// got. Apps keep their expected flow-mods in such files (testdata/*.flows,
// rewritten with go test -update).
func Golden(t testing.TB, path, got string, update bool) {
	t.Helper()
	if update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (run go test -update to accept):\n--- got\n%s--- want\n%s", path, got, want)
	}
}
