package trace

import (
	"fmt"
	"strings"
	"time"

	"github.com/ovsmesh/ovsmesh/flows"
)

// Request is the body of POST /api/v1/trace.
type Request struct {
	// Src and Dst are guest IPv4 addresses, MACs, or HOST:PORT (a port
	// number or interface name on a configured host).
	Src string `json:"src"`
	Dst string `json:"dst"`
	// Proto is icmp (the default), tcp, udp or arp.
	Proto string `json:"proto,omitempty"`
	// Port is the TCP or UDP destination port; default 80.
	Port uint16 `json:"port,omitempty"`
	// DstMAC, when set, is the probe's Ethernet destination instead of
	// DST's own MAC: for a DST outside the mesh, the MAC of the router
	// the guest sends it to (NAT's router_mac).
	DstMAC string `json:"dst_mac,omitempty"`
	// Explain answers from the controller's state without touching a
	// switch.
	Explain bool `json:"explain,omitempty"`
}

// Result is the answer to a trace: the packet's way through the mesh,
// in a shape a page can draw (visits are nodes' passes, tunnels are
// edges).
type Result struct {
	// Mode is "probe" or "explain".
	Mode string `json:"mode"`
	// Src and Dst are the endpoints as resolved.
	Src Endpoint `json:"src"`
	Dst Endpoint `json:"dst"`
	// Proto is icmp, tcp, udp or arp; Port the TCP/UDP destination port.
	Proto string `json:"proto"`
	Port  uint16 `json:"port,omitempty"`
	// Tag says how the probe was marked (probe mode).
	Tag string `json:"tag,omitempty"`
	// Packet is the frame as injected at Src, in hex; Flow its fields in
	// ovs-ofctl syntax.
	Packet string `json:"packet"`
	Flow   string `json:"flow"`
	// Visits are the packet's passes through switches, in the order they
	// began.
	Visits []Visit `json:"visits"`
	// Tunnels are the tunnel crossings, in order.
	Tunnels []Crossing `json:"tunnels"`
	// Verdicts say where the packet ended, one per end.
	Verdicts []Verdict `json:"verdicts"`
	// Verdict sums the verdicts up in one line.
	Verdict string `json:"verdict"`
	// HostsReached lists the hosts the packet visited, in order.
	HostsReached []string `json:"hosts_reached"`
	// Explanation is what the controller expects (probe mode).
	Explanation *Result `json:"explanation,omitempty"`
	// Agree is set when the probe went where the explanation says, stage
	// by stage, with the flows it names.
	Agree bool `json:"agree"`
	// Disagreements say where the probe and the explanation differ.
	Disagreements []string `json:"disagreements,omitempty"`
	// Warnings are what the trace could not be sure of.
	Warnings []string `json:"warnings,omitempty"`
	// Started is when the trace began; DurationMS how long it took.
	Started    time.Time `json:"started"`
	DurationMS float64   `json:"duration_ms"`
}

// Endpoint is SRC or DST as resolved.
type Endpoint struct {
	// Given is what the request said.
	Given string `json:"given"`
	// Host, DPID, OFPort and PortName are where the MAC sits ("" and 0
	// for an unknown destination).
	Host     string       `json:"host,omitempty"`
	DPID     string       `json:"dpid,omitempty"`
	OFPort   flows.OFPort `json:"ofport,omitempty"`
	PortName string       `json:"port_name,omitempty"`
	// MAC and IP are the addresses the probe uses.
	MAC string `json:"mac,omitempty"`
	IP  string `json:"ip,omitempty"`
}

// Visit is one pass of the packet through one switch.
type Visit struct {
	// Host names the switch (its DPID for a standalone switch).
	Host string `json:"host"`
	DPID string `json:"dpid"`
	// InPort is where the packet entered the switch.
	InPort     flows.OFPort `json:"in_port"`
	InPortName string       `json:"in_port_name,omitempty"`
	// From is the peer host when the packet came through a tunnel.
	From string `json:"from,omitempty"`
	// Packet is the frame as it entered (hex), Flow its fields: with
	// in_port, what `ovs-appctl ofproto/trace br-int in_port=N,FLOW`
	// takes to replay the pass.
	Packet string `json:"packet"`
	Flow   string `json:"flow"`
	// Hops are the stages passed, in order.
	Hops []Hop `json:"hops"`

	dpid flows.DPID
}

