package portsec

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/ovsmesh/ovsmesh/config"
)

// section is the app's config section as the registry declares it.
var section = config.Section{Path: "apps.portsec", Default: Spec.Config}

const goodDoc = `openflow: {targets: ["tcp:198.19.255.254:6653"]}
hosts:
  - {name: h1, ovsdb: "tcp:198.19.0.1:6640", tunnel_ip: 198.18.0.1}
  - {name: h2, ovsdb: "tcp:198.19.0.2:6640", tunnel_ip: 198.18.0.2}
apps:
  portsec:
    from_ovsdb: false
    ports:
      - {host: h1, port: vnet0, mac: "52:54:00:00:00:01", ips: [10.0.1.5, 10.0.1.6]}
      - {host: h2, port: vnet3, mac: "52:54:00:00:00:02"}
`

func TestConfigGoodAndDefaults(t *testing.T) {
	cfg, err := config.Parse(nil, section)
	if err != nil {
		t.Fatal(err)
	}
	if c := cfg.Section("apps.portsec").(*Config); !c.FromOVSDB || len(c.Ports) != 0 {
		t.Errorf("defaults %+v: want from_ovsdb on, no ports", c)
	}
	cfg, err = config.Parse([]byte(goodDoc), section)
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.Section("apps.portsec").(*Config)
	if c.FromOVSDB || len(c.Ports) != 2 || c.Ports[0].IPs[1] != netip.MustParseAddr("10.0.1.6") || c.Ports[1].MAC.String() != "52:54:00:00:00:02" {
		t.Errorf("parsed %+v", c)
	}
	out, err := config.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	back, err := config.Parse(out, section)
	if err != nil {
		t.Fatalf("re-parse: %v\n%s", err, out)
	}
	if !reflect.DeepEqual(back.Section("apps.portsec"), c) {
		t.Errorf("round trip: %+v, want %+v\n%s", back.Section("apps.portsec"), c, out)
	}
}

