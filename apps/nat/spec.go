package nat

import (
	"github.com/ovsmesh/ovsmesh/apps"
	"github.com/ovsmesh/ovsmesh/controller"
	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/topo"
)

// ID is the NAT app's cookie app byte.
const ID flows.AppID = 4

// The NAT app's tables. TableExternal and TableNAT are stages of the
// chain; the others are internal: only the app's own flows reach them,
// by goto or by a ct action's recirculation.
const (
	// TableExternal (8) takes everything that comes in on the gateway's
	// external port, before classify: the outside is neither a guest nor
	// a tunnel, so nothing from it is learned or flooded.
	TableExternal flows.TableID = 8
	// TableNAT (20) is the overlay's entry: the router IP's ARP
	// responder on every host, redirects on their target's host, the
	// router MAC to the gateway from other hosts, and on the gateway the
	// way into conntrack.
	TableNAT flows.TableID = 20
	// TableRedirect (21) follows the redirect zone's lookup.
	TableRedirect flows.TableID = 21
	// TableUnSNAT (22) follows the SNAT zone's lookup (un-SNAT).
	TableUnSNAT flows.TableID = 22
	// TableDNAT (23) follows the DNAT zone's lookup: forwards commit here.
	TableDNAT flows.TableID = 23
	// TableRoute (24) picks the way out: to a guest, with hairpin SNAT,
	// or to the outside, with masquerade.
	TableRoute flows.TableID = 24
	// TableDeliver (25) rewrites the Ethernet header for an inside IP's
	// guest and hands the packet back to the overlay.
	TableDeliver flows.TableID = 25
	// TableOut (26) sends to the next hop out of the external port.
	TableOut flows.TableID = 26
	// TableRouter (27) takes the router MAC's traffic, after redirects:
	// other hosts send it to the gateway, the gateway into its SNAT zone.
	TableRouter flows.TableID = 27
	// TableRouterARP (35) answers ARP requests for the router IP on the
	// asker's host. It comes after the proxy ARP stages, so proxy ARP
	// still learns the asker's binding from the request (a guest's first
	// ARP is often the one for its default gateway), which is how the
	// gateway knows where to deliver the replies.
	TableRouterARP flows.TableID = 35
)

// Priorities, highest wins (OpenFlow 1.3.5 §5.3).
const (
	// TableExternal.
	prioExtNextHopARP uint16 = 310 // the next hop's request or reply: to the controller (and answered)
	prioExtARP        uint16 = 300 // a request for the external IP: answered from the datapath
	prioExtIP         uint16 = 200 // IPv4 to the external IP: into the SNAT zone
	prioExtDrop       uint16 = 100 // anything else from outside: dropped, counted

	// TableNAT.
	prioRouterGuard   uint16 = 400 // ARP claiming the router IP from a guest: dropped
	prioRouterARP     uint16 = 300 // a request for the router IP: answered on the asker's host
	prioRedirect      uint16 = 250 // a redirect's traffic on its target's host: into the redirect zone
	prioResolveReply  uint16 = 240 // a guest's reply to the router's ARP request: to the controller
	prioToRouter      uint16 = 200 // IPv4 to the router MAC: to the gateway, or into the SNAT zone there
	prioRouterMACDrop uint16 = 150 // anything else to the router MAC: dropped

	// Internal tables.
	prioInvalid    uint16 = 300 // conntrack-invalid after both zones: dropped
	prioHairpin    uint16 = 300 // inside to inside through the router: SNAT to the external IP
	prioRule       uint16 = 200 // a forward or redirect committing a new connection
	prioEstablish  uint16 = 200 // an existing connection going on
	prioEstablish2 uint16 = 190
	prioToInside   uint16 = 200 // to an inside guest: deliver
	prioUnforward  uint16 = 100 // a new connection to the external IP on no forward: dropped
	prioMasquerade uint16 = 100 // a new connection from inside: SNAT, out
	prioDefault    uint16 = 50  // anything else goes on
	prioPass       uint16 = 1   // the rest of the overlay goes on
	prioDeliver    uint16 = 100 // one inside IP's guest
)

// Spec declares the NAT app to the registry.
var Spec = apps.Spec{
	Name: "nat",
	ID:   ID,
	Tables: []apps.Table{
		{Name: "nat_external", ID: TableExternal},
		{Name: "nat", ID: TableNAT, Next: []string{"nat_router"}},
		{Name: "nat_redirect", ID: TableRedirect, Internal: true, Next: []string{"nat_router"}},
		{Name: "nat_unsnat", ID: TableUnSNAT, Internal: true, Next: []string{"nat_route"}},
		{Name: "nat_dnat", ID: TableDNAT, Internal: true, Next: []string{"nat_route"}},
		{Name: "nat_route", ID: TableRoute, Internal: true, Next: []string{"nat_deliver", "nat_out"}},
		{Name: "nat_deliver", ID: TableDeliver, Internal: true, Miss: []flows.Action{flows.ToController}},
		{Name: "nat_out", ID: TableOut, Internal: true},
		{Name: "nat_router", ID: TableRouter, Internal: true, Next: []string{"next"}},
		{Name: "nat_router_arp", ID: TableRouterARP},
	},
	Config:     func() any { c := DefaultConfig(); return &c },
	ConfigPath: "nat",
	Enabled:    func(cfg any) bool { return cfg.(*Config).Enabled() },
	New:        newFromEnv,
	Commands:   commands,
	Ports: func(cfg any) []topo.AppPort {
		c := cfg.(*Config)
		return []topo.AppPort{{Host: c.Gateway, Name: c.External.Port}}
	},
}

// newFromEnv builds the app on the controller's state.
func newFromEnv(env apps.Env) (controller.App, error) {
	var rules *RuleTable
	var arp *topo.ARPTable
	var macs MACs
	if env.State != nil {
		var err error
		if rules, err = openRules(env.State); err != nil {
			return nil, err
		}
		if arp, err = topo.OpenARPTable(env.State); err != nil {
			return nil, err
		}
		m, err := topo.OpenMACTable(env.State)
		if err != nil {
			return nil, err
		}
		macs = m
	}
	return New(Options{
		Config: *env.Config.(*Config), Mesh: env.Mesh, Rules: rules, ARP: arp, MACs: macs,
		Generation: env.Generation, Next: env.Next("nat"),
		Clock: env.TimeSource(), Logger: env.Logger, Metrics: NewMetrics(env.Registerer),
	})
}
