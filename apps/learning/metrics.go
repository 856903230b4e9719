package learning

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the learning app's collectors (no MAC labels). The MAC
// count is the MAC table's own gauge, ovsmesh_mac_table_entries.
type Metrics struct {
	learned, moved, damped, aged, reinstalled, portGone, badFrames, ignored prometheus.Counter
	verifications, refused, hostGone                                        prometheus.Counter
	capped                                                                  *prometheus.CounterVec
}

// NewMetrics builds the app's metrics and registers them with reg (nil:
// unregistered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	c := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: "ovsmesh_learning_" + name, Help: help})
	}
	m := &Metrics{
		learned:       c("macs_learned_total", "MACs learned at a new location."),
		moved:         c("mac_moves_total", "MACs moved to another port or host."),
		damped:        c("mac_moves_damped_total", "MAC moves refused because the MAC was flapping."),
		aged:          c("macs_aged_total", "MACs forgotten because their source flow idled out, or their switch stayed away longer than the idle timeout."),
		reinstalled:   c("flows_reinstalled_total", "Packet-ins for known MACs whose flows the switch had lost."),
		portGone:      c("macs_port_gone_total", "MACs forgotten because their port went away or down."),
		badFrames:     c("bad_frames_total", "Packet-ins with an undecodable frame or a multicast source."),
		ignored:       c("ignored_port_packet_ins_total", "Packet-ins from ports that are neither local nor a known tunnel."),
		verifications: c("mac_move_verifications_total", "MAC moves verified before being believed (the MAC's current place was active)."),
		refused:       c("mac_moves_refused_total", "MAC moves refused because the MAC's current place showed it is alive."),
		hostGone:      c("macs_host_removed_total", "MACs forgotten because their host was removed from the configuration."),
		capped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ovsmesh_learning_macs_capped_total",
			Help: "New MACs not learned because a cap was reached, by cap (port: max_macs_per_port, table: max_macs)."}, []string{"reason"}),
	}
	for _, r := range []string{capPort, capGlobal} {
		m.capped.WithLabelValues(r)
	}
	if reg != nil {
		reg.MustRegister(m.learned, m.moved, m.damped, m.aged, m.reinstalled, m.portGone, m.badFrames, m.ignored,
			m.verifications, m.refused, m.hostGone, m.capped)
	}
	return m
}
