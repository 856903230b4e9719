package learning

import (
	"fmt"
	"slices"

	"github.com/ovsmesh/ovsmesh/apps"
	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/topo"
)

// Explain implements apps.Explainer: what classify and l2 do with pkt,
// from the MAC table and the switch's ports as the app sees them. It
// cannot tell for a switch it has no session with.
func (a *App) Explain(stage string, pkt apps.Packet) (apps.Decision, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.switches.Get(pkt.DPID)
	if c == nil {
		return apps.Decision{}, false
	}
	switch stage {
	case "classify":
		return a.explainClassify(&c.State.v, pkt), true
	case "l2":
		return a.explainL2(&c.State.v, pkt), true
	}
	return apps.Decision{}, false
}

// explainClassify follows the classify flows in priority order.
func (a *App) explainClassify(v *view, pkt apps.Packet) apps.Decision {
	cookie := func(mac []byte) uint32 { return macObject(mac) }
	switch {
	case v.IsTunnel(pkt.InPort):
		return apps.Decision{Rule: fmt.Sprintf("from the tunnel from %s: admitted, marked as from a tunnel", pkt.From),
			App: ID, Next: apps.NextStage}
	case !v.Local[pkt.InPort]:
		return apps.Decision{Rule: fmt.Sprintf("port %d is not a port the app knows: table-miss, to the controller", pkt.InPort),
			App: flows.AppBaseline, Object: uint32(TableClassify), Controller: true}
	case len(pkt.EthSrc) != 6:
		return apps.Decision{Rule: "no Ethernet source", App: flows.AppBaseline, Object: uint32(TableClassify), Controller: true}
	}
	here := topo.MACEntry{MAC: pkt.EthSrc, DPID: v.DPID, OFPort: pkt.InPort}
	key := topo.KeyOf(v.domain, pkt.EthSrc)
	if p := a.pending[key]; p != nil {
		if p.claim.DPID == here.DPID && p.claim.OFPort == here.OFPort {
			return apps.Decision{Rule: fmt.Sprintf("%s claims to have moved here: held off while its place at %s port %d is verified",
				pkt.EthSrc, p.old.Host, p.old.OFPort), App: ID, Object: cookie(pkt.EthSrc), Drop: "claimant held off"}
		}
		if p.old.DPID == here.DPID && p.old.OFPort == here.OFPort {
			return apps.Decision{Rule: fmt.Sprintf("%s is watched while another place claims it: copied to the controller, goes on", pkt.EthSrc),
				App: ID, Object: cookie(pkt.EthSrc), Controller: true, Next: apps.NextStage}
		}
	}
	e, known := a.table.Get(key)
	switch {
	case known && e.DPID == here.DPID && e.OFPort == here.OFPort:
		return apps.Decision{Rule: fmt.Sprintf("known source %s at port %d", pkt.EthSrc, pkt.InPort), App: ID, Object: cookie(pkt.EthSrc), Next: apps.NextStage}
	case known:
		return apps.Decision{Rule: fmt.Sprintf("%s is learned at %s port %d: a move claim, copied to the controller, goes on",
			pkt.EthSrc, orSwitch(e.Host, e.DPID), e.OFPort), App: ID, Controller: true, Next: apps.NextStage}
	}
	return apps.Decision{Rule: fmt.Sprintf("unknown source %s: copied to the controller, goes on", pkt.EthSrc),
		App: ID, Controller: true, Next: apps.NextStage}
}

// explainL2 follows the l2 flows: a learned destination, the probe MAC,
// or the split-horizon floods.
func (a *App) explainL2(v *view, pkt apps.Packet) apps.Decision {
	if len(pkt.EthDst) == 6 && string(pkt.EthDst) == string(flows.ProbeMAC[:]) {
		return apps.Decision{Rule: "to the controller's probe MAC", App: ID, Drop: "frames to the probe MAC are dropped"}
	}
	if len(pkt.EthDst) == 6 && !isMulticast(pkt.EthDst) {
		if e, ok := a.table.Get(topo.KeyOf(v.domain, pkt.EthDst)); ok {
			if f, ok := a.plan.dstFlow(v, e); ok {
				port := f.Actions[0].(flows.Output).Port
				out := apps.Output{Port: port}
				rule := fmt.Sprintf("learned MAC %s at port %d", pkt.EthDst, port)
				if e.DPID != v.DPID {
					out.Tunnel = e.Host
					rule = fmt.Sprintf("learned MAC %s at %s port %d: through the tunnel to %s", pkt.EthDst, e.Host, e.OFPort, e.Host)
				}
				return apps.Decision{Rule: rule, App: ID, Object: macObject(e.MAC), Outputs: []apps.Output{out}}
			}
		}
	}
	var outs []apps.Output
	for _, p := range apps.SortedPorts(v.Local) {
		if p != pkt.InPort {
			outs = append(outs, apps.Output{Port: p})
		}
	}
	if pkt.From != "" {
		return apps.Decision{Rule: fmt.Sprintf("unknown or group destination %s from a tunnel: flooded to local ports", pkt.EthDst),
			App: ID, Outputs: outs, Flood: true}
	}
	peers := make([]string, 0, len(v.Tunnels))
	for peer := range v.Tunnels {
		peers = append(peers, peer)
	}
	slices.Sort(peers)
	for _, peer := range peers {
		if p := v.Tunnels[peer]; p != pkt.InPort {
			outs = append(outs, apps.Output{Port: p, Tunnel: peer})
		}
	}
	return apps.Decision{Rule: fmt.Sprintf("unknown or group destination %s: table-miss, flooded to local ports and every tunnel", pkt.EthDst),
		App: flows.AppBaseline, Object: uint32(TableL2), Outputs: outs, Flood: true}
}

// orSwitch names a place: its host, or its switch's DPID.
func orSwitch(host string, dpid flows.DPID) string {
	if host != "" {
		return host
	}
	return "switch " + dpid.String()
}
