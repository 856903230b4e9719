package portsec

import (
	"fmt"

	"github.com/ovsmesh/ovsmesh/apps"
	"github.com/ovsmesh/ovsmesh/flows"
)

// Explain implements apps.Explainer: what port_security does with pkt on
// its switch, from the flows the app plans there for the ports in force
// (the same flows it sends). It cannot tell for a switch it has no
// session with.
func (a *App) Explain(stage string, pkt apps.Packet) (apps.Decision, bool) {
	if stage != "port_security" {
		return apps.Decision{}, false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.switches.Get(pkt.DPID)
	if c == nil {
		return apps.Decision{}, false
	}
	f, found, known := apps.FirstMatch(a.plan.flows(c.State.view, a.res), TablePortSecurity, pkt)
	switch {
	case !known:
		return apps.Decision{}, false
	case !found:
		return apps.Decision{Rule: fmt.Sprintf("port %d declares nothing: table-miss, passed on", pkt.InPort),
			App: flows.AppBaseline, Object: uint32(TablePortSecurity), Next: apps.NextStage}, true
	}
	obj := f.Cookie.Object()
	kind, id := obj>>24, obj&idMask
	where := "a tunnel or an app's port"
	if e := a.entryByID(id); e != nil {
		where = fmt.Sprintf("%s port %s (MAC %s)", e.Host, e.Port, e.MAC)
	}
	d := apps.Decision{App: ID, Object: obj}
	switch {
	case f.Goto != 0:
		d.Rule, d.Next = fmt.Sprintf("%s: %s, passed on", where, reasons[kind]), apps.NextStage
	case kind == kindClaim:
		d.Rule, d.Drop = fmt.Sprintf("from port %d, with the MAC or an address declared on %s", pkt.InPort, where), "claim"
	default:
		d.Rule, d.Drop = fmt.Sprintf("%s: sent what it does not declare", where), reasons[kind]
	}
	return d, true
}

// entryByID returns the port in force whose cookie id is id, nil for
// none; a.mu is held.
func (a *App) entryByID(id uint32) *entry {
	if id == 0 {
		return nil
	}
	for _, e := range a.res.ports {
		if e.id == id {
			return e
		}
	}
	return nil
}
