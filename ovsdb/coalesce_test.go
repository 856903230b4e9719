package ovsdb

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"sync"
	"testing"
	"time"

	libovsdb "github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/ovsmesh/ovsmesh/ovsdb/vswitchd"
	"github.com/ovsmesh/ovsmesh/topo"
)

// TestManagerPassesDoNotGrowWithPeers builds one host's mesh towards many
// peers and checks that the number of reconcile passes does not depend on
// the number of peers: the tunnels go in one transaction and the monitor
// updates it causes are coalesced (Options.Debounce).
func TestManagerPassesDoNotGrowWithPeers(t *testing.T) {
	tests := []struct{ peers, maxPasses int }{
		{peers: 2, maxPasses: 6},
		{peers: 60, maxPasses: 6},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%d peers", tc.peers), func(t *testing.T) {
			hole := blackhole(t)
			hosts := []topo.Host{testHost("h1", "", "198.18.0.1")}
			for i := range tc.peers {
				hosts = append(hosts, topo.Host{Name: fmt.Sprintf("p%d", i), OVSDB: hole,
					TunnelIP: netip.AddrFrom4([4]byte{198, 18, 1, byte(i)})})
			}
			env := startManager(t, hosts)
			env.waitMesh(t, hosts)
			eventually(t, 5*time.Second, "h1 converged", func() error {
				if !env.mesh.OVSDBState("h1").Converged {
					return fmt.Errorf("not converged: %+v", env.mesh.OVSDBState("h1"))
				}
				return nil
			})
			passes := env.counter(t, "ovsmesh_ovsdb_reconcile_passes_total", "h1")
			t.Logf("%d peers: %.0f passes to converge", tc.peers, passes)
			if passes > float64(tc.maxPasses) {
				t.Errorf("%.0f reconcile passes for %d peers; want at most %d", passes, tc.peers, tc.maxPasses)
			}
		})
	}
}

// batchRecorder is a BatchPublisher that records its batch calls and
// fails the test on a per-peer call.
type batchRecorder struct {
	*topo.Mesh
	t *testing.T

	mu      sync.Mutex
	batches []map[string]int32 // h1's batches
}

func (b *batchRecorder) SetTunnelOFPort(host, peer string, ofport int32) {
	b.t.Errorf("SetTunnelOFPort(%s, %s, %d) called on a BatchPublisher", host, peer, ofport)
}

func (b *batchRecorder) SetTunnelOFPorts(host string, ports map[string]int32) {
	if host == "h1" {
		b.mu.Lock()
		b.batches = append(b.batches, maps.Clone(ports))
		b.mu.Unlock()
	}
	for peer, p := range ports {
		b.Mesh.SetTunnelOFPort(host, peer, p)
	}
}

func (b *batchRecorder) last() map[string]int32 {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.batches) == 0 {
		return nil
	}
	return b.batches[len(b.batches)-1]
}

// TestManagerPublishesBatches checks that a BatchPublisher gets the OFPorts
// that ovs-vswitchd assigns in one transaction in one call.
func TestManagerPublishesBatches(t *testing.T) {
	hosts := threeHosts()
	for i := range hosts {
		hosts[i].OVSDB = startServer(t)
	}
	c := dialTest(t, hosts[0].OVSDB)
	rec := &batchRecorder{Mesh: topo.NewMesh(hosts), t: t}
	mgr, err := NewManager(Options{Mesh: testMesh(), Targets: testTargets, Hosts: hosts, Publisher: rec})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	waitFor(t, c, "h1's mesh", func(s *snapshot) error { return checkMesh(s, testMesh(), testTargets, hosts[0], hosts) })
	// Play ovs-vswitchd: both OFPorts in one transaction.
	s := c.snapshot()
	mustTransact(t, c,
		updateOp(vswitchd.InterfaceTable, whereUUID(s.ifaceByName["om-h2"].UUID), libovsdb.Row{"ofport": 5}),
		updateOp(vswitchd.InterfaceTable, whereUUID(s.ifaceByName["om-h3"].UUID), libovsdb.Row{"ofport": 6}))
	eventually(t, 5*time.Second, "one batch with both OFPorts", func() error {
		if got := rec.last(); !maps.Equal(got, map[string]int32{"h2": 5, "h3": 6}) {
			return fmt.Errorf("last batch %v", got)
		}
		return nil
	})
	if p, ok := rec.TunnelOFPort("h1", "h3"); !ok || p != 6 {
		t.Errorf("TunnelOFPort(h1, h3) = %d, %v; want 6", p, ok)
	}
}
