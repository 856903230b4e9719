package apps

import (
	"errors"
	"strings"
	"testing"

	"github.com/ovsmesh/ovsmesh/config"
	"github.com/ovsmesh/ovsmesh/controller"
	"github.com/ovsmesh/ovsmesh/flows"
)

type nopApp struct{ name string }

func (a nopApp) Name() string { return a.name }

func spec(name string, id flows.AppID, tables ...Table) Spec {
	return Spec{Name: name, ID: id, Tables: tables, New: func(Env) (controller.App, error) { return nopApp{name}, nil }}
}

type onOff struct {
	Enabled bool `yaml:"enabled"`
}

func TestNewRegistryRefuses(t *testing.T) {
	a := spec("alpha", 2, Table{Name: "one", ID: 10})
	tests := []struct {
		name  string
		specs []Spec
		want  string
	}{
		{"same app ID", []Spec{a, spec("beta", 2, Table{Name: "two", ID: 20})}, "apps alpha and beta both claim app ID 2"},
		{"same table", []Spec{a, spec("beta", 3, Table{Name: "two", ID: 10})}, "apps alpha and beta both claim table 10 (stages one and two)"},
		{"same stage name", []Spec{a, spec("beta", 3, Table{Name: "one", ID: 20})}, "app beta: stage name one is already app alpha's"},
		{"ingress is the controller's", []Spec{spec("beta", 3, Table{Name: IngressStage, ID: 20})}, "stage name ingress is already the controller's"},
		{"reserved ID 0", []Spec{spec("beta", 0, Table{Name: "two", ID: 20})}, "app beta: app ID 0 is reserved"},
		{"reserved ID 1", []Spec{spec("beta", 1, Table{Name: "two", ID: 20})}, "app beta: app ID 1 is reserved"},
		{"bad name", []Spec{spec("Beta!", 3)}, `app "Beta!": name must be lower-case`},
		{"twice", []Spec{a, a}, "app alpha is registered twice"},
		{"no stages at all", []Spec{spec("beta", 3)}, "no app declares a stage"},
		{"unknown successor", []Spec{spec("beta", 3, Table{Name: "two", ID: 20, Next: []string{"nowhere"}})},
			`app beta, stage two: successor "nowhere" is not a stage any app declares`},
		{"a cycle", []Spec{a, spec("beta", 3, Table{Name: "two", ID: 20, Next: []string{"one"}})},
			"app beta, stage two (table 20): successor one (table 10, app alpha) does not come after it: a cycle"},
		{"self loop", []Spec{spec("beta", 3, Table{Name: "two", ID: 20, Next: []string{"two"}})}, "does not come after it: a cycle"},
		{"unknown observed stage", []Spec{a, func() Spec { s := spec("beta", 3); s.Observe = []string{"nine"}; return s }()},
			`app beta: observes stage "nine", which no app declares`},
		{"same config section", []Spec{
			func() Spec { s := a; s.Config = func() any { return &onOff{} }; return s }(),
			func() Spec {
				s := spec("beta", 3, Table{Name: "two", ID: 20})
				s.Config, s.ConfigPath = func() any { return &onOff{} }, "apps.alpha"
				return s
			}()}, "apps alpha and beta both read config section apps.alpha"},
		{"no New", []Spec{{Name: "beta", ID: 3}}, "app beta: no New"},
		{"another app's internal stage", []Spec{
			spec("alpha", 2, Table{Name: "one", ID: 10, Next: []string{"two_in"}}),
			spec("beta", 3, Table{Name: "two", ID: 20}, Table{Name: "two_in", ID: 21, Internal: true})},
			"app alpha, stage one: successor two_in is internal to app beta"},
		{"only internal stages", []Spec{spec("beta", 3, Table{Name: "two_in", ID: 21, Internal: true})}, "no app declares a stage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewRegistry(tt.specs...); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewRegistry error %v, want %q", err, tt.want)
			}
		})
	}
}

