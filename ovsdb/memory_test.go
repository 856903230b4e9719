package ovsdb

import (
	"context"
	"fmt"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/ovsmesh/ovsmesh/topo"
)

// BenchmarkConnMemory measures what one host costs the controller in
// memory: the live heap of a Conn (libovsdb client, monitor replica)
// whose database holds the mesh bridge and P tunnel ports, for P = 0 and
// P = 500. It reports bytes per Conn and, from the difference, bytes per
// tunnel port (a Port and an Interface row in the replica).
//
//	go test ./ovsdb -run '^$' -bench ConnMemory -benchtime 1x
func BenchmarkConnMemory(b *testing.B) {
	const conns = 20
	perConn := map[int]float64{}
	for _, ports := range []int{0, 500} {
		addr := startServer(b)
		c := dialTest(b, addr)
		if _, err := c.EnsureBridge(context.Background(), Bridge{Name: "br-mesh", DatapathType: "netdev"}); err != nil {
			b.Fatal(err)
		}
		waitFor(b, c, "bridge", hasBridge("br-mesh"))
		var want []TunnelPort
		for i := range ports {
			want = append(want, TunnelPort{Name: topo.TunnelPortName(fmt.Sprintf("p%d", i)), Peer: fmt.Sprintf("p%d", i),
				Type: "vxlan", RemoteIP: netip.AddrFrom4([4]byte{198, 18, byte(i / 250), byte(i%250 + 1)}), Key: 5001})
		}
		if _, err := c.SyncTunnelPorts(context.Background(), "br-mesh", want); err != nil {
			b.Fatal(err)
		}
		waitFor(b, c, "tunnel ports", func(s *snapshot) error {
			if n := len(tunnelPorts(s, "br-mesh")); n != ports {
				return fmt.Errorf("%d ports", n)
			}
			return nil
		})
		before := liveHeap()
		var held []*Conn
		for range conns {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			cc, err := Dial(ctx, addr, DialOptions{OnChange: func() {}})
			cancel()
			if err != nil {
				b.Fatal(err)
			}
			held = append(held, cc)
		}
		perConn[ports] = float64(liveHeap()-before) / conns
		for _, cc := range held {
			cc.Close()
		}
	}
	b.ReportMetric(perConn[0], "bytes/host")
	b.ReportMetric((perConn[500]-perConn[0])/500, "bytes/tunnel-port")
}

// liveHeap returns the live heap in bytes after a full collection.
func liveHeap() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