// Hop is one stage of a visit and the flow that decided it.
type Hop struct {
	// Table and Stage name the stage.
	Table uint8  `json:"table"`
	Stage string `json:"stage"`
	// Priority, Cookie, Match and Actions are the flow's (probe: the
	// one that matched; explain: empty).
	Priority uint16 `json:"priority"`
	Cookie   string `json:"cookie,omitempty"`
	Match    string `json:"match,omitempty"`
	Actions  string `json:"actions,omitempty"`
	// App and Object are the cookie decoded: the owning app ("none" for
	// a flow ovsmesh did not write) and its object.
	App    string `json:"app"`
	Object uint32 `json:"object"`
	// Rule is the owning app's account of the rule (explain).
	Rule string `json:"rule,omitempty"`
	// Rewrites are the header fields changed since the previous stop.
	Rewrites []flows.FieldChange `json:"rewrites,omitempty"`
	// Outcome is "next" (goes on in the switch), "output" (leaves by
	// ports or tunnels), "controller" or "drop".
	Outcome string `json:"outcome"`
	// Notes are what the hop could not be sure of.
	Notes []string `json:"notes,omitempty"`

	appID flows.AppID
}

// Crossing is one tunnel crossing: an edge of the path.
type Crossing struct {
	// From and To are the hosts; Port and PortName the tunnel port on
	// From, ToPort the tunnel's port on To.
	From     string       `json:"from"`
	To       string       `json:"to"`
	Port     flows.OFPort `json:"ofport"`
	PortName string       `json:"port_name,omitempty"`
	ToPort   flows.OFPort `json:"to_ofport,omitempty"`
	// FromVisit and ToVisit index Result.Visits: the pass the copy left
	// and the one it began at the far end (-1 when it did not arrive).
	FromVisit int `json:"from_visit"`
	ToVisit   int `json:"to_visit"`
	// ByController is set when the controller sent the copy (one
	// bucket of a flood that also had local ports).
	ByController bool `json:"by_controller,omitempty"`
	// Emulated is set when the controller put the copy in at the far
	// end's tunnel port instead of sending it through the tunnel (ARP
	// probes: see TagECN).
	Emulated bool `json:"emulated,omitempty"`
	// Arrived is set when To showed the packet (probe; explain: always).
	Arrived bool `json:"arrived"`
}

// Verdict kinds.
const (
	// Delivered: out of one local port.
	Delivered = "delivered"
	// Flooded: out of several local ports.
	Flooded = "flooded"
	// Answered: back out of the port it came in by (the ARP responder).
	Answered = "answered"
	// ToController: taken by the controller.
	ToController = "controller"
	// Dropped: no output.
	Dropped = "dropped"
	// Lost: the next stop never showed the packet.
	Lost = "lost"
)

// Verdict is where the packet ended on one host.
type Verdict struct {
	// Kind is one of Delivered, Flooded, Answered, ToController, Dropped,
	// Lost.
	Kind string `json:"kind"`
	// Visit indexes Result.Visits: the pass that ended here.
	Visit int `json:"visit"`
	// Host, Table and Stage are where.
	Host  string `json:"host"`
	Table uint8  `json:"table"`
	Stage string `json:"stage"`
	// Ports are the local ports the packet left by.
	Ports []PortRef `json:"ports,omitempty"`
	// Reason says why, for drops, losses and the controller.
	Reason string `json:"reason,omitempty"`
}

// PortRef names a switch port.
type PortRef struct {
	OFPort flows.OFPort `json:"ofport"`
	Name   string       `json:"name,omitempty"`
}

// String renders the port as "3 (v-h1g1)".
func (p PortRef) String() string {
	if p.Name == "" {
		return flows.PortString(p.OFPort)
	}
	return flows.PortString(p.OFPort) + " (" + p.Name + ")"
}

// String renders the verdict in one line: "delivered to h2 port 3
// (v-h2g1)".
func (v Verdict) String() string {
	var ports []string
	for _, p := range v.Ports {
		ports = append(ports, p.String())
	}
	where := fmt.Sprintf("%s %s", v.Host, v.Stage)
	switch v.Kind {
	case Delivered:
		return fmt.Sprintf("delivered to %s port %s", v.Host, strings.Join(ports, ", "))
	case Flooded:
		return fmt.Sprintf("flooded on %s to ports %s", v.Host, strings.Join(ports, ", "))
	case Answered:
		return fmt.Sprintf("answered on %s (%s) back out of port %s", v.Host, v.Stage, strings.Join(ports, ", "))
	case ToController:
		return fmt.Sprintf("sent to the controller at %s: %s", where, v.Reason)
	case Dropped:
		return fmt.Sprintf("dropped at %s: %s", where, v.Reason)
	}
	return fmt.Sprintf("%s at %s: %s", v.Kind, where, v.Reason)
}

// summarize fills r's Verdict line and HostsReached.
func (r *Result) summarize() {
	var parts []string
	for _, v := range r.Verdicts {
		parts = append(parts, v.String())
	}
	r.Verdict = strings.Join(parts, "; ")
	if r.Verdict == "" {
		r.Verdict = "no verdict"
	}
	r.HostsReached = []string{}
	seen := map[string]bool{}
	for _, v := range r.Visits {
		if !seen[v.Host] {
			seen[v.Host] = true
			r.HostsReached = append(r.HostsReached, v.Host)
		}
	}
}