// TestComposeAndBaseline: stages run in table order behind an ingress
// stage; each may goto the next and the stages it names; the baseline
// installs each running app's misses, passes packets through a
// disabled app's stages, and drops in the last stage.
func TestComposeAndBaseline(t *testing.T) {
	first := spec("first", 2, Table{Name: "classify", ID: 10, Miss: []flows.Action{flows.ToController}},
		Table{Name: "out", ID: 40, Miss: []flows.Action{flows.Group{ID: 1}}})
	mid := spec("mid", 3, Table{Name: "check", ID: 30, Next: []string{"out"}}, Table{Name: "answer", ID: 31, Miss: []flows.Action{flows.ToController}})
	mid.Config = func() any { return &onOff{Enabled: true} }
	mid.Enabled = func(cfg any) bool { return cfg.(*onOff).Enabled }
	last := spec("last", 4, Table{Name: "tail", ID: 50})
	r, err := NewRegistry(first, mid, last)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, st := range r.Pipeline().Stages() {
		got = append(got, st.Name)
	}
	if strings.Join(got, ",") != "ingress,classify,check,answer,out,tail" {
		t.Errorf("stages %v", got)
	}
	p := r.Pipeline()
	for _, e := range []struct {
		from, to flows.TableID
		ok       bool
	}{{0, 10, true}, {10, 30, true}, {30, 31, true}, {30, 40, true}, {31, 40, true}, {10, 40, false}, {40, 50, true}, {31, 50, false}} {
		if p.GotoAllowed(e.from, e.to) != e.ok {
			t.Errorf("GotoAllowed(%d, %d) = %v", e.from, e.to, !e.ok)
		}
	}

	misses := func(cfg config.Config) string {
		var out []string
		for _, f := range r.Baseline(7, cfg) {
			if f.Cookie != flows.NewCookie(7, flows.AppBaseline, uint32(f.Table)) || f.Priority != 0 {
				t.Errorf("baseline flow %v: want priority 0 and the baseline cookie of its table", f)
			}
			out = append(out, strings.TrimPrefix(f.String()[strings.Index(f.String(), "table="):], ""))
		}
		return strings.Join(out, "\n")
	}
	on, err := config.Parse(nil, r.Sections()...)
	if err != nil {
		t.Fatal(err)
	}
	want := `table=0, priority=0 actions=goto_table:10
table=10, priority=0 actions=CONTROLLER:65535
table=30, priority=0 actions=goto_table:31
table=31, priority=0 actions=CONTROLLER:65535
table=40, priority=0 actions=group:1
table=50, priority=0 actions=drop`
	if got := misses(on); got != want {
		t.Errorf("baseline with mid on:\n%s\nwant\n%s", got, want)
	}
	off, err := config.Parse([]byte("apps:\n  mid:\n    enabled: false\n"), r.Sections()...)
	if err != nil {
		t.Fatal(err)
	}
	want = strings.Replace(want, "table=31, priority=0 actions=CONTROLLER:65535", "table=31, priority=0 actions=goto_table:40", 1)
	if got := misses(off); got != want {
		t.Errorf("baseline with mid off:\n%s\nwant\n%s", got, want)
	}
	for _, f := range r.Baseline(7, off) {
		if err := p.Check(flows.AddFlow(f)); err != nil {
			t.Errorf("the pipeline refuses its own baseline: %v", err)
		}
	}

	run, err := r.Start(off, Env{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, reg := range run.Registrations {
		names = append(names, reg.App.Name())
	}
	if strings.Join(names, ",") != "first,last" {
		t.Errorf("started %v, want the disabled app left out", names)
	}
	if r.AppName(3) != "mid" || r.AppName(1) != "baseline" || r.AppName(0) != "none" || r.AppName(77) != "app77" {
		t.Errorf("AppName: %q %q %q %q", r.AppName(3), r.AppName(1), r.AppName(0), r.AppName(77))
	}
}

func TestStartNamesTheFailingApp(t *testing.T) {
	bad := spec("bad", 3, Table{Name: "two", ID: 20})
	bad.New = func(Env) (controller.App, error) { return nil, errors.New("cannot open its table") }
	r, err := NewRegistry(spec("good", 2, Table{Name: "one", ID: 10}), bad)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Start(config.Default(), Env{}); err == nil || err.Error() != "app bad: cannot open its table" {
		t.Errorf("Start error %v", err)
	}
}

// TestInternalStages checks an app's internal tables stay out of the
// chain: the stage before them jumps past them, "next" from inside them
// is the following chain stage, and their table-miss drops.
func TestInternalStages(t *testing.T) {
	r, err := NewRegistry(
		spec("alpha", 2, Table{Name: "one", ID: 10}, Table{Name: "three", ID: 30}),
		spec("beta", 3, Table{Name: "two", ID: 20, Next: []string{"two_b"}},
			Table{Name: "two_a", ID: 21, Internal: true, Next: []string{"next"}},
			Table{Name: "two_b", ID: 22, Internal: true, Next: []string{"two_c"}},
			Table{Name: "two_c", ID: 23, Internal: true, Miss: []flows.Action{flows.ToController}}),
	)
	if err != nil {
		t.Fatal(err)
	}
	p := r.Pipeline()
	env := Env{Pipeline: p}
	if got := env.Next("one"); got != 20 {
		t.Errorf("Next(one) = %d, want 20 (two)", got)
	}
	if got := env.Next("two"); got != 30 {
		t.Errorf("Next(two) = %d, want 30: internal tables are not next", got)
	}
	if got := env.Next("two_a"); got != 30 {
		t.Errorf("Next(two_a) = %d, want 30", got)
	}
	for _, c := range []struct {
		from, to flows.TableID
		ok       bool
	}{{10, 20, true}, {10, 21, false}, {20, 30, true}, {20, 22, true}, {20, 21, false}, {21, 30, true}, {22, 23, true}, {23, 30, true}} {
		if got := p.GotoAllowed(c.from, c.to); got != c.ok {
			t.Errorf("GotoAllowed(%d, %d) = %v, want %v", c.from, c.to, got, c.ok)
		}
	}
	miss := map[flows.TableID]flows.Flow{}
	for _, f := range r.Baseline(1, config.Default()) {
		miss[f.Table] = f
	}
	if f := miss[20]; f.Goto != 30 {
		t.Errorf("miss of two goes to %d, want 30", f.Goto)
	}
	if f := miss[21]; f.Goto != 0 || len(f.Actions) != 0 {
		t.Errorf("miss of internal two_a = %v, want a drop", f)
	}
	if f := miss[23]; len(f.Actions) != 1 {
		t.Errorf("miss of two_c = %v, want its declared Miss", f)
	}
	if f := miss[10]; f.Goto != 20 {
		t.Errorf("miss of one goes to %d, want 20", f.Goto)
	}
}

func TestEnvStageAndNext(t *testing.T) {
	r, err := NewRegistry(spec("a", 2, Table{Name: "one", ID: 10}, Table{Name: "two", ID: 20}))
	if err != nil {
		t.Fatal(err)
	}
	env := Env{Pipeline: r.Pipeline()}
	if env.Stage("two") != 20 || env.Next("one") != 20 || env.Next(IngressStage) != 10 {
		t.Errorf("Stage/Next: %d %d %d", env.Stage("two"), env.Next("one"), env.Next(IngressStage))
	}
	defer func() {
		if recover() == nil {
			t.Error("Next of the last stage did not panic")
		}
	}()
	env.Next("two")
}
