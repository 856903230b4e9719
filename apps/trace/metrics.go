package trace

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the trace app's collectors.
type Metrics struct {
	traces    *prometheus.CounterVec
	packetIns *prometheus.CounterVec
}

// NewMetrics builds the app's metrics and registers them with reg (nil:
// unregistered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		traces: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ovsmesh_trace_traces_total",
			Help: "Traces answered, by mode (probe, explain) and outcome (agree, disagree, error)."}, []string{"mode", "outcome"}),
		packetIns: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ovsmesh_trace_packet_ins_total",
			Help: "Packet-ins of the temporary trace flows: hop (a probe's stop), stray (no probe waits for it: late, or a guest's packet with the tag), overflow (the probe's queue was full)."},
			[]string{"kind"}),
	}
	for _, k := range []string{"hop", "stray", "overflow"} {
		m.packetIns.WithLabelValues(k)
	}
	if reg != nil {
		reg.MustRegister(m.traces, m.packetIns)
	}
	return m
}
