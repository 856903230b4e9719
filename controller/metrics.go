package controller

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ovsmesh/ovsmesh/flows"
)

// metrics are the controller's Prometheus collectors. Labels are dpid
// (16 hex digits), app and OpenFlow type names only: never MAC or IP.
type metrics struct {
	connections    *prometheus.CounterVec
	disconnects    *prometheus.CounterVec
	connected      prometheus.Gauge
	packetIns      *prometheus.CounterVec
	packetInsDrop  *prometheus.CounterVec
	switchErrors   *prometheus.CounterVec
	badMessages    *prometheus.CounterVec
	appErrors      *prometheus.CounterVec
	sent           *prometheus.CounterVec
	packetInTiming prometheus.Histogram
	unrouted       prometheus.Counter
	staleDeleted   *prometheus.CounterVec
	acceptErrors   prometheus.Counter
	connsRefused   *prometheus.CounterVec
	refused        *prometheus.CounterVec
	tlsRefused     *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		connections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ovsmesh_switch_connections_total", Help: "OpenFlow sessions that completed the handshake.",
		}, []string{"dpid"}),
		disconnects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ovsmesh_switch_disconnects_total", Help: "OpenFlow sessions that ended after the handshake.",
		}, []string{"dpid"}),
		connected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ovsmesh_switches_connected", Help: "Switches with an OpenFlow session up.",
		}),
		packetIns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ovsmesh_packet_ins_total", Help: "Packet-ins received and queued for the apps, by the app that handles them (the flow's cookie app, else the owner of its table; none when neither) and reason.",
		}, []string{"dpid", "app", "reason"}),
		packetInsDrop: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ovsmesh_packet_ins_dropped_total", Help: "Packet-ins dropped, by reason: queue_full (openflow.queue_len packet-ins wait), switch_bytes (over openflow.packet_in_bytes for the switch), total_bytes (over openflow.packet_in_bytes_total for all switches).",
		}, []string{"dpid", "reason"}),
		switchErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ovsmesh_switch_errors_total", Help: "OFPT_ERROR messages from switches, by error type and offending message type.",
		}, []string{"dpid", "type", "offending"}),
		badMessages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ovsmesh_bad_messages_total", Help: "Malformed or unexpected messages from switches.",
		}, []string{"dpid"}),
		appErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ovsmesh_app_errors_total", Help: "Errors and recovered panics returned by app handlers.",
		}, []string{"app"}),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ovsmesh_messages_sent_total", Help: "OpenFlow messages sent to switches, by type.",
		}, []string{"type"}),
		packetInTiming: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "ovsmesh_packet_in_handling_seconds", Help: "Time the apps took to handle one packet-in, in seconds.",
			Buckets: prometheus.ExponentialBuckets(1e-6, 4, 10),
		}),
		unrouted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ovsmesh_packet_ins_unrouted_total", Help: "Packet-ins whose cookie names no registered app and whose table no app owns: dropped.",
		}),
		staleDeleted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ovsmesh_stale_cookies_deleted_total", Help: "Cookie generation/app pairs deleted by reconnect reconciliation.",
		}, []string{"dpid"}),
		acceptErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ovsmesh_openflow_accept_errors_total", Help: "Temporary errors accepting switch connections (such as out of file descriptors), each retried after a backoff.",
		}),
		connsRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ovsmesh_openflow_connections_refused_total", Help: "Switch connections closed at accept, by the limit they hit: max_connections, max_handshaking, max_connections_per_ip.",
		}, []string{"limit"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ovsmesh_switches_refused_total", Help: "Switches refused after FEATURES_REPLY, by reason: identity (a configured host's datapath ID from an address not allowed for it).",
		}, []string{"reason"}),
		tlsRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ovsmesh_tls_refused_total", Help: "Switches refused on a TLS (ssl:) OpenFlow listener, by reason: plaintext (not TLS), timeout (no TLS handshake within the handshake timeout), peer_alert (the switch aborted the handshake, e.g. it does not trust the controller's certificate), handshake (other TLS failures), no_certificate, unknown_ca, expired, not_yet_valid, key_usage, invalid_certificate, no_identity (the certificate names no host), identity (FEATURES_REPLY's datapath ID is not the one the certificate binds).",
		}, []string{"reason"}),
	}
	for _, r := range tlsReasons {
		m.tlsRefused.WithLabelValues(r) // exported at 0 from the start
	}
	if reg != nil {
		reg.MustRegister(m.connections, m.disconnects, m.connected, m.packetIns, m.packetInsDrop,
			m.switchErrors, m.badMessages, m.appErrors, m.sent, m.packetInTiming, m.unrouted, m.staleDeleted,
			m.acceptErrors, m.connsRefused, m.refused, m.tlsRefused)
	}
	return m
}

// reasonLabel names an ofp_packet_in_reason (OpenFlow 1.3.5 §7.4.1).
func reasonLabel(r uint8) string {
	switch r {
	case 0:
		return "no_match"
	case 1:
		return "action"
	case 2:
		return "invalid_ttl"
	}
	return "reason" + strconv.Itoa(int(r))
}

// packetInCounter returns the packet-in counter of this session for the
// app that handles pi (by cookie, else by table owner: the same routing
// as dispatch) and its reason, caching it: only the reader goroutine
// calls it.
func (s *session) packetInCounter(pi *flows.PacketIn) prometheus.Counter {
	key := uint32(pi.Cookie.App())<<16 | uint32(pi.Table)<<8 | uint32(pi.Reason)
	c, ok := s.packetInsBy[key]
	if !ok {
		name := "none"
		if app := s.c.route(pi.Cookie.App(), pi.Table); app != nil {
			name = app.Name()
		}
		c = s.c.metrics.packetIns.WithLabelValues(s.dpid.String(), name, reasonLabel(pi.Reason))
		s.packetInsBy[key] = c
	}
	return c
}
