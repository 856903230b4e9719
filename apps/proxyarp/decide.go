package proxyarp

import (
	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/topo"
)

// verdict is what one valid ARP packet does to the binding of its
// sender IP.
type verdict uint8

const (
	// learn: the IP had no binding; it now has one.
	learn verdict = iota
	// refresh: the same binding from the same place (the switch lost
	// the known-sender flow, or it has just been installed).
	refresh
	// move: the same MAC from another port or host.
	move
	// change: a new MAC for the IP, accepted because the old binding is
	// gone.
	change
	// conflict: a new MAC for the IP while the old binding is live;
	// refused.
	conflict
)

// String names the verdict for logs and test output.
func (v verdict) String() string {
	return [...]string{"learn", "refresh", "move", "change", "conflict"}[v]
}

// oldState says what is known of an existing binding's owner.
type oldState struct {
	// PortLive: the binding's switch is connected and its port is a
	// local port that is up. False when the binding has no place.
	PortLive bool
	// MACElsewhere: the learning app's MAC table has the binding's MAC
	// at another switch or port than the binding.
	MACElsewhere bool
}

// gone reports whether the old binding's owner is gone: its port went
// down or away, or its MAC now lives elsewhere. (A binding that aged
// out is already deleted.)
func (s oldState) gone() bool { return !s.PortLive || s.MACElsewhere }

// decide returns what the claim "pk.SPA is at pk.SHA, behind (dpid,
// port)" does, given the current binding of pk.SPA (ok false: none).
// Static bindings never change MAC.
func decide(pk *arpPacket, dpid flows.DPID, port flows.OFPort, old topo.ARPBinding, ok bool, st oldState) verdict {
	switch {
	case !ok:
		return learn
	case string(old.MAC) == string(pk.SHA) && old.DPID == dpid && old.OFPort == port:
		return refresh
	case string(old.MAC) == string(pk.SHA):
		return move
	case old.Static:
		return conflict
	case st.gone():
		return change
	}
	return conflict
}
