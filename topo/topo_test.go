package topo

import (
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ovsmesh/ovsmesh/flows"
)

func TestDPIDFor(t *testing.T) {
	seen := map[flows.DPID]string{}
	for _, name := range []string{"h1", "h2", "h3", "host-with-a-long-name", ""} {
		d := DPIDFor(name)
		if d>>48 != 0x0a55 || d == 0 {
			t.Errorf("DPIDFor(%q) = %#x, want the 0a55 prefix", name, d)
		}
		if d != DPIDFor(name) {
			t.Errorf("DPIDFor(%q) is not stable", name)
		}
		if other, dup := seen[d]; dup {
			t.Errorf("DPIDFor(%q) collides with %q", name, other)
		}
		seen[d] = name
		if s := d.String(); len(s) != 16 || strings.ToLower(s) != s {
			t.Errorf("DPID(%#x).String() = %q, want 16 lower-case hex digits", d, s)
		}
	}
}

func TestTunnelPortName(t *testing.T) {
	tests := []struct{ peer, want string }{
		{"h1", "om-h1"},
		{"twelve-chars", "om-twelve-chars"},
	}
	for _, tc := range tests {
		if got := TunnelPortName(tc.peer); got != tc.want {
			t.Errorf("TunnelPortName(%q) = %q, want %q", tc.peer, got, tc.want)
		}
	}
	for _, peer := range []string{"rack12-node03", "a-name-longer-than-twelve", "under_score"} {
		if got := TunnelPortName(peer); len(got) != 15 {
			t.Errorf("TunnelPortName(%q) = %q: a name that does not fit is hashed to 15 bytes", peer, got)
		}
	}
	for _, peer := range []string{"a-name-longer-than-twelve", "under_score", "h1"} {
		got := TunnelPortName(peer)
		if len(got) > 15 || !IsTunnelPortName(got) {
			t.Errorf("TunnelPortName(%q) = %q: must be at most 15 bytes and look like a tunnel port", peer, got)
		}
	}
	if TunnelPortName("a-name-longer-than-twelve") == TunnelPortName("a-name-longer-than-thirteen") {
		t.Errorf("hashed tunnel names collide")
	}
	// Issue 11, defect 11: a host named like another's hash took its
	// tunnel port and cut it off.
	long := "rack12-compute-node-0042"
	hashed := TunnelPortName(long)
	forger := hashed[3:] // the 12 hex digits, a valid host name
	if TunnelPortName(forger) == hashed {
		t.Errorf("host %q gets %s, the tunnel port of %q", forger, hashed, long)
	}
	if c := Collisions([]string{long, forger, "h1"}); len(c) != 0 {
		t.Errorf("Collisions = %q, want none", c)
	}
}

// TestCollisions checks clashes of port names or DPIDs are named.
func TestCollisions(t *testing.T) {
	if c := Collisions([]string{"h1", "h2", "h1"}); len(c) != 0 {
		t.Errorf("a repeated name is not a collision (config reports duplicates itself): %q", c)
	}
	if c := Collisions([]string{"a", "b"}); len(c) != 0 {
		t.Errorf("%q", c)
	}
	clash := collisions([]string{"x1", "x2", "y"}, func(n string) string { return "om_" + n[:1] }, func(n string) flows.DPID { return flows.DPID(len(n)) })
	want := []string{`hosts "x1" and "x2" would share the tunnel port name om_x`, `hosts "x1" and "x2" would share the datapath ID 0000000000000002`}
	if !slices.Equal(clash, want) {
		t.Errorf("collisions = %q, want %q", clash, want)
	}
}

func TestMesh(t *testing.T) {
	h1 := Host{Name: "h1", TunnelIP: netip.MustParseAddr("198.18.0.1")}
	h2 := Host{Name: "h2", TunnelIP: netip.MustParseAddr("198.18.0.2")}
	m := NewMesh([]Host{h1, h2})
	if h, ok := m.HostByDPID(h2.DPID()); !ok || h.Name != "h2" {
		t.Errorf("HostByDPID(h2) = %v, %v", h, ok)
	}
	if h, ok := m.PeerByTunnelPort("om-h1"); !ok || h.Name != "h1" {
		t.Errorf("PeerByTunnelPort(om-h1) = %v, %v", h, ok)
	}
	m.SetTunnelOFPort("h1", "h2", 7)
	m.SetOVSDBState("h1", OVSDBState{Connected: true})
	if p, ok := m.TunnelOFPort("h1", "h2"); !ok || p != 7 {
		t.Errorf("TunnelOFPort = %d, %v", p, ok)
	}
	m.SetHosts([]Host{h1}) // h2 leaves
	if _, ok := m.TunnelOFPort("h1", "h2"); ok {
		t.Errorf("tunnel towards a departed peer survived SetHosts")
	}
	if !m.OVSDBState("h1").Connected {
		t.Errorf("state of a remaining host was lost")
	}
	if _, ok := m.HostByDPID(h2.DPID()); ok {
		t.Errorf("departed host still known by DPID")
	}
}

func TestStoreGeneration(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "state.db")
	s, err := OpenStore(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	g1, _ := s.NextGeneration()
	g2, _ := s.NextGeneration()
	if g1 != 1 || g2 != 2 {
		t.Errorf("generations %d, %d; want 1, 2", g1, g2)
	}
	if _, err := OpenStore(path, 50*time.Millisecond); !errors.Is(err, ErrLocked) {
		t.Errorf("second open while locked: %v, want ErrLocked", err)
	}
	s.Close()
	s, err = OpenStore(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if g, _ := s.NextGeneration(); g != 3 {
		t.Errorf("generation after reopen = %d, want 3 (persisted)", g)
	}
}

// TestTableWatch checks watchers see every change in order, and stop
// after cancel.
func TestTableWatch(t *testing.T) {
	tab := NewARPTable()
	var got []string
	cancel := tab.Watch(func(op ChangeOp, b ARPBinding) { got = append(got, fmt.Sprint(op, b.IP)) })
	a, b := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	tab.Put(ARPBinding{IP: a})
	tab.Put(ARPBinding{IP: b})
	tab.Delete(a)
	tab.Delete(a) // absent: no call
	cancel()
	tab.Put(ARPBinding{IP: a})
	want := []string{"1 10.0.0.1", "1 10.0.0.2", "2 10.0.0.1"}
	if !slices.Equal(got, want) {
		t.Errorf("watch saw %q, want %q", got, want)
	}
}

// TestAppPorts checks the app-owned port registry and name checks.
func TestAppPorts(t *testing.T) {
	m := NewMesh(nil)
	m.SetAppPorts([]AppPort{{Host: "h3", Name: "ext1", App: "nat"}, {Host: "h3", Name: "ext0", App: "nat"}})
	if p, ok := m.AppPort("h3", "ext0"); !ok || p.App != "nat" {
		t.Errorf("AppPort(h3, ext0) = %v, %v", p, ok)
	}
	if _, ok := m.AppPort("h1", "ext0"); ok {
		t.Errorf("h1 has no app port")
	}
	if got := m.AppPorts("h3"); len(got) != 2 || got[0].Name != "ext0" {
		t.Errorf("AppPorts(h3) = %v", got)
	}
	for _, tc := range []struct{ name, want string }{
		{"ext0", ""}, {"", "want 1 to 15 bytes"}, {"abcdefghijklmnop", "want 1 to 15 bytes"},
		{"a/b", "not a valid Linux interface name"}, {"om-h1", "ovsmesh's tunnel ports"},
	} {
		err := CheckPortName(tc.name)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("CheckPortName(%q) = %v, want %q", tc.name, err, tc.want)
		}
	}
}
