// Package controller runs ovsmesh's OpenFlow 1.3 sessions and hands
// switch events to the apps.
//
// Each switch connection is one session with three goroutines:
//
//   - the reader decodes messages (flows.Decode), answers ECHO_REQUEST at once, probes
//     an idle switch and drops it when the probe goes unanswered, routes
//     replies to waiting requests, and queues everything else on a
//     bounded queue (packet-ins are dropped and counted when it is full);
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
