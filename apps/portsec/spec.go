package portsec

import (
	"github.com/ovsmesh/ovsmesh/apps"
	"github.com/ovsmesh/ovsmesh/controller"
	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/topo"
)

// ID is the port security app's cookie app byte.
const ID flows.AppID = 5

// TablePortSecurity (4) is the app's one stage, in front of everything
// that learns or forwards (nat_external at 8, classify at 10): a frame a
// declared port may not send is dropped here, before any app sees it.
// Its table-miss passes every other frame on.
const TablePortSecurity flows.TableID = 4

// Priorities in TablePortSecurity, highest wins (OpenFlow 1.3.5 §5.3).
// A declared port's own flows all match its in_port and sit above the
// guards, so the guards only ever see other ports' frames.
const (
	// PrioAllow: what a declared port may send goes on: ARP whose
	// sender is its MAC and one of its addresses (or 0.0.0.0 in a probe,
	// RFC 5227 §2.1.1), IPv4 from one of its addresses, and DHCP
	// discovery (0.0.0.0:68 to 255.255.255.255:67, RFC 2131 §4.1); with
	// no addresses declared, ARP whose sender MAC is its MAC.
	PrioAllow uint16 = 300
	// PrioDropL3: other ARP, and other IPv4, from the declared MAC is
	// dropped.
	PrioDropL3 uint16 = 200
	// PrioL2: every other frame from the declared MAC: dropped when the
	// port declares addresses (IPv6 and other EtherTypes), passed when
	// it declares only a MAC.
	PrioL2 uint16 = 100
	// PrioDropMAC: any frame from the port with another source MAC is
	// dropped.
	PrioDropMAC uint16 = 50
	// PrioPass: frames from tunnels and from ports an app owns go on
	// unguarded (tunnels carry the declared guests' own traffic from
	// their hosts).
	PrioPass uint16 = 40
	// PrioGuard: a frame from any other port of a mesh host whose source
	// is a declared MAC, or ARP whose sender IP is a declared address,
	// is dropped: a declared binding is never learned over.
	PrioGuard uint16 = 30
)

// Spec declares the port security app to the registry.
var Spec = apps.Spec{
	Name:     "portsec",
	ID:       ID,
	Tables:   []apps.Table{{Name: "port_security", ID: TablePortSecurity}},
	Config:   func() any { c := DefaultConfig(); return &c },
	New:      newFromEnv,
	Commands: commands,
}

// newFromEnv builds the app on the controller's state.
func newFromEnv(env apps.Env) (controller.App, error) {
	var records *RecordTable
	var bindings *topo.DeclaredTable
	if env.State != nil {
		var err error
		if records, err = openRecords(env.State); err != nil {
			return nil, err
		}
		if bindings, err = topo.OpenDeclaredTable(env.State); err != nil {
			return nil, err
		}
	}
	var mesh Mesh
	if env.Mesh != nil {
		mesh = env.Mesh
	}
	return New(Options{
		Config: *env.Config.(*Config), Mesh: mesh, Records: records, Bindings: bindings,
		Generation: env.Generation, Next: env.Next("port_security"),
		Logger: env.Logger, Metrics: NewMetrics(env.Registerer),
	})
}
