package proxyarp

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the proxy ARP app's collectors (no MAC or IP labels). The
// binding count is the ARP table's own gauge, ovsmesh_arp_bindings.
type Metrics struct {
	responders                                                        prometheus.Gauge
	packetIns, learned, moved, changed, conflicts, answered, samePort prometheus.Counter
	aged, portGone, refreshed, verifications, announced, hostGone     prometheus.Counter
	refused                                                           *prometheus.CounterVec
}

// NewMetrics builds the app's metrics and registers them with reg (nil:
// unregistered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	c := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: "ovsmesh_proxyarp_" + name, Help: help})
	}
	g := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Name: "ovsmesh_proxyarp_" + name, Help: help})
	}
	m := &Metrics{
		responders:    g("responder_flows", "ARP responder flows installed on connected switches (each answers in the datapath)."),
		packetIns:     c("packet_ins_total", "ARP packet-ins handled (new or changed senders)."),
		learned:       c("learned_total", "Bindings learned for an IP that had none."),
		moved:         c("moved_total", "Bindings whose MAC was seen on another port or host."),
		changed:       c("changed_total", "Bindings that took a new MAC because the old owner was gone."),
		conflicts:     c("conflicts_total", "Claims of a live or static binding's IP by another MAC, refused."),
		answered:      c("controller_answers_total", "ARP requests answered by the controller with a packet-out (the first answer for a binding on a switch)."),
		samePort:      c("same_port_requests_total", "ARP requests not answered because the target sits behind the asker's own port."),
		aged:          c("aged_total", "Bindings dropped because their owner sent no ARP for the aging time, or their switch stayed away that long."),
		portGone:      c("port_gone_total", "Bindings dropped because their port went down or away."),
		refreshed:     c("refreshed_total", "Packet-ins from a known binding at its place (its known-sender flow was missing)."),
		verifications: c("claim_verifications_total", "Claims of a bound IP by another MAC whose owner was asked with an ARP probe before deciding."),
		announced:     c("announcements_total", "Gratuitous ARPs sent to a host's guests because an IP's MAC changed."),
		hostGone:      c("host_removed_total", "Bindings dropped because their host was removed from the configuration."),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ovsmesh_proxyarp_refused_total",
			Help: "ARP packet-ins dropped without learning, by reason."}, []string{"reason"}),
	}
	for _, r := range refusalReasons {
		m.refused.WithLabelValues(r)
	}
	if reg != nil {
		reg.MustRegister(m.responders, m.packetIns, m.learned, m.moved, m.changed, m.conflicts, m.answered, m.samePort,
			m.aged, m.portGone, m.refreshed, m.verifications, m.announced, m.hostGone, m.refused)
	}
	return m
}
