package proxyarp

import (
	"github.com/ovsmesh/ovsmesh/apps"
	"github.com/ovsmesh/ovsmesh/controller"
	"github.com/ovsmesh/ovsmesh/flows"
)

// ID is the proxy ARP app's cookie app byte.
const ID flows.AppID = 3

// The proxy ARP app's stages.
const (
	// TableARP (30) checks ARP senders: an ARP packet from a local port
	// whose (in_port, eth_src, arp_spa, arp_sha) is a known binding goes
	// on to TableARPResponder; any other ARP packet from a local port
	// goes to the controller. ARP from tunnels goes straight to the l2
	// stage; every non-ARP packet passes (the table-miss).
	TableARP flows.TableID = 30
	// TableARPResponder (31) answers ARP requests for known IPs in the
	// datapath (OVN-style responder flows, output:IN_PORT); its
	// table-miss passes the packet on.
	TableARPResponder flows.TableID = 31
)

// Priorities, highest wins (OpenFlow 1.3.5 §5.3).
const (
	// PrioARPBadOp (TableARP) drops ARP whose opcode is neither request
	// nor reply (RFC 826), in the datapath.
	PrioARPBadOp uint16 = 5
	// PrioARPInspect (TableARP) copies ARP requests and replies from
	// local ports that no known-sender or gate flow matches (a sender
	// of an unbound IP) to the controller and lets them go on to the
	// responder at once: learning never delays ARP.
	PrioARPInspect uint16 = 10
	// PrioARPInspectPort (TableARP) is PrioARPInspect for one local port
	// whose packet-ins go through the port's meter: one guest's ARP
	// flood spends its own port's budget.
	PrioARPInspectPort uint16 = 11
	// PrioARPResponder (TableARPResponder) answers a request for a
	// known IP (arp,arp_op=1,arp_tpa=IP).
	PrioARPResponder uint16 = 100
	// PrioARPSamePort (TableARPResponder) drops a request whose target
	// sits behind the port it came in on: the segment behind that port
	// (a Linux bridge of containers, say) already delivered it, and an
	// answer sent back into it with the target's MAC as eth_src would
	// make that bridge learn the target behind ovsmesh's port.
	PrioARPSamePort uint16 = 110
	// PrioARPProbeDrop (TableARP) drops ARP with sender IP 0.0.0.0 that
	// is not a request: malformed ARP (OVS leaves the ARP fields zero
	// unless hrd=1, pro=0x0800, hln=6, pln=4) and bogus replies, in the
	// datapath, without a packet-in.
	PrioARPProbeDrop uint16 = 140
	// PrioARPProbe (TableARP) passes ARP probes (RFC 5227: a request with
	// sender IP 0.0.0.0) to the responder without learning.
	PrioARPProbe uint16 = 150
	// PrioARPGate (TableARP) sends ARP claiming a bound IP from any
	// other sender than the binding's owner to the controller, and only
	// there: a claim of a live binding is decided before anyone believes
	// it. One per binding, on every mesh host.
	PrioARPGate uint16 = 180
	// PrioARPKnownSender (TableARP) admits ARP from a known binding:
	// in_port, eth_src, arp_spa and arp_sha all match.
	PrioARPKnownSender uint16 = 200
	// PrioARPHold (TableARP) drops, for a few seconds, ARP from a sender
	// whose claim was just refused (a conflict or an invalid sender), so
	// a flood of them does not reach the controller.
	PrioARPHold uint16 = 250
	// PrioARPWatch (TableARP) sends a bound IP's owner's ARP to the
	// controller while another MAC's claim of the IP is verified: its
	// answer to the probe shows it is alive.
	PrioARPWatch uint16 = 260
	// PrioARPFromTunnel (TableARP) passes ARP from tunnels to the l2
	// stage: it was answered or learned, if at all, at the host it came
	// from.
	PrioARPFromTunnel uint16 = 300
)

// Spec declares the proxy ARP app to the registry.
var Spec = apps.Spec{
	Name: "proxyarp",
	ID:   ID,
	Tables: []apps.Table{
		{Name: "arp", ID: TableARP, Next: []string{"l2"}},
		{Name: "arp_responder", ID: TableARPResponder},
	},
	Config:   func() any { c := DefaultConfig(); return &c },
	Enabled:  func(cfg any) bool { return cfg.(*Config).Enabled },
	New:      newFromEnv,
	Commands: commands,
}

// newFromEnv builds the app on the controller's state.
func newFromEnv(env apps.Env) (controller.App, error) {
	cfg := env.Config.(*Config)
	table, macs, err := openTables(env)
	if err != nil {
		return nil, err
	}
	declared, err := openDeclared(env)
	if err != nil {
		return nil, err
	}
	var static []Static
	for _, s := range cfg.Static {
		static = append(static, Static{IP: s.IP, MAC: append([]byte(nil), s.MAC...)})
	}
	return New(Options{
		Mesh: env.Mesh, Meters: env.Meters, Table: table, MACs: macs, Generation: env.Generation, L2: env.Stage("l2"),
		Aging: cfg.Aging, Static: static, Declared: declared, VerifyTimeout: cfg.VerifyTimeout, MaxIPsPerMAC: cfg.MaxIPsPerMAC, MaxBindings: cfg.MaxBindings,
		Clock: env.TimeSource(), Logger: env.Logger, Metrics: NewMetrics(env.Registerer),
	}), nil
}
