package flows

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// TableID is an OpenFlow table number (OpenFlow 1.3.5 §5.1).
type TableID uint8

// String renders the number; Pipeline.Name gives the stage's name.
func (t TableID) String() string { return fmt.Sprintf("table(%d)", uint8(t)) }

// Stage is one table of a composed pipeline: which app owns it and where
// its flows may jump.
type Stage struct {
	// Table is the table number.
	Table TableID
	// Name is the stage's name ("classify", "l2").
	Name string
	// Owner is the app owning the table: packet-ins and FLOW_REMOVED of
	// flows with a baseline or foreign cookie in this table go to it.
	Owner AppID
	// Next lists the tables a goto_table (or a packet-out's resubmit) of
	// a flow in this table may name, each higher than Table.
	Next []TableID
	// Internal marks a table its app reaches only from its own tables
	// (a goto, or a ct action's recirculation): it is not in the chain
	// of stages, so the stage before it never jumps to it as "next".
	Internal bool
}

// Pipeline is the composed table graph (Faucet's valve_table idea):
// which stages exist, who owns them and which gotos are declared. The
// encoder of a session refuses a flow whose goto_table is not a declared
// successor of its table, so a wrong jump is an error in ovsmesh, not a
// packet dropped in a switch.
type Pipeline struct {
	stages []Stage // in table order
	index  [256]int16
}

// NewPipeline checks stages and returns the pipeline: table numbers and
// names unique, every successor a declared stage with a higher number
// (OpenFlow 1.3.5 §5.1: goto only forward, so no cycle), table 0 present
// (every packet starts there). Errors name the stage.
func NewPipeline(stages []Stage) (*Pipeline, error) {
	p := &Pipeline{stages: slices.Clone(stages)}
	slices.SortFunc(p.stages, func(a, b Stage) int { return int(a.Table) - int(b.Table) })
	names := map[string]TableID{}
	for i, s := range p.stages {
		switch {
		case s.Table == TableAll:
			return nil, fmt.Errorf("stage %s: table 255 is OFPTT_ALL, not a table", s.Name)
		case s.Name == "":
			return nil, fmt.Errorf("stage at table %d has no name", s.Table)
		case p.index[s.Table] != 0:
			return nil, fmt.Errorf("stage %s: table %d is also stage %s", s.Name, s.Table, p.stages[p.index[s.Table]-1].Name)
		}
		if t, dup := names[s.Name]; dup {
			return nil, fmt.Errorf("stage name %s is used by tables %d and %d", s.Name, t, s.Table)
		}
		names[s.Name] = s.Table
		p.index[s.Table] = int16(i + 1)
	}
	if len(p.stages) == 0 || p.stages[0].Table != 0 {
		return nil, errors.New("no stage at table 0, where every packet starts")
	}
	for _, s := range p.stages {
		for _, n := range s.Next {
			if p.index[n] == 0 {
				return nil, fmt.Errorf("stage %s (table %d): successor table %d is not a stage", s.Name, s.Table, n)
			}
			if n <= s.Table {
				return nil, fmt.Errorf("stage %s (table %d): successor %s (table %d) does not come after it: a cycle",
					s.Name, s.Table, p.stages[p.index[n]-1].Name, n)
			}
		}
	}
	return p, nil
}

// Stages returns the stages in table order.
func (p *Pipeline) Stages() []Stage { return slices.Clone(p.stages) }

// Stage returns the stage of table t.
func (p *Pipeline) Stage(t TableID) (Stage, bool) {
	if p == nil || p.index[t] == 0 {
		return Stage{}, false
	}
	return p.stages[p.index[t]-1], true
}

// Lookup returns the stage named name.
func (p *Pipeline) Lookup(name string) (Stage, bool) {
	for _, s := range p.stages {
		if s.Name == name {
			return s, true
		}
	}
	return Stage{}, false
}

// Name returns the name of table t's stage, or "table(N)".
func (p *Pipeline) Name(t TableID) string {
	if s, ok := p.Stage(t); ok {
		return s.Name
	}
	return t.String()
}

// GotoAllowed reports whether a flow in table from may goto_table to.
func (p *Pipeline) GotoAllowed(from, to TableID) bool {
	s, ok := p.Stage(from)
	return ok && slices.Contains(s.Next, to)
}

// Check returns an error for a message the switch would accept but the
// pipeline forbids: a flow added to a table that is not a stage, a
// goto_table that is not a declared successor, a resubmit to a table
// that is not a stage. Deletes and other messages always pass.
func (p *Pipeline) Check(m Message) error {
	switch m := m.(type) {
	case FlowMod:
		if m.Command != FlowAdd && m.Command != FlowModify {
			return nil
		}
		f := &m.Flow
		if _, ok := p.Stage(f.Table); !ok {
			return fmt.Errorf("flow in %s: not a stage of the pipeline", f.Table)
		}
		if f.Goto != 0 && !p.GotoAllowed(f.Table, f.Goto) {
			return fmt.Errorf("flow in %s: goto_table %s (%d) is not a declared successor", p.Name(f.Table), p.Name(f.Goto), f.Goto)
		}
		return p.checkActions(f.Table, f.Actions)
	case PacketOut:
		return p.checkActions(TableAll, m.Actions)
	}
	return nil
}

// checkActions checks the tables actions jump to from table from (a
// flow's table; TableAll for a packet-out): a resubmit must name a
// stage; a ct recirculation must name a declared successor of from or a
// table of from's owner (it may go back, as a recirculation is a new
// pass, bounded by the switch).
func (p *Pipeline) checkActions(from TableID, actions []Action) error {
	for _, a := range actions {
		switch a := a.(type) {
		case Resubmit:
			if a.Table == TableCurrent {
				continue
			}
			if _, ok := p.Stage(a.Table); !ok {
				return fmt.Errorf("resubmit to %s: not a stage of the pipeline", a.Table)
			}
		case CT:
			if !a.Recirc {
				continue
			}
			to, ok := p.Stage(a.Table)
			if !ok {
				return fmt.Errorf("ct recirculation to %s: not a stage of the pipeline", a.Table)
			}
			if from == TableAll || p.GotoAllowed(from, a.Table) {
				continue
			}
			if st, _ := p.Stage(from); st.Owner != to.Owner {
				return fmt.Errorf("ct recirculation from %s to %s (%d): another app's table that is not a declared successor",
					p.Name(from), to.Name, a.Table)
			}
		}
	}
	return nil
}

// Encode is Encode after Check: the encoder a session uses. A nil
// pipeline checks nothing.
func (p *Pipeline) Encode(b []byte, xid uint32, m Message) ([]byte, error) {
	if p != nil {
		if err := p.Check(m); err != nil {
			return b, fmt.Errorf("encode %s: %w", m.MsgType(), err)
		}
	}
	return Encode(b, xid, m)
}

// Markdown renders the stages as a table for docs/pipeline.md: number,
// name, owning app (named by appName) and successors.
func (p *Pipeline) Markdown(appName func(AppID) string) string {
	var b strings.Builder
	b.WriteString("| table | stage | app | goes on to |\n|---:|---|---|---|\n")
	for _, s := range p.stages {
		var next []string
		for _, n := range s.Next {
			next = append(next, fmt.Sprintf("%s (%d)", p.Name(n), n))
		}
		if len(next) == 0 {
			next = []string{"—"}
		}
		name := s.Name
		if s.Internal {
			name += " (internal)"
		}
		fmt.Fprintf(&b, "| %d | %s | %s | %s |\n", s.Table, name, appName(s.Owner), strings.Join(next, ", "))
	}
	return b.String()
}
