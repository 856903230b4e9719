package lab

import (
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ovsmesh/ovsmesh/apps"
	"github.com/ovsmesh/ovsmesh/apps/nat"
	"github.com/ovsmesh/ovsmesh/config"
	"github.com/ovsmesh/ovsmesh/topo"
)

func TestOptionsValidate(t *testing.T) {
	long := "/" + strings.Repeat("x", 90)
	tests := []struct {
		name    string
		opts    Options
		wantErr string
	}{
		{"defaults", Options{Dir: "/tmp/l", Hosts: 3, Guests: 2}, ""},
		{"no dir", Options{Hosts: 1}, "dir is required"},
		{"bad prefix", Options{Dir: "/tmp/l", Prefix: "Om", Hosts: 1}, "prefix"},
		{"long prefix", Options{Dir: "/tmp/l", Prefix: "abcdefghijk", Hosts: 1}, "prefix"},
		{"no hosts", Options{Dir: "/tmp/l"}, "hosts 0"},
		{"too many hosts", Options{Dir: "/tmp/l", Hosts: 251}, "hosts 251"},
		{"most hosts", Options{Dir: "/tmp/l", Hosts: 250}, ""},
		{"too many guests", Options{Dir: "/tmp/l", Hosts: 1, Guests: 33}, "guests 33"},
		{"tunnel", Options{Dir: "/tmp/l", Hosts: 1, Tunnel: "geneve"}, "tunnel"},
		{"slot", Options{Dir: "/tmp/l", Hosts: 1, Slot: 251}, "slot"},
		{"long dir", Options{Dir: long, Hosts: 1}, "too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.opts.setDefaults()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("setDefaults: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("setDefaults = %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestPlan(t *testing.T) {
	o := Options{Dir: "/tmp/l", Prefix: "abcdefghij", Hosts: maxHosts, Guests: maxGuests, LXC: true}
	if err := o.setDefaults(); err != nil {
		t.Fatal(err)
	}
	st := plan(o)
	if len(st.Hosts) != maxHosts || len(st.Guests) != maxHosts*maxGuests {
		t.Fatalf("plan: %d hosts, %d guests", len(st.Hosts), len(st.Guests))
	}
	names := append([]string{ulBridge, mgmtIf, ulIf, phyBridge, lxcBridge, lxcOVS, lxcBr}, st.RootLinks...)
	for _, g := range st.Guests {
		names = append(names, g.Port)
	}
	for _, h := range st.Hosts {
		names = append(names, h.Name) // the underlay port in the ul namespace
	}
	seen := map[string]bool{}
	for _, n := range names {
		if len(n) > 15 {
			t.Errorf("interface name %q is longer than 15 bytes", n)
		}
		if seen[n] {
			t.Errorf("interface name %q planned twice", n)
		}
		seen[n] = true
	}
	ips := map[netip.Addr]string{}
	macs := map[string]string{}
	guestNet := netip.MustParsePrefix("10.0.0.0/8")
	for _, g := range st.Guests {
		if !guestNet.Contains(g.IP) {
			t.Errorf("guest %s: %s outside %s", g.Name, g.IP, guestNet)
		}
		if other, dup := ips[g.IP]; dup {
			t.Errorf("guests %s and %s share %s", g.Name, other, g.IP)
		}
		if other, dup := macs[g.MAC.String()]; dup {
			t.Errorf("guests %s and %s share %s", g.Name, other, g.MAC)
		}
		ips[g.IP], macs[g.MAC.String()] = g.Name, g.Name
	}
	if g := st.Guests[maxGuests+1]; g.Name != "h2g2" || g.MAC.String() != "02:00:00:00:02:02" || g.IP.String() != "10.0.2.2" || g.NS != "abcdefghij-h2g2" {
		t.Errorf("guest 2 of host 2 = %+v", g)
	}
}

func TestAddresses(t *testing.T) {
	lab15 := netip.MustParsePrefix("198.18.0.0/15")
	tests := []struct {
		slot            int
		host            int
		mgmt, ctrl, net string
	}{
		{0, 1, "198.19.0.1", "198.19.255.254", "198.19.0.0/16"},
		{0, 32, "198.19.0.32", "198.19.255.254", "198.19.0.0/16"},
		{7, 2, "198.19.7.2", "198.19.7.254", "198.19.7.0/24"},
		{250, 3, "198.19.250.3", "198.19.250.254", "198.19.250.0/24"},
	}
	for _, tt := range tests {
		m, c, n := MgmtIP(tt.slot, tt.host), ControllerIP(tt.slot), mgmtNet(tt.slot)
		if m.String() != tt.mgmt || c.String() != tt.ctrl || n.String() != tt.net {
			t.Errorf("slot %d host %d: mgmt %s ctrl %s net %s, want %s %s %s", tt.slot, tt.host, m, c, n, tt.mgmt, tt.ctrl, tt.net)
		}
		for _, a := range []netip.Addr{m, c, UnderlayIP(tt.host)} {
			if !lab15.Contains(a) {
				t.Errorf("%s outside %s", a, lab15)
			}
		}
		if !n.Contains(m) || !n.Contains(c) {
			t.Errorf("slot %d: %s or %s outside %s", tt.slot, m, c, n)
		}
	}
}

func TestStateRoundTrip(t *testing.T) {
	dir := t.TempDir()
	o := Options{Dir: dir, Hosts: 2, Guests: 1, Tunnel: "gre", Slot: 3}
	if err := o.setDefaults(); err != nil {
		t.Fatal(err)
	}
	st := plan(o)
	st.Hosts[0].PIDs[Vswitchd] = 1234
	st.Attached = true
	if err := writeState(dir, st); err != nil {
		t.Fatal(err)
	}
	got, err := readState(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got.Hosts[0].PIDs[Vswitchd] != 1234 || !got.Attached || got.Options != o {
		t.Errorf("read back %+v", got)
	}
	if g := got.Guests[1]; g.MAC.String() != "02:00:00:00:02:01" || g.Host != "h2" || g.Port != "v-h2g1" {
		t.Errorf("guest read back as %+v", g)
	}
	if _, err := os.Stat(filepath.Join(dir, StateFile+".tmp")); err == nil {
		t.Error("temporary state file left behind")
	}
	if _, err := readState(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no lab state file") {
		t.Errorf("readState of empty dir = %v", err)
	}
}

func TestConfig(t *testing.T) {
	dir := t.TempDir()
	o := Options{Dir: dir, Hosts: 3, Guests: 2, Tunnel: "gre", Slot: 9}
	if err := o.setDefaults(); err != nil {
		t.Fatal(err)
	}
	if err := writeConfig(dir, plan(o)); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(filepath.Join(dir, "ovsmesh.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.OpenFlow.Targets; len(got) != 1 || got[0] != "tcp:198.19.9.254:6653" {
		t.Errorf("targets = %v", got)
	}
	if cfg.API.Listen != "198.19.9.254:9633" {
		t.Errorf("api.listen = %s", cfg.API.Listen)
	}
	if cfg.Mesh.DatapathType != "netdev" || cfg.Mesh.Tunnel != "gre" || cfg.State != filepath.Join(dir, "ovsmesh.db") {
		t.Errorf("mesh = %+v, state = %s", cfg.Mesh, cfg.State)
	}
	if h := cfg.Hosts[2]; h.Name != "h3" || h.OVSDB != "tcp:198.19.9.3:6640" || h.TunnelIP.String() != "198.18.0.3" {
		t.Errorf("hosts[2] = %+v", h)
	}
}

// TestConfigOutside checks the nat section of a lab with an outside
// namespace: written only then, and loaded, validated and decoded by the
// NAT app's own section (apps/nat) into the lab's addresses, with the
// last host as the gateway; a loader without that section refuses it.
func TestConfigOutside(t *testing.T) {
	reg, err := apps.NewRegistry(nat.Spec)
	if err != nil {
		t.Fatal(err)
	}
	for _, outside := range []bool{false, true} {
		dir := t.TempDir()
		o := Options{Dir: dir, Hosts: 3, Guests: 1, Slot: 9, Outside: outside}
		if err := o.setDefaults(); err != nil {
			t.Fatal(err)
		}
		st := plan(o)
		if got := slices.Contains(st.Namespaces, "om-out"); got != outside {
			t.Errorf("outside=%v: plan has the outside namespace: %v", outside, got)
		}
		if err := writeConfig(dir, st); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "ovsmesh.yaml")
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		_, plainErr := config.Load(path)
		if !outside {
			if strings.Contains(string(data), "nat:") || plainErr != nil {
				t.Errorf("lab without outside: nat section written or file refused (%v):\n%s", plainErr, data)
			}
			continue
		}
		if plainErr == nil || !strings.Contains(plainErr.Error(), "nat") {
			t.Errorf("a loader without the nat section accepted the file: %v", plainErr)
		}
		cfg, err := config.Load(path, reg.Sections()...)
		if err != nil {
			t.Fatalf("load with the NAT app's section: %v\n%s", err, data)
		}
		got := cfg.Section("nat").(*nat.Config)
		if !got.Enabled() || got.Gateway != "h3" || got.External.Port != NATExternalPort || got.External.IP != NATExternalIP ||
			got.External.NextHop != NATNextHop || got.RouterIP != NATRouterIP || !slices.Equal(got.Inside, []netip.Prefix{NATInside}) ||
			got.Zone != NATZone {
			t.Errorf("nat section = %+v", *got)
		}
		if ports := reg.AppPorts(cfg); len(ports) != 1 || ports[0] != (topo.AppPort{Host: "h3", Name: NATExternalPort, App: "nat"}) {
			t.Errorf("app ports = %v, want ext0 on h3", ports)
		}
	}
}

// TestNATAddresses checks the outside addresses against the lab's
// ranges: the router inside the guests' /8, the outside in 198.18.0.0/15,
// the next hop in the external subnet, the far server outside it.
func TestNATAddresses(t *testing.T) {
	lab15 := netip.MustParsePrefix("198.18.0.0/15")
	switch {
	case !NATInside.Contains(NATRouterIP) || !NATInside.Contains(GuestIP(1, 1)):
		t.Errorf("router %s or guests outside %s", NATRouterIP, NATInside)
	case !lab15.Contains(NATExternalIP.Addr()) || !lab15.Contains(NATFarIP):
		t.Errorf("outside addresses %s, %s not in %s", NATExternalIP, NATFarIP, lab15)
	case !NATExternalIP.Contains(NATNextHop) || NATExternalIP.Contains(NATFarIP):
		t.Errorf("next hop %s must be in, far server %s out of %s", NATNextHop, NATFarIP, NATExternalIP)
	case NATInside.Overlaps(NATExternalIP):
		t.Errorf("%s overlaps %s", NATInside, NATExternalIP)
	}
	for i := 1; i <= maxHosts; i++ {
		if NATExternalIP.Contains(UnderlayIP(i)) || NATExternalIP.Contains(MgmtIP(0, i)) {
			t.Errorf("host %d's addresses in %s", i, NATExternalIP)
		}
	}
	if err := topo.CheckPortName(NATExternalPort); err != nil {
		t.Error(err)
	}
}
