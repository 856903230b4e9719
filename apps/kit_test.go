package apps

import (
	"context"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ovsmesh/ovsmesh/controller"
	"github.com/ovsmesh/ovsmesh/controller/controllertest"
	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/topo"
)

func TestClassifyPorts(t *testing.T) {
	mesh := topo.NewMesh([]topo.Host{{Name: "h1", TunnelIP: netip.MustParseAddr("198.18.0.1")}, {Name: "h2", TunnelIP: netip.MustParseAddr("198.18.0.2")}})
	ports := []flows.Port{
		{No: 1, Name: "g1"},
		{No: 2, Name: "g2", State: 1}, // link down
		{No: 3, Name: topo.TunnelPortName("h2")},
		{No: 4, Name: topo.TunnelPortName("gone")}, // a tunnel to a host no longer configured
		{No: 5, Name: topo.TunnelPortName("h1")},   // a tunnel to itself: ignored
		{No: flows.PortLocal, Name: "br-int"},
		{No: 6, Name: "ext0"}, // owned by an app on h1
	}
	mesh.SetAppPorts([]topo.AppPort{{Host: "h1", Name: "ext0", App: "nat"}, {Host: "h2", Name: "g1", App: "nat"}})
	p := ClassifyPorts(mesh, &controllertest.Recorder{ID: topo.DPIDFor("h1"), PortList: ports})
	if p.Host != "h1" || len(p.Local) != 2 || !p.Local[1] || !p.Local[flows.PortLocal] || p.Tunnels["h2"] != 3 || len(p.Tunnels) != 1 {
		t.Errorf("mesh host: %+v", p)
	}
	if p.Owned["ext0"] != 6 || len(p.Owned) != 1 || p.Local[6] {
		t.Errorf("owned ports: %v (an app's port is neither local nor a tunnel; h2's ports are not h1's)", p.Owned)
	}
	if !p.IsTunnel(3) || p.IsTunnel(1) {
		t.Errorf("IsTunnel wrong")
	}
	s := ClassifyPorts(mesh, &controllertest.Recorder{ID: 0x99, PortList: ports})
	if s.Host != "" || len(s.Tunnels) != 0 || !s.Local[1] || s.Local[3] || s.Local[4] {
		t.Errorf("standalone switch: %+v (ovsmesh-named ports are never local)", s)
	}
}

func TestSwitchesDownKeepsANewerSession(t *testing.T) {
	set := NewSwitches[int]()
	old, newer := &controllertest.Recorder{ID: 7}, &controllertest.Recorder{ID: 7}
	set.Up(old, 1)
	set.Up(newer, 2)
	if set.Down(old) || set.Get(7) == nil || set.Get(7).State != 2 {
		t.Errorf("the old session's SwitchDown removed the newer session")
	}
	if !set.Down(newer) || set.Len() != 0 {
		t.Errorf("Down of the current session kept it")
	}
}

func TestCopyToController(t *testing.T) {
	on := controller.Meters{PortPPS: 100}
	for _, tc := range []struct {
		m    controller.Meters
		port flows.OFPort
		want string
	}{
		{on, 3, "controller(meter_id=3)"},
		{on, flows.PortLocal, "CONTROLLER:65535"},
		{controller.Meters{SwitchPPS: 5}, 3, "CONTROLLER:65535"},
	} {
		if got := CopyToController(tc.m, tc.port).String(); got != tc.want {
			t.Errorf("CopyToController(%+v, %d) = %s, want %s", tc.m, tc.port, got, tc.want)
		}
	}
}

// TestExpired checks only the switches away for at least the timeout
// are returned, and removed from the map.
func TestExpired(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	absent := map[flows.DPID]time.Time{1: now.Add(-time.Minute), 2: now.Add(-30 * time.Second), 3: now.Add(-29 * time.Second)}
	got := Expired(absent, now, 30*time.Second)
	if len(got) != 2 || !got[1] || !got[2] || len(absent) != 1 || absent[3].IsZero() {
		t.Errorf("Expired: %v, left %v; want 1 and 2 returned, 3 left", got, absent)
	}
}

// TestEvery checks f runs repeatedly until ctx ends, and not after.
func TestEvery(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var n atomic.Int32
	done := make(chan struct{})
	go func() {
		Every(ctx, RealClock{}, time.Millisecond, func() {
			if n.Add(1) == 3 {
				cancel()
			}
		})
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Every did not return after its context ended")
	}
	if got := n.Load(); got != 3 {
		t.Errorf("f ran %d times, want 3 (the last one cancelled)", got)
	}
}
