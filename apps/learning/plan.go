package learning

import (
	"encoding/binary"
	"hash/fnv"
	"sort"

	"github.com/ovsmesh/ovsmesh/apps"
	"github.com/ovsmesh/ovsmesh/controller"
	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/topo"
)

// planner builds flows for one cookie generation and timeout setting.
// Its methods are pure: they read views and entries and return messages.
type planner struct {
	gen         uint16
	next        flows.TableID // the stage after classify
	idleTimeout uint16        // seconds
	// meters says whether a port's packets reach the controller through
	// the port's meter.
	meters controller.Meters
}

func (p planner) cookie(object uint32) flows.Cookie {
	return flows.NewCookie(p.gen, ID, object)
}

// macObject is the cookie object of a MAC's flows: its low 32 bits.
func macObject(mac []byte) uint32 { return binary.BigEndian.Uint32(mac[2:6]) }

// floodGroups returns the split-horizon flood groups of v: from a local
// port, every other local port and every tunnel; from a tunnel, local
// ports only. The switch itself skips the in_port (OpenFlow 1.3.5 §5.12
// output to the ingress port is dropped unless it is OFPP_IN_PORT).
func (p planner) floodGroups(v *view) []flows.Message {
	var localBuckets, allBuckets [][]flows.Action
	for _, port := range apps.SortedPorts(v.Local) {
		b := []flows.Action{flows.Output{Port: port}}
		localBuckets = append(localBuckets, b)
		allBuckets = append(allBuckets, b)
	}
	for _, port := range sortedTunnels(v.Tunnels) {
		allBuckets = append(allBuckets, []flows.Action{flows.Output{Port: port}})
	}
	return []flows.Message{
		flows.GroupMod{Command: flows.GroupAddOrModify, ID: GroupFloodLocal, Buckets: allBuckets},
		flows.GroupMod{Command: flows.GroupAddOrModify, ID: GroupFloodTunnel, Buckets: localBuckets},
	}
}

// baseline returns v's groups, the from-tunnel flood entry and the
// tunnel admission flows, groups first so no flow refers to a missing
// group. (The table-miss entries are the controller's baseline.)
func (p planner) baseline(v *view) []flows.Message {
	msgs := p.floodGroups(v)
	msgs = append(msgs,
		flows.AddFlow(flows.Flow{Table: TableL2, Priority: PrioFloodFromTunnel, Cookie: p.cookie(0),
			Match:   flows.Match{Metadata: flows.MetaFromTunnel, MetadataMask: flows.MetaFromTunnel},
			Actions: []flows.Action{flows.Group{ID: GroupFloodTunnel}}}),
	)
	for _, port := range sortedTunnels(v.Tunnels) {
		msgs = append(msgs, flows.AddFlow(p.tunnelIn(port)))
	}
	for _, port := range apps.SortedPorts(v.Local) {
		msgs = append(msgs, flows.AddFlow(p.unknownSrc(port)))
	}
	return append(msgs, flows.AddFlow(p.probeDrop()))
}

// unknownSrc sends a copy of a frame from an unknown source on local
// port to the controller and lets the frame go on to the next stage:
// forwarding never waits for learning.
func (p planner) unknownSrc(port flows.OFPort) flows.Flow {
	return flows.Flow{Table: TableClassify, Priority: PrioUnknownSrc, Cookie: p.cookie(0),
		Match:   flows.Match{InPort: port},
		Actions: []flows.Action{apps.CopyToController(p.meters, port)}, Goto: p.next}
}

// portLimit drops unknown sources on port for hold seconds: the port
// holds as many MACs as it may.
func (p planner) portLimit(port flows.OFPort, hold uint16) flows.Flow {
	return flows.Flow{Table: TableClassify, Priority: PrioPortLimit, Cookie: p.cookie(0), HardTimeout: hold,
		Match: flows.Match{InPort: port}}
}

// probeDrop drops frames sent to flows.ProbeMAC (answers to liveness
// probes go on from the stage that watches for them, and must not be
// flooded).
func (p planner) probeDrop() flows.Flow {
	return flows.Flow{Table: TableL2, Priority: PrioL2Dst, Cookie: p.cookie(0),
		Match: flows.Match{EthDst: flows.ProbeMAC[:]}}
}

// watch copies e's frames from its place to the controller for secs
// seconds, and lets them go on: the owner shows it is alive without
// losing a frame.
func (p planner) watch(e topo.MACEntry, secs uint16) flows.Flow {
	return flows.Flow{Table: TableClassify, Priority: PrioWatch, Cookie: p.cookie(macObject(e.MAC)), HardTimeout: secs,
		Match: flows.Match{InPort: e.OFPort, EthSrc: e.MAC}, Actions: []flows.Action{apps.CopyToController(p.meters, e.OFPort)}, Goto: p.next}
}

// tunnelIn admits everything arriving on a tunnel port, tagged so that
// later stages know (the ARP stage passes it on, TableL2 floods it to
// local ports only).
func (p planner) tunnelIn(port flows.OFPort) flows.Flow {
	return flows.Flow{Table: TableClassify, Priority: PrioTunnelIn, Cookie: p.cookie(0),
		Match:         flows.Match{InPort: port},
		WriteMetadata: flows.MetaFromTunnel, WriteMetadataMask: flows.MetaFromTunnel,
		Goto: p.next}
}