// TestConfigErrorsNameTheField checks every refusal names the field,
// and its line.
func TestConfigErrorsNameTheField(t *testing.T) {
	// Documents are string literals: cmd/ovsmesh turns this table into
	// its bad-configuration corpus.
	tests := []struct{ name, doc, want string }{
		{"host not configured",
			"openflow: {targets: [\"tcp:198.19.255.254:6653\"]}\nhosts: [{name: h1, ovsdb: \"tcp:198.19.0.1:6640\", tunnel_ip: 198.18.0.1}]\napps:\n  portsec:\n    ports:\n      - {host: h9, port: vnet0, mac: \"52:54:00:00:00:01\"}\n",
			"line 6: apps.portsec.ports[0].host: \"h9\" is not a configured host (hosts: h1)"},
		{"host missing",
			"apps:\n  portsec:\n    ports:\n      - {port: vnet0, mac: \"52:54:00:00:00:01\"}\n",
			"line 4: apps.portsec.ports[0].host: is required: a configured host"},
		{"port missing",
			"apps:\n  portsec:\n    ports:\n      - {host: h1, mac: \"52:54:00:00:00:01\"}\n",
			"apps.portsec.ports[0].port: is required: the interface name"},
		{"port a tunnel name",
			"apps:\n  portsec:\n    ports:\n      - {host: h1, port: om-h2, mac: \"52:54:00:00:00:01\"}\n",
			"line 4: apps.portsec.ports[0].port: interface name \"om-h2\": names starting with \"om-\" or \"om_\" are ovsmesh's tunnel ports"},
		{"port name too long",
			"apps:\n  portsec:\n    ports:\n      - {host: h1, port: a-very-long-interface, mac: \"52:54:00:00:00:01\"}\n",
			"apps.portsec.ports[0].port: interface name \"a-very-long-interface\": want 1 to 15 bytes"},
		{"mac missing",
			"apps:\n  portsec:\n    ports:\n      - {host: h1, port: vnet0, ips: [10.0.1.5]}\n",
			"apps.portsec.ports[0].mac: is required: the guest's MAC"},
		{"mac not a mac",
			"apps:\n  portsec:\n    ports:\n      - {host: h1, port: vnet0, mac: \"52:54:00:00:01\"}\n",
			"line 4: apps.portsec.ports[0].mac: \"52:54:00:00:01\" is not a MAC address"},
		{"mac multicast",
			"apps:\n  portsec:\n    ports:\n      - {host: h1, port: vnet0, mac: \"01:00:5e:00:00:01\"}\n",
			"apps.portsec.ports[0].mac: 01:00:5e:00:00:01 is not a unicast MAC"},
		{"mac zero",
			"apps:\n  portsec:\n    ports:\n      - {host: h1, port: vnet0, mac: \"00:00:00:00:00:00\"}\n",
			"apps.portsec.ports[0].mac: 00:00:00:00:00:00 is not a unicast MAC"},
		{"ip not an address",
			"apps:\n  portsec:\n    ports:\n      - {host: h1, port: vnet0, mac: \"52:54:00:00:00:01\", ips: [10.0.1.300]}\n",
			"line 4: apps.portsec.ports[0].ips[0]"},
		{"ip broadcast",
			"apps:\n  portsec:\n    ports:\n      - host: h1\n        port: vnet0\n        mac: \"52:54:00:00:00:01\"\n        ips: [10.0.1.5, 255.255.255.255]\n",
			"line 7: apps.portsec.ports[0].ips[1]: 255.255.255.255 is not a unicast IPv4 address"},
		{"ip v6",
			"apps:\n  portsec:\n    ports:\n      - {host: h1, port: vnet0, mac: \"52:54:00:00:00:01\", ips: [\"fd00::1\"]}\n",
			"apps.portsec.ports[0].ips[0]: fd00::1 is not a unicast IPv4 address"},
		{"ip twice in a port",
			"apps:\n  portsec:\n    ports:\n      - {host: h1, port: vnet0, mac: \"52:54:00:00:00:01\", ips: [10.0.1.5, 10.0.1.5]}\n",
			"apps.portsec.ports[0].ips[1]: 10.0.1.5 is also ips[0]"},
		{"ip on two ports",
			"apps:\n  portsec:\n    ports:\n      - {host: h1, port: vnet0, mac: \"52:54:00:00:00:01\", ips: [10.0.1.5]}\n      - {host: h1, port: vnet1, mac: \"52:54:00:00:00:02\", ips: [10.0.1.6, 10.0.1.5]}\n",
			"line 5: apps.portsec.ports[1].ips[1]: 10.0.1.5 is also declared by ports[0]"},
		{"port twice",
			"apps:\n  portsec:\n    ports:\n      - {host: h1, port: vnet0, mac: \"52:54:00:00:00:01\"}\n      - {host: h1, port: vnet0, mac: \"52:54:00:00:00:02\"}\n",
			"line 5: apps.portsec.ports[1].port: h1/vnet0 is also ports[0]"},
		{"mac on two ports",
			"apps:\n  portsec:\n    ports:\n      - {host: h1, port: vnet0, mac: \"52:54:00:00:00:01\"}\n      - {host: h2, port: vnet0, mac: \"52:54:00:00:00:01\"}\n",
			"apps.portsec.ports[1].mac: 52:54:00:00:00:01 is also ports[0]'s MAC"},
		{"from_ovsdb not a bool",
			"apps:\n  portsec:\n    from_ovsdb: sometimes\n",
			"line 3: apps.portsec.from_ovsdb"},
		{"unknown field",
			"apps:\n  portsec:\n    ports:\n      - {host: h1, port: vnet0, mac: \"52:54:00:00:00:01\", ip: 10.0.1.5}\n",
			"line 4: field ip not found in apps.portsec.ports[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Parse([]byte(tt.doc), section)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}
