// Package controller runs ovsmesh's OpenFlow 1.3 sessions and hands
// switch events to the apps.
//
// Each switch connection is one session with three goroutines:
//
//   - the reader decodes messages (flows.Decode), answers ECHO_REQUEST at once, probes
//     an idle switch and drops it when the probe goes unanswered, routes
//     replies to waiting requests, and queues everything else on a
//     bounded queue. Packet-ins are bounded in count and in bytes, per
//     switch and across switches, and dropped and counted past a bound.
//     PORT_STATUS and FLOW_REMOVED must not be lost: past their byte
//     bound the reader stops reading until the apps catch up, so TCP
//     pushes back on the switch. Meanwhile the switch's own ECHO_REQUESTs
//     wait unread in the socket; the reader sends ECHO_REQUESTs of its
//     own every half echo interval (OVS counts any message from the
//     controller as activity), so the switch's inactivity probe does not
//     drop the connection, and a reply the dispatcher waits for is failed
//     at once rather than waited for behind the events;
//   - the dispatcher hands each queued event to the apps in registration
//     order, one event at a time, so a switch's messages are handled in
//     the order it sent them (netrack/openflow's default would start a
//     goroutine per message);
//   - the writer sends whatever the apps queued with Switch.Send,
//     coalescing messages into few writes, so an app never blocks on the
//     network and a slow switch never stalls the others.
//
// The reader exits when the connection fails or closes; it then closes
// the queue, the dispatcher drains it, runs the apps' SwitchDown handlers
// and exits; the writer exits once the connection is closed.
//
// Listeners of Options.TLSListen speak OpenFlow over TLS (TLS 1.2 or
// later, RFC 5246 and RFC 8446): the TLS handshake runs in the session,
// inside the connection's handshake slot and under HandshakeTimeout, so
// a peer that stalls it holds a slot no longer than a plain one would.
// A switch must present a certificate of the configured CA, and after
// FEATURES_REPLY its datapath ID must be the one that certificate binds
// to its host (pki.PeerIdentity), before the address policy (Admit) is
// asked. Refused switches are closed, logged with their reason (and both
// identities when the DPID is not the certificate's) and counted in
// ovsmesh_tls_refused_total{reason}; switches already up never notice.
//
// Apps follow a small net/http-style contract: an App needs only Name;
// it implements whichever of SwitchUpHandler, PacketInHandler,
// PortStatusHandler, FlowRemovedHandler and SwitchDownHandler it cares
// about, found by type assertion. A Registration says which events are an
// app's own: a packet-in or FLOW_REMOVED goes to the app its cookie names,
// else to the owner of its table, then to the apps observing that table.
// After the apps' SwitchUp the controller installs the baseline (every
// stage's table-miss entry), then reconciles away older generations.
// Every flow-mod and packet-out is checked against the composed pipeline
// before it is encoded.
package controller
