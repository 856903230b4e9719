package proxyarp

import (
	"net"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/ovsmesh/ovsmesh/controller/controllertest"
	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/topo"
)

// recorder stands in for a switch: it records what the app sends.
type recorder = controllertest.Recorder

// fakeMACs is a map-backed MACs.
type fakeMACs map[topo.MACKey]topo.MACEntry

func (m fakeMACs) Get(k topo.MACKey) (topo.MACEntry, bool) { e, ok := m[k]; return e, ok }

// clock is a settable time source.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }
func newClock() *clock                   { return &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func mac(s string) net.HardwareAddr { m, _ := net.ParseMAC(s); return m }
func ip(s string) netip.Addr        { return netip.MustParseAddr(s) }
func port(no flows.OFPort, name string) flows.Port {
	return flows.Port{No: no, Name: name}
}

// mesh3 is three mesh hosts and their recorders (controllertest.Mesh).
func mesh3() (*topo.Mesh, []*recorder) { return controllertest.Mesh(3) }

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

func pin(inPort flows.OFPort, data []byte) *flows.PacketIn {
	return &flows.PacketIn{BufferID: flows.NoBuffer, Table: flows.TableARP, Reason: 1, InPort: inPort, Data: data}
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
