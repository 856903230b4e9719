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
    openflow_from: [198.19.0.2, "fd00::2"]
apps:
  demo:
    wait: 60s
`

// demoSection is an app section as an app declares one.
type demoSection struct {
	Wait  time.Duration `yaml:"wait"`
	Count int           `yaml:"count"`
	Names []string      `yaml:"names,omitempty"`
}

func (d *demoSection) Validate() error {
	if d.Count < 1 {
		return FieldErr("must be at least 1", "count")
	}
	for i, n := range d.Names {
		if n == "" {
			return FieldErr("must not be empty", "names", Index(i))
		}
	}
	return nil
}

var demo = Section{Path: "apps.demo", Default: func() any { return &demoSection{Wait: time.Second, Count: 3} }}

func TestParseGood(t *testing.T) {
	cfg, err := Parse([]byte(good), demo)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Hosts) != 2 || cfg.Hosts[1].TunnelIP.String() != "198.18.0.2" || cfg.Mesh.Key != 4000000000 ||
		len(cfg.Hosts[1].OpenFlowFrom) != 2 || cfg.Hosts[1].OpenFlowFrom[1].String() != "fd00::2" || cfg.Hosts[0].OpenFlowFrom != nil {
		t.Errorf("decoded %+v", cfg)
	}
	if d := cfg.Section("apps.demo").(*demoSection); d.Wait != time.Minute || d.Count != 3 {
		t.Errorf("demo section %+v: file value or default lost", d)
	}
	if cfg.Mesh.OverlayMTU() != 1458 {
		t.Errorf("GRE overlay MTU = %d, want 1458", cfg.Mesh.OverlayMTU())
	}
	// Round trip through Marshal.
	out, err := Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse(out, demo)
	if err != nil {
		t.Fatalf("re-parse of Marshal output: %v\n%s", err, out)
	}
	if !reflect.DeepEqual(back.Hosts, cfg.Hosts) || !reflect.DeepEqual(back.Section("apps.demo"), cfg.Section("apps.demo")) {
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
		{"unknown field", "mesh:\n  tunel: vxlan\n", "line 2: field tunel not found in mesh (known: bridge, datapath_type, key, tunnel, underlay_mtu)"},
		{"unknown top-level field", "mesh: {}\nfirewall: {}\n", "line 2: field firewall not found in the top level (known: api, apps, hosts, log, mesh, "},
		{"unknown app", "apps:\n  demoo: {}\n", "line 2: field demoo not found in apps (known: demo)"},
		{"app section field", "apps:\n  demo:\n    wiat: 1s\n", "line 3: field wiat not found in apps.demo (known: count, names, wait)"},
		{"app section type", "apps:\n  demo:\n    count: lots\n", `line 3: apps.demo.count: "lots" is not an integer`},
		{"app section validation", "apps:\n  demo:\n    count: 0\n", "line 3: apps.demo.count: must be at least 1"},
		{"app section list validation", "apps:\n  demo:\n    names: [a, '']\n", "line 3: apps.demo.names[1]: must not be empty"},
		{"app section not a mapping", "apps:\n  demo: 3\n", "line 2: apps.demo: want a mapping, got a scalar"},
		{"duplicate key in host", "openflow: {targets: ['tcp:198.19.0.254:6653']}\nhosts:\n  - name: a\n    ovsdb: unix:/x\n    name: b\n    tunnel_ip: 198.18.0.1\n",
			"line 5: hosts[0].name: given twice (also line 3)"},
		{"duplicate top-level key", "mesh: {}\nmesh: {}\n", "line 2: mesh: given twice (also line 1)"},
		{"type error names field", "openflow:\n  queue_len: many\n", `line 2: openflow.queue_len: "many" is not an integer`},
		{"duration", "openflow:\n  echo_interval: soon\n", `line 2: openflow.echo_interval: "soon" is not a duration`},
		{"second document", "mesh: {}\n---\nhosts: []\n", "line 2: a second YAML document"},
		{"tunnel ip loopback", "openflow: {targets: ['tcp:198.19.0.254:6653']}\nhosts:\n  - {name: a, ovsdb: 'unix:/x', tunnel_ip: 127.0.0.1}\n", "line 3: hosts[0].tunnel_ip: 127.0.0.1 is not a unicast address"},
		{"tunnel ip unspecified", "openflow: {targets: ['tcp:198.19.0.254:6653']}\nhosts:\n  - {name: a, ovsdb: 'unix:/x', tunnel_ip: 0.0.0.0}\n", "hosts[0].tunnel_ip: 0.0.0.0 is not a unicast"},
		{"tunnel ip broadcast", "openflow: {targets: ['tcp:198.19.0.254:6653']}\nhosts:\n  - {name: a, ovsdb: 'unix:/x', tunnel_ip: 255.255.255.255}\n", "hosts[0].tunnel_ip: 255.255.255.255 is not a unicast"},
		{"tunnel ip multicast", "openflow: {targets: ['tcp:198.19.0.254:6653']}\nhosts:\n  - {name: a, ovsdb: 'unix:/x', tunnel_ip: 239.1.1.1}\n", "hosts[0].tunnel_ip: 239.1.1.1 is not a unicast"},
		{"api listen", "api:\n  listen: localhost\n", "line 2: api.listen"},
		{"api listen port", "api:\n  listen: 127.0.0.1:99999\n", "line 2: api.listen: \"127.0.0.1:99999\": port"},
		{"duplicate listen", "openflow:\n  listen: ['tcp::6653', 'tcp::6653']\n", `line 2: openflow.listen[1]: "tcp::6653" listens where openflow.listen[0] does`},
		{"absent section has no line", "hosts:\n  - {name: a, ovsdb: 'unix:/x', tunnel_ip: 198.18.0.1}\n", "openflow.targets: is required"},
		{"log level", "log:\n  level: loud\n", `line 2: log.level: "loud": want debug, info, warn or error`},
		{"token file missing", "api:\n  token_file: /nonexistent/token\n", "line 2: api.token_file: read token: open /nonexistent/token"},
		{"host not a mapping", "hosts:\n  - h1\n", "line 2: hosts[0]: want a mapping, got a scalar"},
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
		{"not yaml", "openflow: [\n", "parse config"},
		{"packet-in rate below OVS minimum", "openflow:\n  packet_in_rate: 50\n", "line 2: openflow.packet_in_rate: 50 is below OVS's minimum of 100"},
		{"packet-in burst below OVS minimum", "openflow:\n  packet_in_burst: 5\n", "line 2: openflow.packet_in_burst"},
		{"packet-in bytes too small", "openflow:\n  packet_in_bytes: 100\n", "line 2: openflow.packet_in_bytes: 100: must be between 65536 and"},
		{"packet-in bytes over the total", "openflow:\n  packet_in_bytes: 8388608\n  packet_in_bytes_total: 4194304\n", "openflow.packet_in_bytes: 8388608 is more than openflow.packet_in_bytes_total"},
		{"max connections zero", "openflow:\n  max_connections: 0\n", "line 2: openflow.max_connections: 0: must be between 1"},
		{"per-ip over total", "openflow:\n  max_connections: 10\n  max_handshaking: 5\n", "max_connections_per_ip (32) must not exceed max_connections (10)"},
		{"max ports", "openflow:\n  max_ports: 70000\n", "openflow.max_ports: 70000: must be between 1 and 65280 ports"},
		{"max reply bytes", "openflow:\n  max_reply_bytes: 1000\n", "openflow.max_reply_bytes"},
		{"meter rate negative", "openflow:\n  meters: {port_pps: -1}\n", "line 2: openflow.meters.port_pps: -1: want 0 (off) to 10000000 packets/s"},
		{"meter burst without rate", "openflow:\n  meters:\n    switch_pps: 0\n    switch_burst: 10\n", "line 4: openflow.meters.switch_burst: 10: a burst needs switch_pps (the meter is off)"},
		{"openflow_from not an address", "openflow: {targets: ['tcp:198.19.0.254:6653']}\nhosts:\n  - {name: a, ovsdb: 'unix:/x', tunnel_ip: 198.18.0.1, openflow_from: [bogus]}\n", "line 3"},
		{"openflow_from unspecified", "openflow: {targets: ['tcp:198.19.0.254:6653']}\nhosts:\n  - {name: a, ovsdb: 'unix:/x', tunnel_ip: 198.18.0.1, openflow_from: [0.0.0.0]}\n", "hosts[0].openflow_from[0]: 0.0.0.0 is not a unicast"},
		{"hosts without targets", "hosts:\n  - {name: a, ovsdb: 'unix:/x', tunnel_ip: 198.18.0.1}\n", "openflow.targets: is required when hosts are configured"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.doc), demo)
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

// TestAbsentFieldHasNoLine: a default that fails validation is not in
// the file, so the error names no line (it used to say line 1).
func TestAbsentFieldHasNoLine(t *testing.T) {
	_, err := Parse([]byte("hosts:\n  - {name: a, ovsdb: 'unix:/x', tunnel_ip: 198.18.0.1}\n"))
	if err == nil || !strings.HasPrefix(err.Error(), "openflow.targets: is required") {
		t.Fatalf("error %v, want it to start with the field (no line)", err)
	}
}
