package portsec

import (
	"context"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/topo"
)

// Status is GET /api/v1/portsec: the declared ports with their counters
// and the OVSDB rows whose keys declare nothing.
type Status struct {
	// FromOVSDB is apps.portsec.from_ovsdb.
	FromOVSDB bool `json:"from_ovsdb"`
	// Packets sums every port's counters by reason: allowed and dhcp
	// went on; mac, arp, ip, other and claim were dropped.
	Packets map[string]uint64 `json:"packets"`
	// Ports are the declared ports, by host and port name.
	Ports []DeclaredPort `json:"ports"`
	// Ignored are interfaces whose Interface rows carry port security
	// keys but declare nothing (a bad attached-mac, or
	// ovsmesh-port-security=false), or whose declarations from_ovsdb
	// leaves unused.
	Ignored []IgnoredIface `json:"ignored,omitempty"`
}

// DeclaredPort is one declared port in GET /api/v1/portsec.
type DeclaredPort struct {
	// PortDecl is the declaration in force (all its addresses, held or
	// not).
	PortDecl
	// Source is who declared it: config, api or ovsdb; Shadowed lists
	// the lower sources that declare the same port.
	Source   string   `json:"source"`
	Shadowed []string `json:"shadowed,omitempty"`
	// Mode is "mac+ip" (ARP and IPv4 from the addresses and DHCP
	// discovery only) or "mac" (any frame from the MAC, ARP naming it).
	Mode string `json:"mode"`
	// Active is false when nothing is enforced (Problems says why).
	Active bool `json:"active"`
	// Enforced are the addresses the port holds: ARP and IPv4 from
	// them go on.
	Enforced []netip.Addr `json:"enforced"`
	// OFPort is the port's number on its connected switch, 0 when the
	// switch is not connected or has no port of that name: its checks
	// are then not installed (the guards are).
	OFPort flows.OFPort `json:"ofport"`
	// Problems say what of the declaration is not in force, and which
	// values of the Interface row were ignored.
	Problems []string `json:"problems,omitempty"`
	// Packets are the port's counters by reason, over every switch
	// (claim: other ports sending its MAC or claiming its addresses).
	Packets map[string]uint64 `json:"packets"`
}

// IgnoredIface is an Interface row with port security keys that
// declares nothing.
type IgnoredIface struct {
	// Host and Port name the interface.
	Host string `json:"host"`
	Port string `json:"port"`
	// Problems say why its keys declare nothing.
	Problems []string `json:"problems"`
}

// Status returns the app's state, with counters read from the switches
// now.
func (a *App) Status(ctx context.Context) Status {
	cs := a.counters(ctx)
	a.mu.Lock()
	defer a.mu.Unlock()
	s := Status{FromOVSDB: a.cfg.FromOVSDB, Packets: byReason(cs), Ports: []DeclaredPort{}}
	rows := map[key]topo.Iface{}
	for _, h := range slices.Sorted(maps.Keys(a.ovsdb)) {
		for _, i := range a.ovsdb[h] {
			rows[key{i.Host, i.Name}] = i
			switch {
			case i.Disabled:
				s.Ignored = append(s.Ignored, IgnoredIface{Host: i.Host, Port: i.Name, Problems: append([]string{topo.PortSecurityKey + "=false"}, i.Problems...)})
			case !i.Declares():
				s.Ignored = append(s.Ignored, IgnoredIface{Host: i.Host, Port: i.Name, Problems: i.Problems})
			case !a.cfg.FromOVSDB:
				s.Ignored = append(s.Ignored, IgnoredIface{Host: i.Host, Port: i.Name, Problems: []string{"apps.portsec.from_ovsdb is false"}})
			}
		}
	}
	for _, e := range a.res.sorted() {
		p := DeclaredPort{PortDecl: e.portDecl(), Source: e.Source.String(), Mode: "mac", Active: e.active,
			Enforced: append([]netip.Addr{}, e.ips...), Problems: slices.Clone(e.problems), Packets: ofPort(cs, e.id)}
		if e.withIPs() {
			p.Mode = "mac+ip"
		}
		for _, sh := range e.shadowed {
			p.Shadowed = append(p.Shadowed, sh.String())
		}
		if i, ok := rows[e.key()]; ok && a.cfg.FromOVSDB && i.Declares() {
			p.Problems = append(p.Problems, i.Problems...)
		}
		for _, c := range a.switches.All() {
			if c.State.view.host == e.Host {
				p.OFPort = c.State.view.ports[e.Port]
			}
		}
		if !e.active {
			p.Packets = map[string]uint64{}
		}
		s.Ports = append(s.Ports, p)
	}
	return s
}

// problemsText joins problems for the CLI.
func problemsText(ps []string) string { return strings.Join(ps, "; ") }
