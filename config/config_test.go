package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

const good = `
openflow:
  listen: ["tcp::6653", "tcp:127.0.0.1:6633"]
  targets: ["tcp:198.19.255.254:6653"]
mesh:
  bridge: br-int
  datapath_type: netdev
  tunnel: gre
  key: 4000000000
hosts:
  - name: h1
    ovsdb: tcp:198.19.0.1:6640
    tunnel_ip: 198.18.0.1
  - name: h2
    ovsdb: unix:/run/h2/db.sock
    tunnel_ip: 198.18.0.2
apps:
  learning:
    idle_timeout: 60s
`

func TestParseGood(t *testing.T) {
	cfg, err := Parse([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Hosts) != 2 || cfg.Hosts[1].TunnelIP.String() != "198.18.0.2" || cfg.Mesh.Key != 4000000000 {
		t.Errorf("decoded %+v", cfg)
	}
	if cfg.Apps.Learning.IdleTimeout != time.Minute || cfg.Apps.Learning.FlapMoves != 4 {
		t.Errorf("learning settings %+v: file value or default lost", cfg.Apps.Learning)
	}
	if cfg.Mesh.OverlayMTU() != 1458 {
		t.Errorf("GRE overlay MTU = %d, want 1458", cfg.Mesh.OverlayMTU())
	}
	// Round trip through Marshal.
	out, err := Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse(out)
	if err != nil {
		t.Fatalf("re-parse of Marshal output: %v\n%s", err, out)
	}
	if back.Hosts[0] != cfg.Hosts[0] || !reflect.DeepEqual(back.Apps, cfg.Apps) {
		t.Errorf("round trip changed the config")
	}
}

func TestParseEmptyAndNoHosts(t *testing.T) {
	for _, doc := range []string{"", "hosts: []\n"} {
		cfg, err := Parse([]byte(doc))
		if err != nil {
			t.Fatalf("Parse(%q): %v", doc, err)
		}
		if len(cfg.Hosts) != 0 || len(cfg.OpenFlow.Listen) != 2 {
			t.Errorf("Parse(%q) = %+v, want defaults with no hosts", doc, cfg)
		}
	}
}

func TestParseErrorsNameFieldAndLine(t *testing.T) {
	tests := []struct {
		name, doc, want string
	}{
		{"unknown field", "mesh:\n  tunel: vxlan\n", "line 2: field tunel not found"},
		{"bad tunnel type", "mesh:\n  tunnel: geneve\n", `line 2: mesh.tunnel: unknown tunnel type "geneve"`},
		{"vni out of range", "mesh:\n  key: 16777216\n", "line 2: mesh.key: VNI 16777216 out of range"},
		{"key not a number", "mesh:\n  key: -1\n", "line 2"},
		{"bad datapath", "mesh:\n  datapath_type: dpdk\n", "mesh.datapath_type"},
		{"long bridge", "mesh:\n  bridge: a-very-long-bridge-name\n", "mesh.bridge"},
		{"listen not tcp", "openflow:\n  listen: [\"ssl::6653\"]\n", "line 2: openflow.listen[0]"},
		{"target wildcard", "openflow:\n  targets: [\"tcp::6653\"]\n", "openflow.targets[0]"},
		{"duplicate name", "openflow: {targets: ['tcp:1.2.3.4:6653']}\nhosts:\n  - {name: a, ovsdb: 'tcp:1.2.3.4:6640', tunnel_ip: 198.18.0.1}\n  - {name: a, ovsdb: 'tcp:1.2.3.5:6640', tunnel_ip: 198.18.0.2}\n",
			`line 4: hosts[1].name: duplicate host name "a" (also hosts[0])`},
		{"duplicate tunnel ip", "openflow: {targets: ['tcp:1.2.3.4:6653']}\nhosts:\n  - {name: a, ovsdb: 'tcp:1.2.3.4:6640', tunnel_ip: 198.18.0.1}\n  - {name: b, ovsdb: 'tcp:1.2.3.5:6640', tunnel_ip: 198.18.0.1}\n",
			"line 4: hosts[1].tunnel_ip: duplicate tunnel_ip 198.18.0.1"},
		{"missing ovsdb", "hosts:\n  - name: a\n    tunnel_ip: 198.18.0.1\n", "hosts[0].ovsdb: is required"},
		{"bad ovsdb", "hosts:\n  - name: a\n    ovsdb: 1.2.3.4:6640\n    tunnel_ip: 198.18.0.1\n", "line 3: hosts[0].ovsdb"},
		{"ipv6 tunnel ip", "hosts:\n  - name: a\n    ovsdb: unix:/x\n    tunnel_ip: 2001:db8::1\n", "line 4: hosts[0].tunnel_ip: 2001:db8::1 is not an IPv4 address"},
		{"bad tunnel ip", "hosts:\n  - name: a\n    ovsdb: unix:/x\n    tunnel_ip: 198.18.0.300\n", "line 4"},
		{"bad host name", "hosts:\n  - name: 'a b'\n    ovsdb: unix:/x\n    tunnel_ip: 198.18.0.1\n", "hosts[0].name"},
		{"fractional idle timeout", "apps:\n  learning:\n    idle_timeout: 1500ms\n", "line 3: apps.learning.idle_timeout"},
		{"not yaml", "openflow: [\n", "parse config"},
		{"packet-in rate below OVS minimum", "openflow:\n  packet_in_rate: 50\n", "line 2: openflow.packet_in_rate: 50 is below OVS's minimum of 100"},
		{"packet-in burst below OVS minimum", "openflow:\n  packet_in_burst: 5\n", "line 2: openflow.packet_in_burst"},
		{"hosts without targets", "hosts:\n  - {name: a, ovsdb: 'unix:/x', tunnel_ip: 198.18.0.1}\n", "openflow.targets: is required when hosts are configured"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestParseListen(t *testing.T) {
	tests := []struct{ in, want string }{
		{"tcp::6653", ":6653"}, {"tcp:127.0.0.1:6633", "127.0.0.1:6633"}, {"tcp:[::1]:6653", "[::1]:6653"},
	}
	for _, tc := range tests {
		if got, err := ParseListen(tc.in); err != nil || got != tc.want {
			t.Errorf("ParseListen(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"6653", "tcp:6653", "tcp::0", "tcp::70000", "tcp:host:6653", "unix:/x"} {
		if _, err := ParseListen(bad); err == nil {
			t.Errorf("ParseListen(%q) accepted", bad)
		}
	}
}
