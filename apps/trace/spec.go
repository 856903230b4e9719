package trace

import (
	"github.com/ovsmesh/ovsmesh/apps"
	"github.com/ovsmesh/ovsmesh/controller"
	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/topo"
)

// ID is the trace app's cookie app byte: its temporary flows carry it,
// so their packet-ins come to the app.
const ID flows.AppID = 14

// Reg is the Nicira register a probe's packet-outs write and the
// temporary flows match (flows/meta.go): bit i set means the probe has
// passed the pipeline's i-th stage (in table order) on this switch.
// Registers do not cross tunnels, so every host starts with none set.
// No other app may use it.
const Reg uint8 = 7

// PrioObserve is the priority of the temporary flows: above every flow
// of every app (OpenFlow 1.3.5 §5.3: the highest priority wins).
const PrioObserve uint16 = 0xffff

// Spec declares the trace app to the registry. It owns no stage: its
// flows live for one probe at a time, in every stage.
var Spec = apps.Spec{
	Name:     "trace",
	ID:       ID,
	Config:   func() any { c := DefaultConfig(); return &c },
	New:      newFromEnv,
	Commands: commands,
}

// newFromEnv builds the app on the controller's state.
func newFromEnv(env apps.Env) (controller.App, error) {
	o := Options{Config: *env.Config.(*Config), Generation: env.Generation, Pipeline: env.Pipeline,
		AppName: env.AppName, Explainer: env.Explainer, Clock: env.TimeSource(), Logger: env.Logger,
		Metrics: NewMetrics(env.Registerer)}
	if env.Mesh != nil {
		o.Mesh = env.Mesh
	}
	if env.State != nil {
		macs, err := topo.OpenMACTable(env.State)
		if err != nil {
			return nil, err
		}
		arp, err := topo.OpenARPTable(env.State)
		if err != nil {
			return nil, err
		}
		o.MACs, o.ARP = macs, arp
	}
	return New(o)
}
