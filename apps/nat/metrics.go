package nat

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the NAT app's collectors. Rule counters come from the
// flows' own counters (flow stats), polled every pollEvery.
type Metrics struct {
	rules                                                *prometheus.GaugeVec
	nextHopResolved, extPortUp                           prometheus.Gauge
	nextHopRequests, insideRequests, ignored, pollErrors prometheus.Counter
	redelivered                                          prometheus.Counter
	packets, bytes                                       *prometheus.GaugeVec
}

// NewMetrics builds the app's metrics and registers them with reg (nil:
// unregistered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	c := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: "ovsmesh_nat_" + name, Help: help})
	}
	g := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Name: "ovsmesh_nat_" + name, Help: help})
	}
	m := &Metrics{
		rules: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ovsmesh_nat_rules",
			Help: "NAT rules in force, by kind (forward, redirect)."}, []string{"kind"}),
		nextHopResolved: g("next_hop_resolved", "1 while the next hop's MAC is known and fresh (answered within 90 s), else 0."),
		extPortUp:       g("external_port_up", "1 while the gateway's external port is on the mesh bridge and up, else 0."),
		nextHopRequests: c("next_hop_requests_total", "ARP requests sent to the next hop out of the external port."),
		insideRequests:  c("inside_requests_total", "ARP requests the router sent into the overlay for an inside IP with no known guest."),
		ignored:         c("ignored_packet_ins_total", "Packet-ins the NAT app dropped: malformed, or not from whom they should be."),
		pollErrors:      c("poll_errors_total", "Flow-stats polls of a switch that failed."),
		redelivered:     c("redelivered_total", "Packets for an inside guest the gateway's flows did not know yet, sent on by the controller (the guest's binding had just arrived)."),
		packets: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ovsmesh_nat_packets",
			Help: "Packets counted by the NAT flows of each rule or path (flow stats, polled every 10 s; a controller restart keeps them, as its replayed flows replace the old ones in place; deleting a rule's flows loses them)."}, []string{"rule"}),
		bytes: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ovsmesh_nat_bytes",
			Help: "Bytes counted by the NAT flows of each rule or path (flow stats, polled every 10 s)."}, []string{"rule"}),
	}
	if reg != nil {
		reg.MustRegister(m.rules, m.nextHopResolved, m.extPortUp, m.nextHopRequests, m.insideRequests, m.ignored, m.pollErrors, m.redelivered, m.packets, m.bytes)
	}
	return m
}
