package apps

import (
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/ovsmesh/ovsmesh/api"
	"github.com/ovsmesh/ovsmesh/controller"
	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/topo"
)

// Spec is everything the rest of ovsmesh knows about an app: each app
// package has one, and the program lists them in pipeline order in one
// place (cmd/ovsmesh/apps.go).
type Spec struct {
	// Name names the app in logs, metrics, the API and its configuration
	// section (apps.<name> unless ConfigPath says otherwise): lower-case
	// letters, digits and '_'.
	Name string
	// ID is the cookie app byte of every flow the app installs
	// (flows.Cookie), 2 to 255 and unique; 1 is the controller's
	// baseline.
	ID flows.AppID
	// Tables are the stages the app owns.
	Tables []Table
	// Observe names other apps' stages whose packet-ins the app also
	// receives, after their owner.
	Observe []string
	// Config returns a new pointer to the app's configuration type
	// holding its defaults (it may implement config.Validator); nil for
	// an app without configuration.
	Config func() any
	// ConfigPath is the YAML path of the section; default "apps.<Name>".
	ConfigPath string
	// Enabled reports, from the decoded section, whether the app runs;
	// nil means always. A disabled app is not built, and its stages pass
	// every packet on to the next stage.
	Enabled func(cfg any) bool
	// New builds the app for the running controller. The returned value
	// implements controller.App and whichever handler interfaces it
	// needs, and may implement RouteProvider. New must not start
	// goroutines or touch the network: a later app's failure leaves
	// nothing half-started.
	New func(env Env) (controller.App, error)
	// Commands returns the app's CLI subcommands (they talk to the API;
	// see package cli); nil for none.
	Commands func() []*cobra.Command
	// Ports returns, from the decoded section, the interfaces the app
	// owns on hosts' mesh bridges (Host and Name of each; App is filled
	// in): the OVSDB side adds them to the bridge, marked as ovsmesh's,
	// and ClassifyPorts keeps them out of every other app's way. Nil
	// for none; only asked of enabled apps.
	Ports func(cfg any) []topo.AppPort
}

// Table declares one stage an app owns.
type Table struct {
	// Name is the stage name ("classify"), unique in the pipeline.
	Name string
	// ID is the table number, unique; stages run in table order.
	ID flows.TableID
	// Next names further stages a flow here may goto_table, besides the
	// stage that follows it in table order, which is always allowed.
	Next []string
	// Miss is the table-miss entry's action list while the app runs
	// (flows.ToController to see unknown packets, a flood group...);
	// nil passes packets to the next stage (and drops them in the last).
	// The controller installs it under the baseline cookie.
	Miss []flows.Action
	// Internal marks a table only the app's own tables reach (by goto or
	// by a ct action's recirculation): the stage before it in table
	// order skips it, its Next may name "next" for the first
	// non-internal stage after it, no other app may name it, and its
	// table-miss drops unless Miss says otherwise.
	Internal bool
}

// RouteProvider is implemented by apps that serve API endpoints.
type RouteProvider interface {
	// Routes returns the app's endpoints, under /api/v1/<app>/ for new
	// apps.
	Routes() []api.Route
}

// Env is what an app gets to build itself: the running controller's
// settings and the shared state, each scoped to the app.
type Env struct {
	// Generation is the cookie generation of every flow installed now.
	Generation uint16
	// Pipeline is the composed table graph.
	Pipeline *flows.Pipeline
	// Config is the app's decoded section (Spec.Config's type), nil
	// without one.
	Config any
	// Mesh is the live view of the configured hosts.
	Mesh *topo.Mesh
	// State holds the persistent tables; the app opens its own buckets
	// (topo.Open, topo.OpenMACTable...).
	State *topo.State
	// Logger is tagged app=<name>.
	Logger *slog.Logger
	// Registerer receives the app's metrics; nil-safe wrappers are up to
	// the app (a nil Registerer registers nothing).
	Registerer prometheus.Registerer
	// Clock is the app's time source; nil means RealClock.
	Clock Clock
	// Meters are the packet-in meters the controller keeps on every
	// switch; an app copies a port's packets to the controller through
	// CopyToController. The zero value keeps none.
	Meters controller.Meters
}

// TimeSource returns env's clock, RealClock when none is set.
func (e Env) TimeSource() Clock {
	if e.Clock == nil {
		return RealClock{}
	}
	return e.Clock
}

// Stage returns the table number of the stage named name. It panics
// when no such stage exists: the registry has checked every name an app
// declares, so only a typo in the app's code gets there.
func (e Env) Stage(name string) flows.TableID {
	s, ok := e.Pipeline.Lookup(name)
	if !ok {
		panic(fmt.Sprintf("apps: no stage %q in the pipeline", name))
	}
	return s.Table
}

// Next returns the table of the first non-internal stage after the one
// named name: where a flow goes to "my next stage". It panics like
// Stage, and when nothing follows.
func (e Env) Next(name string) flows.TableID {
	t := e.Stage(name)
	for _, s := range e.Pipeline.Stages() {
		if s.Table > t && !s.Internal {
			return s.Table
		}
	}
	panic(fmt.Sprintf("apps: stage %q is the last stage", name))
}
