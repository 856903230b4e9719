package nat

import (
	"context"
	"time"
)

// Status is GET /api/v1/nat: the settings, the gateway's state and the
// rules with their counters.
type Status struct {
	Gateway string `json:"gateway"`
	// GatewayConnected is true while the gateway's switch has a session.
	GatewayConnected bool           `json:"gateway_connected"`
	External         ExternalStatus `json:"external"`
	NextHop          NextHopStatus  `json:"next_hop"`
	RouterIP         string         `json:"router_ip"`
	RouterMAC        string         `json:"router_mac"`
	Inside           []string       `json:"inside"`
	// Zones are the conntrack zones: SNAT, DNAT (forwards), redirects.
	Zones     [3]int           `json:"zones"`
	Forwards  []ForwardStatus  `json:"forwards"`
	Redirects []RedirectStatus `json:"redirects"`
	// Paths are the counters of the fixed flows: masquerade_out,
	// unforwarded_dropped, outside_dropped, invalid_dropped.
	Paths map[string]Counter `json:"paths"`
}

// ExternalStatus is the external port's state.
type ExternalStatus struct {
	Port string `json:"port"`
	IP   string `json:"ip"`
	// Up is true while the port is on the gateway's bridge and up; when
	// it is not, Problem says so.
	Up      bool   `json:"up"`
	OFPort  uint32 `json:"ofport,omitempty"`
	MAC     string `json:"mac,omitempty"`
	Problem string `json:"problem,omitempty"`
}

// NextHopStatus is the next hop's resolution.
type NextHopStatus struct {
	IP string `json:"ip"`
	// MAC is "" while unresolved.
	MAC string `json:"mac"`
	// State is resolved, stale (no answer for 90 s; the MAC is still
	// used) or unresolved.
	State    string    `json:"state"`
	Resolved time.Time `json:"resolved,omitzero"`
	// Requests counts the ARP requests sent.
	Requests uint64 `json:"requests"`
}

// ForwardStatus is one forward with its counters.
type ForwardStatus struct {
	Forward
	// Source is "config" or "api".
	Source string `json:"source"`
	Counter
}

// RedirectStatus is one redirect with its counters.
type RedirectStatus struct {
	Redirect
	Source string `json:"source"`
	// Host is where the target lives (from the ARP table), "" while it
	// is unknown: the redirect is then installed nowhere.
	Host string `json:"host"`
	Counter
}

// Status returns the app's state, with counters read from the switches
// now.
func (a *App) Status(ctx context.Context) Status {
	cs := a.counters(ctx)
	a.mu.Lock()
	defer a.mu.Unlock()
	c := &a.cfg
	now := a.clock.Now()
	s := Status{Gateway: c.Gateway, RouterIP: c.RouterIP.String(), RouterMAC: c.routerMAC().String(),
		Zones: [3]int{c.Zone, c.Zone + 1, c.Zone + 2}, Forwards: []ForwardStatus{}, Redirects: []RedirectStatus{},
		External: ExternalStatus{Port: c.External.Port, IP: c.External.IP.String()},
		NextHop:  NextHopStatus{IP: c.External.NextHop.String(), State: a.nh.state(now), Requests: a.nh.sent},
		Paths:    map[string]Counter{}}
	for _, p := range c.Inside {
		s.Inside = append(s.Inside, p.String())
	}
	if a.nh.mac != nil {
		s.NextHop.MAC, s.NextHop.Resolved = a.nh.mac.String(), a.nh.resolved
	}
	if gw := a.gatewayLocked(); gw != nil {
		s.GatewayConnected = true
		if p := gw.State.ports.Owned[c.External.Port]; p != 0 {
			s.External.Up, s.External.OFPort, s.External.MAC = true, uint32(p), gw.State.extMAC.String()
		} else {
			s.External.Problem = "port " + c.External.Port + " is not on the gateway's bridge, or is down"
		}
	} else {
		s.External.Problem = "gateway " + c.Gateway + " is not connected"
	}
	for obj, name := range pathNames {
		s.Paths[name] = cs[obj]
	}
	for _, k := range sortedKeys(a.forwards) {
		f := a.forwards[k]
		s.Forwards = append(s.Forwards, ForwardStatus{Forward: f.Rule.config(), Source: source(f.FromConfig), Counter: cs[f.Rule.object()]})
	}
	for _, k := range sortedKeys(a.redirects) {
		r := a.redirects[k]
		rs := RedirectStatus{Redirect: r.Rule.config(), Source: source(r.FromConfig), Counter: cs[r.Rule.object()]}
		if b, ok := a.arp.Get(r.Rule.IP); ok {
			rs.Host = b.Host
		}
		s.Redirects = append(s.Redirects, rs)
	}
	return s
}
