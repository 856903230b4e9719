package portsec

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the port security app's collectors. Packet counts come
// from the flows' own counters (flow stats), polled every pollEvery.
type Metrics struct {
	ports      *prometheus.GaugeVec
	problems   prometheus.Gauge
	packets    *prometheus.GaugeVec
	pollErrors prometheus.Counter
}

// NewMetrics builds the app's metrics and registers them with reg (nil:
// unregistered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		ports: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ovsmesh_portsec_ports",
			Help: "Declared ports in force, by the source of their declaration (config, api, ovsdb)."}, []string{"source"}),
		problems: prometheus.NewGauge(prometheus.GaugeOpts{Name: "ovsmesh_portsec_ports_with_problems",
			Help: "Declared ports of which something is not in force (an address held by another port, an unknown host); see GET /api/v1/portsec."}),
		packets: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ovsmesh_portsec_packets",
			Help: "Packets counted by the port_security flows, by reason: allowed, dhcp (passed), mac, arp, ip, other, claim (dropped). Flow stats polled every 10 s; a flow replayed on reconnect keeps its counters (OVS), a new one (a port renumbered) and an ovs-vswitchd restart start from 0."},
			[]string{"reason"}),
		pollErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "ovsmesh_portsec_poll_errors_total",
			Help: "Flow-stats polls of a switch that failed."}),
	}
	if reg != nil {
		reg.MustRegister(m.ports, m.problems, m.packets, m.pollErrors)
	}
	return m
}

// gaugesLocked sets the port gauges; a.mu is held.
func (a *App) gaugesLocked() {
	a.m.ports.Reset()
	for _, s := range []source{srcConfig, srcAPI, srcOVSDB} {
		a.m.ports.WithLabelValues(s.String()).Set(0)
	}
	n := 0
	for _, e := range a.res.ports {
		if e.active {
			a.m.ports.WithLabelValues(e.Source.String()).Inc()
		}
		if len(e.problems) > 0 {
			n++
		}
	}
	a.m.problems.Set(float64(n))
}
