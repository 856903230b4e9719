package ovsdb

import (
	"log/slog"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the ovsmesh_ovsdb_* series. Every per-host series has the
// single label "host".
type metrics struct {
	connected      *prometheus.GaugeVec
	connects       *prometheus.CounterVec
	connectErrors  *prometheus.CounterVec
	disconnects    *prometheus.CounterVec
	transactErrors *prometheus.CounterVec
	repairs        *prometheus.CounterVec
	passes         *prometheus.CounterVec
	converged      *prometheus.GaugeVec
	overlayMTU     prometheus.Gauge
	appPortUp      *prometheus.GaugeVec   // labels host, port
	appPortReopens *prometheus.CounterVec // labels host, port
}

func newMetrics() *metrics {
	const ns, sub = "ovsmesh", "ovsdb"
	counter := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: name, Help: help}, []string{"host"})
	}
	return &metrics{
		connected: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "connected",
			Help: "1 while the host's OVSDB session is up and monitoring, else 0."}, []string{"host"}),
		connects:       counter("connects_total", "OVSDB sessions established."),
		connectErrors:  counter("connect_errors_total", "Failed OVSDB connection attempts (dial, schema check or monitor)."),
		disconnects:    counter("disconnects_total", "OVSDB sessions lost after being established."),
		transactErrors: counter("transact_errors_total", "OVSDB transactions that failed or returned operation errors."),
		repairs:        counter("repairs_total", "Committed transactions that repaired drift after the host had converged."),
		passes:         counter("reconcile_passes_total", "Completed reconcile passes over the host (each reads the replica once; most write nothing)."),
		converged: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "converged",
			Help: "1 once a reconcile pass on the current session and configuration found nothing to change, else 0."}, []string{"host"}),
		overlayMTU: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "overlay_mtu_bytes",
			Help: "Largest guest MTU that fits the mesh tunnels: underlay MTU minus tunnel overhead."}),
		appPortUp: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "app_port_up",
			Help: "1 while a port an app owns (the NAT gateway's external port...) is on the host's mesh bridge with an OpenFlow port and no error, else 0."},
			[]string{"host", "port"}),
		appPortReopens: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "app_port_reopens_total",
			Help: "Times an app port was removed and added again so that ovs-vswitchd opens its device afresh: the device came back under a new ifindex, or OVS kept failing to open it."},
			[]string{"host", "port"}),
	}
}

func (m *metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.connected, m.connects, m.connectErrors, m.disconnects, m.transactErrors, m.repairs, m.passes, m.converged,
		m.overlayMTU, m.appPortUp, m.appPortReopens}
}

// forgetAppPort drops the series of an app port no longer declared.
func (m *metrics) forgetAppPort(host, port string) {
	m.appPortUp.DeleteLabelValues(host, port)
	m.appPortReopens.DeleteLabelValues(host, port)
}

// forget drops the series of a host that left the configuration.
func (m *metrics) forget(host string) {
	for _, v := range []interface{ DeleteLabelValues(...string) bool }{
		m.connected, m.connects, m.connectErrors, m.disconnects, m.transactErrors, m.repairs, m.passes, m.converged,
	} {
		v.DeleteLabelValues(host)
	}
	m.appPortUp.DeletePartialMatch(prometheus.Labels{"host": host})
	m.appPortReopens.DeletePartialMatch(prometheus.Labels{"host": host})
}

// trackingRegisterer passes registrations through to inner and remembers
// them, so the collectors libovsdb registers for one session can be
// unregistered when the session ends and registered afresh by the next.
// A failed MustRegister is logged instead of panicking: metrics are never
// worth a crash.
type trackingRegisterer struct {
	inner prometheus.Registerer
	log   *slog.Logger

	mu   sync.Mutex
	regs []prometheus.Collector
}

// Register registers c with the inner registerer and remembers it.
func (r *trackingRegisterer) Register(c prometheus.Collector) error {
	if err := r.inner.Register(c); err != nil {
		return err
	}
	r.mu.Lock()
	r.regs = append(r.regs, c)
	r.mu.Unlock()
	return nil
}

// MustRegister registers cs, logging (not panicking on) failures.
func (r *trackingRegisterer) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			r.log.Warn("libovsdb metrics not registered", "err", err)
		}
	}
}

// Unregister unregisters c from the inner registerer.
func (r *trackingRegisterer) Unregister(c prometheus.Collector) bool {
	return r.inner.Unregister(c)
}

// unregisterAll undoes every registration made through r; nil r is a no-op.
func (r *trackingRegisterer) unregisterAll() {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.regs {
		r.inner.Unregister(c)
	}
	r.regs = nil
}