// srcFlow admits e's MAC from its port; it idles out after the idle
// timeout and reports its removal, which is how MACs age.
func (p planner) srcFlow(e topo.MACEntry) flows.Flow {
	return flows.Flow{Table: TableClassify, Priority: PrioKnownSrc, Cookie: p.cookie(macObject(e.MAC)),
		IdleTimeout: p.idleTimeout, SendFlowRem: true,
		Match: flows.Match{InPort: e.OFPort, EthSrc: e.MAC},
		Goto:  p.next}
}

// holdFlow drops a claimant of e's MAC at its port for hold seconds (a
// move being verified, refused or damped).
func (p planner) holdFlow(e topo.MACEntry, hold uint16) flows.Flow {
	return flows.Flow{Table: TableClassify, Priority: PrioDamped, Cookie: p.cookie(macObject(e.MAC)),
		HardTimeout: hold, Match: flows.Match{InPort: e.OFPort, EthSrc: e.MAC}}
}

// dstFlow returns v's flow towards e's MAC: out of the local port when e
// is on v, else out of v's tunnel towards e's host. It reports false
// when v has no path (a standalone switch's MAC seen from another switch,
// or a tunnel not up yet; the MAC is then flooded).
func (p planner) dstFlow(v *view, e topo.MACEntry) (flows.Flow, bool) {
	port := e.OFPort
	if e.DPID != v.DPID {
		if e.Domain != 0 || v.domain != 0 {
			return flows.Flow{}, false
		}
		var ok bool
		if port, ok = v.Tunnels[e.Host]; !ok {
			return flows.Flow{}, false
		}
	}
	return flows.Flow{Table: TableL2, Priority: PrioL2Dst, Cookie: p.cookie(macObject(e.MAC)),
		Match: flows.Match{EthDst: e.MAC}, Actions: []flows.Action{flows.Output{Port: port}}}, true
}

// install returns the flows v needs for e: source admission and
// destination when e is on v, destination only elsewhere.
func (p planner) install(v *view, e topo.MACEntry) []flows.Message {
	var msgs []flows.Message
	if e.DPID == v.DPID {
		msgs = append(msgs, flows.AddFlow(p.srcFlow(e)))
	}
	if f, ok := p.dstFlow(v, e); ok {
		msgs = append(msgs, flows.AddFlow(f))
	}
	return msgs
}

// replay is install for a switch that (re)connects: the source flow's
// idle timeout gets up to 10% more, spread by MAC, so MACs replayed
// together do not all age out together (8000 FLOW_REMOVED in one burst).
func (p planner) replay(v *view, e topo.MACEntry) []flows.Message {
	msgs := p.install(v, e)
	if e.DPID == v.DPID && len(msgs) > 0 {
		fm := msgs[0].(flows.FlowMod)
		fm.Flow.IdleTimeout = jitter(p.idleTimeout, e.MAC)
		msgs[0] = fm
	}
	return msgs
}

// jitter returns base plus up to 10% of it, chosen by the MAC's hash,
// within 65535 seconds.
func jitter(base uint16, mac []byte) uint16 {
	spread := uint32(base) / 10
	if spread == 0 {
		return base
	}
	h := fnv.New32a()
	h.Write(mac)
	return uint16(min(uint32(base)+h.Sum32()%(spread+1), 65535))
}

// uninstall returns the deletes that remove e's flows from v.
func (p planner) uninstall(v *view, e topo.MACEntry) []flows.Message {
	msgs := []flows.Message{flows.DeleteStrict(flows.Flow{Table: TableL2, Priority: PrioL2Dst,
		Match: flows.Match{EthDst: e.MAC}})}
	if e.DPID == v.DPID {
		msgs = append(msgs, flows.DeleteStrict(p.srcFlow(e)))
	}
	return msgs
}

// move returns, per DPID, what changes when a MAC moves from old to now
// across views (every view of the domain, including old's and now's).
func (p planner) move(views []*view, old, now topo.MACEntry) map[flows.DPID][]flows.Message {
	// The claimant's hold (a move verified before it is believed) goes
	// first on the new place's switch.
	out := map[flows.DPID][]flows.Message{}
	for _, v := range views {
		var msgs []flows.Message
		if v.DPID == now.DPID {
			msgs = append(msgs, flows.DeleteStrict(p.holdFlow(now, 0)))
		}
		if v.DPID == old.DPID {
			msgs = append(msgs, flows.DeleteStrict(p.srcFlow(old)))
		}
		if f, ok := p.dstFlow(v, now); ok {
			msgs = append(msgs, flows.AddFlow(f))
			if v.DPID == now.DPID {
				msgs = append(msgs, flows.AddFlow(p.srcFlow(now)))
			}
		} else {
			msgs = append(msgs, flows.DeleteStrict(flows.Flow{Table: TableL2, Priority: PrioL2Dst,
				Match: flows.Match{EthDst: now.MAC}}))
		}
		out[v.DPID] = msgs
	}
	return out
}

func sortedTunnels(m map[string]flows.OFPort) []flows.OFPort {
	out := make([]flows.OFPort, 0, len(m))
	for _, p := range m {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
