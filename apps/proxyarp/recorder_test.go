package proxyarp

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/ovsmesh/ovsmesh/apps"
	"github.com/ovsmesh/ovsmesh/controller"
	"github.com/ovsmesh/ovsmesh/controller/controllertest"
	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/topo"
)

// recorder stands in for a switch: it records what the app sends.
type recorder = controllertest.Recorder

// fakeMACs is a map-backed MACs.
type fakeMACs map[topo.MACKey]topo.MACEntry

func (m fakeMACs) Get(k topo.MACKey) (topo.MACEntry, bool) { e, ok := m[k]; return e, ok }

// newClock is a settable clock at a fixed date.
func newClock() *controllertest.Clock {
	return controllertest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
}

func mac(s string) net.HardwareAddr { m, _ := net.ParseMAC(s); return m }
func ip(s string) netip.Addr        { return netip.MustParseAddr(s) }
func port(no flows.OFPort, name string) flows.Port {
	return flows.Port{No: no, Name: name}
}

// l2Stub stands in for the learning app, which owns the stages around
// proxy ARP's (an app's tests never import another app).
var l2Stub = apps.Spec{Name: "stub", ID: 2, Tables: []apps.Table{{Name: "classify", ID: 10}, {Name: "l2", ID: 40}},
	New: func(apps.Env) (controller.App, error) { return nil, nil }}

// pipeline is the pipeline of proxy ARP and the stub, composed by the
// registry: ingress (0), classify (10), arp (30), arp_responder (31),
// l2 (40).
func pipeline(t testing.TB) *flows.Pipeline {
	t.Helper()
	r, err := apps.NewRegistry(l2Stub, Spec)
	if err != nil {
		t.Fatal(err)
	}
	return r.Pipeline()
}

// mesh3 is three mesh hosts and their recorders (controllertest.Mesh),
// which check every flow against the pipeline.
func mesh3(t testing.TB) (*topo.Mesh, []*recorder) { return controllertest.Mesh(t, 3, pipeline(t)) }

var (
	bcast = mac("ff:ff:ff:ff:ff:ff")
	zeros = mac("00:00:00:00:00:00")
)

// arpFrame builds an Ethernet ARP frame by hand (so tests can also build
// wrong ones), padded to 60 bytes.
func arpFrame(ethSrc, ethDst net.HardwareAddr, op uint16, sha net.HardwareAddr, spa netip.Addr, tha net.HardwareAddr, tpa netip.Addr) []byte {
	b := append(append([]byte{}, ethDst...), ethSrc...)
	b = append(b, 0x08, 0x06, 0, 1, 0x08, 0, 6, 4, byte(op>>8), byte(op))
	b = append(b, sha...)
	b = append(b, spa.AsSlice()...)
	b = append(b, tha...)
	b = append(b, tpa.AsSlice()...)
	for len(b) < 60 {
		b = append(b, 0)
	}
	return b
}

// request is an ARP request from (m, i) for target.
func request(m net.HardwareAddr, i netip.Addr, target netip.Addr) []byte {
	return arpFrame(m, bcast, 1, m, i, zeros, target)
}

// reply is an ARP reply from (m, i) to (tm, ti).
func reply(m net.HardwareAddr, i netip.Addr, tm net.HardwareAddr, ti netip.Addr) []byte {
	return arpFrame(m, tm, 2, m, i, tm, ti)
}

// garp is a gratuitous ARP request announcing i at m.
func garp(m net.HardwareAddr, i netip.Addr) []byte { return arpFrame(m, bcast, 1, m, i, zeros, i) }

// pin is a copy from the inspect flows (an unbound sender IP): the
// datapath already took the packet on.
func pin(inPort flows.OFPort, data []byte) *flows.PacketIn {
	return &flows.PacketIn{BufferID: flows.NoBuffer, Table: TableARP, Reason: 1, Cookie: flows.NewCookie(7, ID, 0), InPort: inPort, Data: data}
}

// held is a packet held by the gate or watch flow of bound IP i: it
// waits for the controller's decision.
func held(inPort flows.OFPort, i netip.Addr, data []byte) *flows.PacketIn {
	pi := pin(inPort, data)
	pi.Cookie = flows.NewCookie(7, ID, ipObject(i))
	return pi
}

// value reads a counter or gauge.
func value(m prometheus.Metric) float64 {
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		panic(err)
	}
	if d.Counter != nil {
		return d.Counter.GetValue()
	}
	return d.Gauge.GetValue()
}
