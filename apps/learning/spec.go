package learning

import (
	"github.com/ovsmesh/ovsmesh/apps"
	"github.com/ovsmesh/ovsmesh/controller"
	"github.com/ovsmesh/ovsmesh/flows"
)

// ID is the learning app's cookie app byte.
const ID flows.AppID = 2

// The learning app's stages.
const (
	// TableClassify (10) admits packets: known local sources and every
	// tunnel port go on to the next stage, tunnel packets tagged with
	// flows.MetaFromTunnel; the table-miss sends an unknown source to the
	// controller.
	TableClassify flows.TableID = 10
	// TableL2 (40) forwards by eth_dst; its table-miss floods with split
	// horizon through GroupFloodLocal or GroupFloodTunnel.
	TableL2 flows.TableID = 40
)

// Priorities, highest wins (OpenFlow 1.3.5 §5.3).
const (
	// PrioFloodFromTunnel (TableL2) floods packets tagged MetaFromTunnel
	// to local ports only.
	PrioFloodFromTunnel uint16 = 1
	// PrioUnknownSrc (TableClassify) sends a copy of a packet from an
	// unknown source on a known local port to the controller and lets the
	// packet go on at once (datapath first: nothing waits for learning).
	// One per local port.
	PrioUnknownSrc uint16 = 50
	// PrioPortLimit (TableClassify) drops unknown sources on a port that
	// holds max_macs_per_port MACs, for port_limit_hold (Faucet's
	// max_hosts): the port's known MACs keep working.
	PrioPortLimit uint16 = 60
	// PrioTunnelIn (TableClassify) admits everything from a tunnel port.
	PrioTunnelIn uint16 = 100
	// PrioL2Dst (TableL2) forwards a learned eth_dst; also drops frames
	// to flows.ProbeMAC.
	PrioL2Dst uint16 = 100
	// PrioKnownSrc (TableClassify) admits a learned (in_port, eth_src).
	PrioKnownSrc uint16 = 200
	// PrioWatch (TableClassify) copies to the controller, for the
	// verification window, every frame of a MAC's current place while
	// another place claims it: a frame proves the owner is alive.
	PrioWatch uint16 = 250
	// PrioDamped (TableClassify) drops a claimant (in_port, eth_src): a
	// move being verified, refused, or damped because the MAC flaps.
	// Never the MAC's current place.
	PrioDamped uint16 = 300
)

// Groups, both of type ALL, written with ADD_OR_MOD.
const (
	// GroupFloodLocal floods a packet from a local port: every local port
	// and every tunnel (the switch skips the in_port).
	GroupFloodLocal flows.GroupID = 1
	// GroupFloodTunnel floods a packet from a tunnel: local ports only.
	GroupFloodTunnel flows.GroupID = 2
)

// Spec declares the learning app to the registry.
var Spec = apps.Spec{
	Name: "learning",
	ID:   ID,
	Tables: []apps.Table{
		{Name: "classify", ID: TableClassify, Miss: []flows.Action{flows.ToController}},
		{Name: "l2", ID: TableL2, Miss: []flows.Action{flows.Group{ID: GroupFloodLocal}}},
	},
	Config:   func() any { c := DefaultConfig(); return &c },
	New:      newFromEnv,
	Commands: commands,
}

// newFromEnv builds the app on the controller's state.
func newFromEnv(env apps.Env) (controller.App, error) {
	cfg := env.Config.(*Config)
	table, ips, err := openTables(env)
	if err != nil {
		return nil, err
	}
	return New(Options{
		Mesh: env.Mesh, Meters: env.Meters, Table: table, IPs: ips, Generation: env.Generation, Next: env.Next("classify"),
		Config: *cfg, Clock: env.TimeSource(), Logger: env.Logger, Metrics: NewMetrics(env.Registerer),
	}), nil
}
