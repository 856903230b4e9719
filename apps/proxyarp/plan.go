package proxyarp

import (
	"encoding/binary"
	"net"
	"net/netip"

	"github.com/ovsmesh/ovsmesh/apps"
	"github.com/ovsmesh/ovsmesh/controller"
	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/topo"
)

// planner builds the app's flows for one cookie generation. Its methods
// are pure: they read bindings and return flows or messages.
type planner struct {
	gen uint16
	// l2 is the l2 stage's table.
	l2 flows.TableID
	// aging is the known-sender flows' idle timeout in seconds: a
	// binding whose owner sends no ARP for that long ages out.
	aging uint16
	// hold is the hard timeout in seconds of the drop flow installed
	// after a refused claim.
	hold uint16
	// meters says whether a port's packets reach the controller through
	// the port's meter.
	meters controller.Meters
}

// cookie returns the app's cookie for an object (an IPv4 address as a
// big-endian uint32, 0 for the baseline).
func (p planner) cookie(object uint32) flows.Cookie {
	return flows.NewCookie(p.gen, ID, object)
}

// ipObject is the cookie object of an IPv4 address's flows.
func ipObject(ip netip.Addr) uint32 {
	b := ip.As4()
	return binary.BigEndian.Uint32(b[:])
}

var zeroIP = netip.AddrFrom4([4]byte{})

// baseline returns the ARP table's fixed flows on a mesh switch:
// ARP from tunnels passes to l2 (never answered or learned twice), ARP
// probes (sender 0.0.0.0) go to the responders without learning, other
// ARP with sender 0.0.0.0 (malformed: OVS zeroes the ARP fields it
// cannot parse) is dropped, every other request or reply from a local
// port is copied to the controller and goes on to the responders, and
// ARP with any other opcode is dropped. Known senders are admitted above
// these by senderFlow; claims of bound IPs by others stop at gateFlow.
func (p planner) baseline() []flows.Message {
	arp := flows.Match{EthType: flows.EthTypeARP}
	probe := arp
	probe.ARPOp, probe.ARPSPA = 1, zeroIP
	zero := arp
	zero.ARPSPA = zeroIP
	req, rep := arp, arp
	req.ARPOp, rep.ARPOp = 1, 2
	return []flows.Message{
		flows.AddFlow(flows.Flow{Table: TableARP, Priority: PrioARPFromTunnel, Cookie: p.cookie(0),
			Match: flows.Match{Metadata: flows.MetaFromTunnel, MetadataMask: flows.MetaFromTunnel}, Goto: p.l2}),
		flows.AddFlow(flows.Flow{Table: TableARP, Priority: PrioARPProbe, Cookie: p.cookie(0),
			Match: probe, Goto: TableARPResponder}),
		flows.AddFlow(flows.Flow{Table: TableARP, Priority: PrioARPProbeDrop, Cookie: p.cookie(0),
			Match: zero}),
		flows.AddFlow(flows.Flow{Table: TableARP, Priority: PrioARPInspect, Cookie: p.cookie(0),
			Match: req, Actions: []flows.Action{flows.ToController}, Goto: TableARPResponder}),
		flows.AddFlow(flows.Flow{Table: TableARP, Priority: PrioARPInspect, Cookie: p.cookie(0),
			Match: rep, Actions: []flows.Action{flows.ToController}, Goto: TableARPResponder}),
		flows.AddFlow(flows.Flow{Table: TableARP, Priority: PrioARPBadOp, Cookie: p.cookie(0),
			Match: arp}),
	}
}

// inspectPorts returns, when per-port meters are on, the inspect flows
// of each local port with a meter: requests and replies copied to the
// controller through the port's meter, on to the responders. Ports
// without a meter (LOCAL) keep the port-agnostic inspect flows.
func (p planner) inspectPorts(local map[flows.OFPort]bool) []flows.Flow {
	var out []flows.Flow
	for _, port := range apps.SortedPorts(local) {
		if _, ok := p.meters.PortMeter(port); !ok {
			continue
		}
		for _, op := range []uint16{1, 2} {
			out = append(out, flows.Flow{Table: TableARP, Priority: PrioARPInspectPort, Cookie: p.cookie(0),
				Match:   flows.Match{InPort: port, EthType: flows.EthTypeARP, ARPOp: op},
				Actions: []flows.Action{apps.CopyToController(p.meters, port)}, Goto: TableARPResponder})
		}
	}
	return out
}

// senderFlow admits ARP from b's owner without a packet-in: in_port,
// eth_src, arp_spa and arp_sha must all be b's. Its idle timeout is the
// aging time and its removal is reported, which is how bindings age.
func (p planner) senderFlow(b topo.ARPBinding) flows.Flow {
	return flows.Flow{Table: TableARP, Priority: PrioARPKnownSender, Cookie: p.cookie(ipObject(b.IP)),
		IdleTimeout: p.aging, SendFlowRem: true,
		Match: flows.Match{InPort: b.OFPort, EthSrc: b.MAC, EthType: flows.EthTypeARP, ARPSPA: b.IP, ARPSHA: b.MAC},
		Goto:  TableARPResponder}
}

// gateFlow sends ARP claiming b.IP from anyone but its owner (whose
// senderFlow sits above) to the controller only: the claim waits for a
// decision.
func (p planner) gateFlow(b topo.ARPBinding) flows.Flow {
	return flows.Flow{Table: TableARP, Priority: PrioARPGate, Cookie: p.cookie(ipObject(b.IP)),
		Match: flows.Match{EthType: flows.EthTypeARP, ARPSPA: b.IP}, Actions: []flows.Action{flows.ToController}}
}

