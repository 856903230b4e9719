package apps

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/ovsmesh/ovsmesh/api"
	"github.com/ovsmesh/ovsmesh/config"
	"github.com/ovsmesh/ovsmesh/controller"
	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/topo"
)

// IngressStage names the stage at table 0 that the registry adds when no
// app owns table 0: its table-miss sends every packet on to the first
// app stage.
const IngressStage = "ingress"

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,30}$`)

// Registry is the set of apps the controller runs, checked and composed:
// the pipeline of their stages, their configuration sections, names for
// metrics and the API. It holds declarations only; Start builds the apps.
type Registry struct {
	specs    []Spec
	pipeline *flows.Pipeline
	byID     [256]*Spec
	owner    map[flows.TableID]*Spec
}

// NewRegistry checks the specs and composes their pipeline. Every error
// names the app and what it declared: a name that is not lower-case
// letters, digits and '_'; two apps with one name, app ID, table or stage
// name; a reserved app ID; a successor or observed stage no app
// declares; a successor that does not come after its stage (a cycle).
func NewRegistry(specs ...Spec) (*Registry, error) {
	r := &Registry{specs: slices.Clone(specs), owner: map[flows.TableID]*Spec{}}
	names := map[string]bool{}
	stages := map[string]*Spec{} // stage name -> owner
	tables := map[string]flows.TableID{}
	for i := range r.specs {
		s := &r.specs[i]
		switch {
		case !nameRE.MatchString(s.Name):
			return nil, fmt.Errorf("app %q: name must be lower-case letters, digits and '_', starting with a letter", s.Name)
		case names[s.Name]:
			return nil, fmt.Errorf("app %s is registered twice", s.Name)
		case s.ID == 0 || s.ID == flows.AppBaseline:
			return nil, fmt.Errorf("app %s: app ID %d is reserved (0: foreign flows, 1: the controller's baseline)", s.Name, s.ID)
		case r.byID[s.ID] != nil:
			return nil, fmt.Errorf("apps %s and %s both claim app ID %d", r.byID[s.ID].Name, s.Name, s.ID)
		case s.New == nil:
			return nil, fmt.Errorf("app %s: no New", s.Name)
		}
		names[s.Name] = true
		r.byID[s.ID] = s
		for _, t := range s.Tables {
			if other, dup := r.owner[t.ID]; dup {
				return nil, fmt.Errorf("apps %s and %s both claim table %d (stages %s and %s)", other.Name, s.Name, t.ID, stageAt(other, t.ID), t.Name)
			}
			if other, dup := stages[t.Name]; dup || t.Name == IngressStage {
				owner := "the controller"
				if dup {
					owner = "app " + other.Name
				}
				return nil, fmt.Errorf("app %s: stage name %s is already %s's", s.Name, t.Name, owner)
			}
			if !nameRE.MatchString(t.Name) {
				return nil, fmt.Errorf("app %s: stage name %q must be lower-case letters, digits and '_'", s.Name, t.Name)
			}
			r.owner[t.ID], stages[t.Name], tables[t.Name] = s, s, t.ID
		}
	}
	if err := r.compose(stages, tables); err != nil {
		return nil, err
	}
	for _, s := range r.specs {
		for _, o := range s.Observe {
			if _, ok := tables[o]; !ok {
				return nil, fmt.Errorf("app %s: observes stage %q, which no app declares", s.Name, o)
			}
		}
	}
	if err := checkSectionsOf(r.specs); err != nil {
		return nil, err
	}
	return r, nil
}

// compose builds the pipeline: the stages in table order, each allowed
// to goto the non-internal stage after it and the stages its app names;
// internal stages only where their app names them.
func (r *Registry) compose(stages map[string]*Spec, tables map[string]flows.TableID) error {
	var order, chain []flows.TableID
	for t := range r.owner {
		order = append(order, t)
	}
	slices.Sort(order)
	for _, t := range order {
		if !declared(r.owner[t], t).Internal {
			chain = append(chain, t)
		}
	}
	if len(chain) == 0 {
		return fmt.Errorf("no app declares a stage: there is no pipeline")
	}
	// after returns the first chain stage after t, if any.
	after := func(t flows.TableID) (flows.TableID, bool) {
		for _, c := range chain {
			if c > t {
				return c, true
			}
		}
		return 0, false
	}
	var out []flows.Stage
	if order[0] != 0 {
		out = append(out, flows.Stage{Table: 0, Name: IngressStage, Owner: flows.AppBaseline, Next: []flows.TableID{chain[0]}})
	}
	for _, t := range order {
		s := r.owner[t]
		decl := declared(s, t)
		st := flows.Stage{Table: t, Name: decl.Name, Owner: s.ID, Internal: decl.Internal}
		if n, ok := after(t); ok {
			st.Next = append(st.Next, n)
		}
		for _, n := range decl.Next {
			to, ok := tables[n]
			switch {
			case n == NextStage:
				continue
			case !ok:
				return fmt.Errorf("app %s, stage %s: successor %q is not a stage any app declares", s.Name, decl.Name, n)
			case to <= t:
				return fmt.Errorf("app %s, stage %s (table %d): successor %s (table %d, app %s) does not come after it: a cycle",
					s.Name, decl.Name, t, n, to, stages[n].Name)
			case stages[n] != s && declared(stages[n], to).Internal:
				return fmt.Errorf("app %s, stage %s: successor %s is internal to app %s", s.Name, decl.Name, n, stages[n].Name)
			}
			if !slices.Contains(st.Next, to) {
				st.Next = append(st.Next, to)
			}
		}
		slices.Sort(st.Next)
		out = append(out, st)
	}
	p, err := flows.NewPipeline(out)
	if err != nil {
		return fmt.Errorf("compose the pipeline: %w", err)
	}
	r.pipeline = p
	return nil
}

// NextStage may be named in Table.Next for clarity: the first
// non-internal stage that follows in table order, which is always a
// successor.
const NextStage = "next"

func declared(s *Spec, t flows.TableID) Table {
	for _, d := range s.Tables {
		if d.ID == t {
			return d
		}
	}
	return Table{}
}

func stageAt(s *Spec, t flows.TableID) string { return declared(s, t).Name }

// configPath returns the YAML path of s's section.
func configPath(s Spec) string {
	if s.ConfigPath != "" {
		return s.ConfigPath
	}
	return "apps." + s.Name
}

func checkSectionsOf(specs []Spec) error {
	seen := map[string]string{}
	for _, s := range specs {
		if s.Config == nil {
			continue
		}
		p := configPath(s)
		if other, dup := seen[p]; dup {
			return fmt.Errorf("apps %s and %s both read config section %s", other, s.Name, p)
		}
		seen[p] = s.Name
	}
	return nil
}

// Pipeline returns the composed pipeline.
func (r *Registry) Pipeline() *flows.Pipeline { return r.pipeline }

// Sections returns the configuration sections of the apps, for
// config.Parse and config.Load.
func (r *Registry) Sections() []config.Section {
	var out []config.Section
	for _, s := range r.specs {
		if s.Config != nil {
			out = append(out, config.Section{Path: configPath(s), Default: s.Config})
		}
	}
	return out
}

// AppName names the app owning a cookie's app byte: the registered app's
// name, "baseline" (1), "none" (0, a flow ovsmesh does not own), else
// "app" and the number.
func (r *Registry) AppName(id flows.AppID) string {
	switch {
	case id == 0:
		return "none"
	case id == flows.AppBaseline:
		return "baseline"
	case r.byID[id] != nil:
		return r.byID[id].Name
	}
	return "app" + strconv.Itoa(int(id))
}

// Enabled reports whether spec runs under cfg.
func (r *Registry) Enabled(s Spec, cfg config.Config) bool {
	if s.Enabled == nil {
		return true
	}
	return s.Enabled(section(s, cfg))
}

// section returns s's decoded section in cfg, or its defaults when cfg
// holds none (a Config made by config.Default).
func section(s Spec, cfg config.Config) any {
	if s.Config == nil {
		return nil
	}
	if v := cfg.Section(configPath(s)); v != nil {
		return v
	}
	return s.Config()
}

// Baseline returns the table-miss entry of every stage under generation
// gen: the owner's Miss while it runs under cfg, else a pass-through to
// the next non-internal stage (a drop in the last, and in internal
// stages).
func (r *Registry) Baseline(gen uint16, cfg config.Config) []flows.Flow {
	stages := r.pipeline.Stages()
	var out []flows.Flow
	for i, st := range stages {
		f := flows.Flow{Table: st.Table, Priority: 0, Cookie: flows.NewCookie(gen, flows.AppBaseline, uint32(st.Table))}
		var miss []flows.Action
		if s := r.owner[st.Table]; s != nil && r.Enabled(*s, cfg) {
			miss = declared(s, st.Table).Miss
		}
		switch {
		case miss != nil:
			f.Actions = miss
		case st.Internal:
		default:
			for _, n := range stages[i+1:] {
				if !n.Internal {
					f.Goto = n.Table
					break
				}
			}
		}
		out = append(out, f)
	}
	return out
}

// AppPorts returns the interfaces the apps enabled under cfg own on the
// hosts' mesh bridges, each with its app's name.
func (r *Registry) AppPorts(cfg config.Config) []topo.AppPort {
	var out []topo.AppPort
	for _, s := range r.specs {
		if s.Ports == nil || !r.Enabled(s, cfg) {
			continue
		}
		for _, p := range s.Ports(section(s, cfg)) {
			p.App = s.Name
			out = append(out, p)
		}
	}
	return out
}

// Commands returns every app's CLI subcommands, in registration order.
func (r *Registry) Commands() []*cobra.Command {
	var out []*cobra.Command
	for _, s := range r.specs {
		if s.Commands != nil {
			out = append(out, s.Commands()...)
		}
	}
	return out
}

// Running is what Start built: the controller's registrations, the
// apps' API routes and their background work.
type Running struct {
	// Registrations are the running apps in registration order.
	Registrations []controller.Registration
	// Routes are the running apps' API endpoints.
	Routes []api.Route
	// Runners are the running apps with background work; the daemon
	// calls Run on each once the controller serves.
	Runners []Runner
}

// Start builds every app enabled under cfg with base (Config and Logger
// are set per app). It fails on the first app whose New fails, naming
// it; New starts nothing, so nothing needs undoing.
func (r *Registry) Start(cfg config.Config, base Env) (*Running, error) {
	base.Pipeline = r.pipeline
	base.AppName = r.AppName
	explainers, running := map[string]Explainer{}, map[string]bool{}
	base.Explainer = func(stage string) (Explainer, bool) { return explainers[stage], running[stage] }
	run := &Running{}
	for _, s := range r.specs {
		if !r.Enabled(s, cfg) {
			if base.Logger != nil {
				base.Logger.Info("app disabled: its stages pass packets on", "app", s.Name)
			}
			continue
		}
		env := base
		env.Config = section(s, cfg)
		if env.Logger != nil {
			env.Logger = env.Logger.With("app", s.Name)
		}
		app, err := s.New(env)
		if err != nil {
			return nil, fmt.Errorf("app %s: %w", s.Name, err)
		}
		reg := controller.Registration{App: app, ID: s.ID}
		for _, t := range s.Tables {
			reg.Tables = append(reg.Tables, t.ID)
		}
		for _, o := range s.Observe {
			st, _ := r.pipeline.Lookup(o)
			reg.Observe = append(reg.Observe, st.Table)
		}
		run.Registrations = append(run.Registrations, reg)
		if rp, ok := app.(RouteProvider); ok {
			run.Routes = append(run.Routes, rp.Routes()...)
		}
		if r, ok := app.(Runner); ok {
			run.Runners = append(run.Runners, r)
		}
		e, _ := app.(Explainer)
		for _, t := range s.Tables {
			running[t.Name] = true
			if e != nil {
				explainers[t.Name] = e
			}
		}
	}
	return run, nil
}

// Reload hands each running app its new section from cfg (validated) and
// returns the settings that need a restart, as YAML paths: an app turned
// on or off, and what each app's Reloader says. It stops at the first
// app that fails, naming it.
func (r *Registry) Reload(ctx context.Context, cfg config.Config, run *Running) ([]string, error) {
	running := map[flows.AppID]controller.App{}
	for _, reg := range run.Registrations {
		running[reg.ID] = reg.App
	}
	var restart []string
	for _, s := range r.specs {
		app, on := running[s.ID]
		if on != r.Enabled(s, cfg) {
			restart = append(restart, configPath(s)+".enabled")
			continue
		}
		rl, ok := app.(Reloader)
		if !on || !ok {
			continue
		}
		more, err := rl.Reload(ctx, section(s, cfg))
		if err != nil {
			return restart, fmt.Errorf("reload app %s: %w", s.Name, err)
		}
		for _, m := range more {
			restart = append(restart, configPath(s)+"."+m)
		}
	}
	return restart, nil
}
