package controllertest

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/topo"
)

// Mesh returns n configured hosts h1..hN (tunnel_ip 198.18.0.i) in a
// real topo.Mesh, and one Recorder per host, in host order. Each
// recorder has the host's pinned DPID and ports: guests g1 and g2 on
// OFPorts 1 and 2, the bridge's LOCAL port, and the tunnel towards host
// hJ (named topo.TunnelPortName("hJ")) on OFPort 10+J. Every message
// sent is checked against p (nil checks nothing), failing tb.
func Mesh(tb testing.TB, n int, p *flows.Pipeline) (*topo.Mesh, []*Recorder) {
	hosts := make([]topo.Host, n)
	for i := range hosts {
		hosts[i] = topo.Host{Name: fmt.Sprintf("h%d", i+1), TunnelIP: netip.AddrFrom4([4]byte{198, 18, 0, byte(i + 1)})}
	}
	recs := make([]*Recorder, n)
	for i, h := range hosts {
		r := &Recorder{ID: h.DPID(), Pipeline: p, TB: tb, PortList: []flows.Port{
			{No: 1, Name: "g1"}, {No: 2, Name: "g2"}, {No: flows.PortLocal, Name: "br-int"}}}
		for j, p := range hosts {
			if j != i {
				r.PortList = append(r.PortList, flows.Port{No: flows.OFPort(11 + j), Name: topo.TunnelPortName(p.Name)})
			}
		}
		recs[i] = r
	}
	return topo.NewMesh(hosts), recs
}
