// Package controllertest holds test doubles for code built on the
// controller package, in the spirit of net/http/httptest: a Recorder
// stands in for a switch in app tests, so an app's decisions can be
// checked without sockets.
package controllertest

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/ovsmesh/ovsmesh/flows"
)

// Recorder implements controller.Switch by recording every message sent
// to it. It is safe for concurrent use.
type Recorder struct {
	// ID is the datapath ID DPID returns.
	ID uint64
	// PortList is what Ports returns (a copy); tests may change it
	// between events, as a PORT_STATUS would.
	PortList []flows.Port

	mu   sync.Mutex
	msgs []flows.Message
}

// DPID implements controller.Switch.
func (r *Recorder) DPID() uint64 { return r.ID }

// Ports implements controller.Switch.
func (r *Recorder) Ports() []flows.Port { return slices.Clone(r.PortList) }

// Send implements controller.Switch: it records msgs and never fails.
func (r *Recorder) Send(_ context.Context, msgs ...flows.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, msgs...)
	return nil
}

// Take returns and clears the recorded messages, each rendered with
// fmt.Sprint (flow-mods in ovs-ofctl syntax, see flows.FlowMod.String).
func (r *Recorder) Take() []string {
	msgs := r.Raw()
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = fmt.Sprint(m)
	}
	return out
}

// Raw returns and clears the recorded messages.
func (r *Recorder) Raw() []flows.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.msgs
	r.msgs = nil
	return out
}
