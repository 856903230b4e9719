package ovsdb

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

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
