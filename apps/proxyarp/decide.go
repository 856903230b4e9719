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
	// move: the same MAC from another port or host; believed where the
	// learning app has the MAC.
	move
	// change: a new MAC for the IP, accepted because the old owner is
	// gone or stayed silent.
	change
	// conflict: a new MAC for a bound IP; refused for a static binding,
	// else believed only once the owner is gone or silent (verify.go).
	conflict
)

// String names the verdict for logs and test output.
func (v verdict) String() string {
	return [...]string{"learn", "refresh", "move", "change", "conflict"}[v]
}

// decide returns what the claim "pk.SPA is at pk.SHA, behind (dpid,
// port)" does, given the current binding of pk.SPA (ok false: none).
func decide(pk *arpPacket, dpid flows.DPID, port flows.OFPort, old topo.ARPBinding, ok bool) verdict {
	switch {
	case !ok:
		return learn
	case string(old.MAC) == string(pk.SHA) && old.DPID == dpid && old.OFPort == port:
		return refresh
	case string(old.MAC) == string(pk.SHA):
		return move
	}
	return conflict
}
