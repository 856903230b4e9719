package trace

import (
	"context"
	"testing"

	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/topo"
)

// FuzzStop feeds a probe waiting on h1 arbitrary packet-ins of its
// trace flows (table, frame, pipeline match), as a switch could send
// them. Properties: nothing panics, and whatever the packet-in claims,
// no copy is ever output to a guest.
//
//	go test ./apps/trace -run '^$' -fuzz '^FuzzStop$' -fuzztime 10s
func FuzzStop(f *testing.F) {
	g := guest{1, 1}
	pr := probe{proto: "icmp", srcMAC: g.mac(), dstMAC: guest{2, 1}.mac(), srcIP: g.ip(), dstIP: guest{2, 1}.ip(), id: 1}
	frame, err := pr.frame()
	if err != nil {
		f.Fatal(err)
	}
	in1 := []byte{0x80, 0x00, 0x00, 4, 0, 0, 0, 1}
	f.Add(uint8(0), frame, in1)
	f.Add(uint8(40), frame, append(append([]byte{}, in1...), 0x00, 0x01, 0x0e, 4, 0, 0, 0, 0x0f))
	f.Add(uint8(31), []byte{0xff}, []byte{0x80})
	f.Add(uint8(10), frame[:20], []byte{})
	n := newFakeNet(&testing.T{}, testConfig)
	h1 := topo.DPIDFor("h1")
	n.app.install(context.Background(), 1, false, n.app.connected())
	f.Fuzz(func(t *testing.T, table uint8, data, match []byte) {
		n.t = t
		n.delivered = nil
		tr := &tracer{a: n.app, ctx: context.Background(), seq: 1, id: 1, stops: make(chan stop, 4096),
			res: &Result{Visits: []Visit{}}, hosts: map[flows.DPID]*hostView{}}
		for _, sw := range n.app.connected() {
			tr.hosts[sw.DPID()] = n.app.newHostView(sw)
		}
		p := tr.newPath(tr.hosts[h1], 1, "", frame, nil)
		p.waiting = true
		tr.handle(stop{dpid: h1, table: flows.TableID(table), data: data, match: match})
		if len(n.delivered) > 0 {
			t.Fatalf("a copy reached a guest: %v", n.delivered)
		}
	})
}