// watchFlow sends the ARP of b's owner at its place to the controller
// for secs seconds (it is delivered after the decision): while another
// MAC's claim of b.IP is verified, the owner's answer to the probe shows
// it is alive.
func (p planner) watchFlow(b topo.ARPBinding, secs uint16) flows.Flow {
	return flows.Flow{Table: TableARP, Priority: PrioARPWatch, Cookie: p.cookie(ipObject(b.IP)), HardTimeout: secs,
		Match: flows.Match{InPort: b.OFPort, EthSrc: b.MAC, EthType: flows.EthTypeARP}, Actions: []flows.Action{flows.ToController}}
}

// responder answers a request for b.IP in the datapath (the OVN/Neutron
// ARP responder): the request becomes the reply and leaves by the port
// it came in on.
func (p planner) responder(b topo.ARPBinding) flows.Flow {
	return flows.Flow{Table: TableARPResponder, Priority: PrioARPResponder, Cookie: p.cookie(ipObject(b.IP)),
		Match:   flows.Match{EthType: flows.EthTypeARP, ARPOp: 1, ARPTPA: b.IP},
		Actions: apps.ARPReplyActions(b.MAC, b.IP)}
}

// samePort drops, on b's own switch, requests for b.IP that come in on
// b's own port: the target is on the asker's segment and answers itself.
func (p planner) samePort(b topo.ARPBinding) flows.Flow {
	return flows.Flow{Table: TableARPResponder, Priority: PrioARPSamePort, Cookie: p.cookie(ipObject(b.IP)),
		Match: flows.Match{InPort: b.OFPort, EthType: flows.EthTypeARP, ARPOp: 1, ARPTPA: b.IP}}
}

// holdFlow drops, for the hold time, ARP from (port, eth_src) claiming
// ip at sha, after such a claim was refused. The sender's own, valid
// ARP (another IP, or its own MAC as sha) is not affected.
func (p planner) holdFlow(port flows.OFPort, ethSrc, sha net.HardwareAddr, ip netip.Addr) flows.Flow {
	return flows.Flow{Table: TableARP, Priority: PrioARPHold, Cookie: p.cookie(ipObject(ip)),
		HardTimeout: p.hold,
		Match:       flows.Match{InPort: port, EthSrc: ethSrc, EthType: flows.EthTypeARP, ARPSPA: ip, ARPSHA: sha}}
}

// located reports whether b has a place (learned, or a static binding
// seen on a port) on switch dpid.
func located(b topo.ARPBinding, dpid flows.DPID) bool { return b.DPID == dpid && b.OFPort != 0 }

// install returns what switch dpid needs for b: the responder and the
// gate, and the known-sender flow when b sits on dpid.
func (p planner) install(dpid flows.DPID, b topo.ARPBinding) []flows.Message {
	msgs := []flows.Message{flows.AddFlow(p.responder(b)), flows.AddFlow(p.gateFlow(b))}
	if located(b, dpid) {
		msgs = append(msgs, flows.AddFlow(p.senderFlow(b)), flows.AddFlow(p.samePort(b)))
	}
	return msgs
}

// uninstall returns the deletes that remove b's flows from switch dpid.
func (p planner) uninstall(dpid flows.DPID, b topo.ARPBinding) []flows.Message {
	msgs := []flows.Message{flows.DeleteStrict(p.responder(b)), flows.DeleteStrict(p.gateFlow(b))}
	if located(b, dpid) {
		msgs = append(msgs, flows.DeleteStrict(p.senderFlow(b)), flows.DeleteStrict(p.samePort(b)))
	}
	return msgs
}

// change returns, for switch dpid, what changes when binding old becomes
// now (same IP): the known-sender flow follows the owner, the responder
// follows the MAC.
func (p planner) change(dpid flows.DPID, old, now topo.ARPBinding) []flows.Message {
	var msgs []flows.Message
	if located(old, dpid) && (old.OFPort != now.OFPort || old.DPID != now.DPID || string(old.MAC) != string(now.MAC)) {
		msgs = append(msgs, flows.DeleteStrict(p.senderFlow(old)))
		if old.OFPort != now.OFPort || old.DPID != now.DPID {
			msgs = append(msgs, flows.DeleteStrict(p.samePort(old)))
		}
	}
	if string(old.MAC) != string(now.MAC) {
		msgs = append(msgs, flows.AddFlow(p.responder(now)))
	}
	if located(now, dpid) {
		msgs = append(msgs, flows.AddFlow(p.senderFlow(now)), flows.AddFlow(p.samePort(now)))
	}
	return msgs
}

// answer is the controller's own answer to req from binding b, sent out
// of the port the request came in on.
func answer(req *arpPacket, b topo.ARPBinding, inPort flows.OFPort) (flows.PacketOut, error) {
	data, err := buildReply(req, b.IP, b.MAC)
	if err != nil {
		return flows.PacketOut{}, err
	}
	return flows.PacketOut{InPort: flows.PortController, Actions: []flows.Action{flows.Output{Port: inPort}}, Data: data}, nil
}

// deliver sends an accepted ARP packet on through the pipeline from the
// responder table, as if its sender had been admitted: the switch
// answers a request for a known IP, and l2 forwards or floods the rest.
func deliver(inPort flows.OFPort, data []byte) flows.PacketOut {
	return flows.PacketOut{InPort: inPort, Actions: []flows.Action{flows.Resubmit{Table: TableARPResponder}}, Data: data}
}
