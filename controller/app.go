package controller

import (
	"context"

	"github.com/ovsmesh/ovsmesh/flows"
)

// App is an ovsmesh application. Beyond Name it implements any of the
// handler interfaces below; the controller calls them from the switch's
// dispatcher goroutine, one event at a time per switch, in the order apps
// were registered. Calls for different switches run concurrently.
type App interface {
	// Name names the app in logs and metrics.
	Name() string
}

// Registration is an app as the controller dispatches to it: which
// events are its own. SwitchUp, PortStatus and SwitchDown go to every
// app in registration order. A packet-in or FLOW_REMOVED goes to the app
// whose ID its cookie carries; one with a baseline or foreign cookie
// (a table-miss) goes to the owner of its table; then packet-ins go to
// the apps observing that table.
type Registration struct {
	// App is the app.
	App App
	// ID is the app's cookie app byte (flows.Cookie), unique.
	ID flows.AppID
	// Tables are the tables the app owns.
	Tables []flows.TableID
	// Observe lists other apps' tables whose packet-ins the app also
	// receives, after the owner (the learning app sees the sources of
	// packets another stage sent up).
	Observe []flows.TableID
}

// Switch is a connected switch as the apps see it.
type Switch interface {
	// DPID is the datapath ID from the features reply.
	DPID() flows.DPID
	// Ports returns a copy of the switch's ports, ordered by OFPort.
	Ports() []flows.Port
	// Send encodes msgs and queues them, in order, for the switch. It
	// never blocks on the network; it fails when the session is closed
	// or its send queue is over its byte limit (the session is then
	// closed: the switch is too slow). Called with the ctx of one of
	// this switch's own handlers, the bytes are written when the handler
	// returns; otherwise the session's writer is woken at once.
	Send(ctx context.Context, msgs ...flows.Message) error
}

// SwitchUpHandler is called once a switch has finished the handshake
// (features and port list known) and before any of its other events.
// The app installs its baseline and replays its state for the switch
// under the current cookie generation.
type SwitchUpHandler interface {
	SwitchUp(ctx context.Context, sw Switch) error
}

// PacketInHandler is called for each packet-in.
type PacketInHandler interface {
	PacketIn(ctx context.Context, sw Switch, pi *flows.PacketIn) error
}

// PortStatusHandler is called after a PORT_STATUS has updated the
// switch's port list.
type PortStatusHandler interface {
	PortStatus(ctx context.Context, sw Switch, ps flows.PortStatus) error
}

// FlowRemovedHandler is called for each FLOW_REMOVED.
type FlowRemovedHandler interface {
	FlowRemoved(ctx context.Context, sw Switch, fr *flows.FlowRemoved) error
}

// SwitchDownHandler is called once when the session ends, after every
// other event of the switch.
type SwitchDownHandler interface {
	SwitchDown(ctx context.Context, sw Switch)
}
