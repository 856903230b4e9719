package learning

import (
	"net"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/ovsmesh/ovsmesh/apps"
	"github.com/ovsmesh/ovsmesh/controller/controllertest"
	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/topo"
)

// recorder stands in for a switch: it records what the app sends.
type recorder = controllertest.Recorder

// newClock is a settable clock at a fixed date.
func newClock() *controllertest.Clock {
	return controllertest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
}

func mac(s string) net.HardwareAddr                { m, _ := net.ParseMAC(s); return m }
func port(no flows.OFPort, name string) flows.Port { return flows.Port{No: no, Name: name} }

// pipeline is the pipeline of the learning app alone, composed by the
// registry: ingress (0), classify (10), l2 (40).
func pipeline(t testing.TB) *flows.Pipeline {
	t.Helper()
	r, err := apps.NewRegistry(Spec)
	if err != nil {
		t.Fatal(err)
	}
	return r.Pipeline()
}

// mesh3 is three mesh hosts and their recorders (controllertest.Mesh),
// which check every flow against the pipeline.
func mesh3(t testing.TB) (*topo.Mesh, []*recorder) { return controllertest.Mesh(t, 3, pipeline(t)) }

// frame builds an Ethernet frame from src to dst carrying an ARP request.
func frame(src, dst net.HardwareAddr) []byte {
	buf := gopacket.NewSerializeBuffer()
	eth := &layers.Ethernet{SrcMAC: src, DstMAC: dst, EthernetType: layers.EthernetTypeARP}
	arp := &layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
		Operation: layers.ARPRequest, SourceHwAddress: src, SourceProtAddress: []byte{10, 0, 0, 1},
		DstHwAddress: make([]byte, 6), DstProtAddress: []byte{10, 0, 0, 2}}
	gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true}, eth, arp)
	return buf.Bytes()
}

// packetIn is a table-miss of classify (baseline cookie): the packet
// waited for the controller.
func packetIn(inPort flows.OFPort, src, dst net.HardwareAddr) *flows.PacketIn {
	return &flows.PacketIn{BufferID: flows.NoBuffer, Table: TableClassify, Cookie: flows.NewCookie(7, flows.AppBaseline, 10),
		InPort: inPort, Data: frame(src, dst)}
}

// copyIn is a copy sent by the app's own flows (the unknown-source flow
// of a local port, or a watch flow): the packet already went on.
func copyIn(inPort flows.OFPort, src, dst net.HardwareAddr) *flows.PacketIn {
	pi := packetIn(inPort, src, dst)
	pi.Cookie = flows.NewCookie(7, ID, 0)
	return pi
}
