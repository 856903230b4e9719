package nat

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/ovsmesh/ovsmesh/config"
)

// section is the app's config section as the registry declares it.
var section = config.Section{Path: "nat", Default: Spec.Config}

// goodDoc is the example, on a two-host mesh.
const goodDoc = `openflow: {targets: ["tcp:198.19.255.254:6653"]}
hosts:
  - {name: h1, ovsdb: "tcp:198.19.0.1:6640", tunnel_ip: 198.18.0.1}
  - {name: host3, ovsdb: "tcp:198.19.0.3:6640", tunnel_ip: 198.18.0.3}
nat:
  gateway: host3
  external:
    port: ext0
    ip: 198.18.200.1/24
    next_hop: 198.18.200.254
  router_ip: 10.77.255.254
  inside: [10.77.0.0/16]
  zone: 100
  forwards:
    - {proto: tcp, port: 8080, to: "10.77.1.1:80"}
  redirects:
    - {proto: tcp, ip: 10.77.1.2, port: 80, to_port: 25}
`

func TestConfigGoodAndDefaults(t *testing.T) {
	cfg, err := config.Parse(nil, section)
	if err != nil {
		t.Fatal(err)
	}
	if c := cfg.Section("nat").(*Config); c.Enabled() || Spec.Enabled(c) || c.Zone != 100 {
		t.Errorf("defaults %+v: want NAT off, zone 100", c)
	}
	cfg, err = config.Parse([]byte(goodDoc), section)
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.Section("nat").(*Config)
	if !Spec.Enabled(c) || c.External.IP != netip.MustParsePrefix("198.18.200.1/24") || len(c.Forwards) != 1 || len(c.Redirects) != 1 {
		t.Errorf("parsed %+v", c)
	}
	if got := c.routerMAC().String(); got != "0a:55:0a:4d:ff:fe" {
		t.Errorf("router MAC %s, want 0a:55 and the router IP", got)
	}
	if p := Spec.Ports(c); len(p) != 1 || p[0].Host != "host3" || p[0].Name != "ext0" {
		t.Errorf("owned ports %+v", p)
	}
	out, err := config.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	back, err := config.Parse(out, section)
	if err != nil {
		t.Fatalf("re-parse: %v\n%s", err, out)
	}
	if !reflect.DeepEqual(back.Section("nat"), c) {
		t.Errorf("round trip: %+v, want %+v\n%s", back.Section("nat"), c, out)
	}
}

// TestConfigErrorsNameTheField checks every refusal the issue lists
// (and a few more) names the field, and the line where there is one.
func TestConfigErrorsNameTheField(t *testing.T) {
	// Documents are string literals: cmd/ovsmesh turns this table into
	// its bad-configuration corpus.
	tests := []struct{ name, doc, want string }{
		{"forward outside inside",
			"openflow: {targets: [\"tcp:198.19.255.254:6653\"]}\nhosts: [{name: gw, ovsdb: \"tcp:198.19.0.3:6640\", tunnel_ip: 198.18.0.3}]\nnat:\n  gateway: gw\n  external: {port: ext0, ip: 198.18.200.1/24, next_hop: 198.18.200.254}\n  router_ip: 10.77.255.254\n  inside: [10.77.0.0/16]\n  forwards: [{proto: tcp, port: 8080, to: \"10.9.1.1:80\"}]\n",
			"nat.forwards[0].to: 10.9.1.1 is outside nat.inside [10.77.0.0/16]"},
		{"forward duplicate",
			"openflow: {targets: [\"tcp:198.19.255.254:6653\"]}\nhosts: [{name: gw, ovsdb: \"tcp:198.19.0.3:6640\", tunnel_ip: 198.18.0.3}]\nnat:\n  gateway: gw\n  external: {port: ext0, ip: 198.18.200.1/24, next_hop: 198.18.200.254}\n  router_ip: 10.77.255.254\n  inside: [10.77.0.0/16]\n  forwards:\n    - {proto: tcp, port: 8080, to: \"10.77.1.1:80\"}\n    - {proto: tcp, port: 8080, to: \"10.77.1.2:80\"}\n",
			"line 10: nat.forwards[1]: tcp/8080 is also forwards[0]"},
		{"forward port 0",
			"openflow: {targets: [\"tcp:198.19.255.254:6653\"]}\nhosts: [{name: gw, ovsdb: \"tcp:198.19.0.3:6640\", tunnel_ip: 198.18.0.3}]\nnat:\n  gateway: gw\n  external: {port: ext0, ip: 198.18.200.1/24, next_hop: 198.18.200.254}\n  router_ip: 10.77.255.254\n  inside: [10.77.0.0/16]\n  forwards: [{proto: tcp, port: 0, to: \"10.77.1.1:80\"}]\n",
			"nat.forwards[0].port: 0: want 1 to 65535"},
		{"forward port too big",
			"openflow: {targets: [\"tcp:198.19.255.254:6653\"]}\nhosts: [{name: gw, ovsdb: \"tcp:198.19.0.3:6640\", tunnel_ip: 198.18.0.3}]\nnat:\n  gateway: gw\n  external: {port: ext0, ip: 198.18.200.1/24, next_hop: 198.18.200.254}\n  router_ip: 10.77.255.254\n  inside: [10.77.0.0/16]\n  forwards: [{proto: udp, port: 65536, to: \"10.77.1.1:80\"}]\n",
			"nat.forwards[0].port: 65536: want 1 to 65535"},
		{"forward target port too big",
			"openflow: {targets: [\"tcp:198.19.255.254:6653\"]}\nhosts: [{name: gw, ovsdb: \"tcp:198.19.0.3:6640\", tunnel_ip: 198.18.0.3}]\nnat:\n  gateway: gw\n  external: {port: ext0, ip: 198.18.200.1/24, next_hop: 198.18.200.254}\n  router_ip: 10.77.255.254\n  inside: [10.77.0.0/16]\n  forwards: [{proto: udp, port: 53, to: \"10.77.1.1:70000\"}]\n",
			"nat.forwards[0].to: \"10.77.1.1:70000\": port 70000: want 1 to 65535"},
		{"forward unknown proto",
			"openflow: {targets: [\"tcp:198.19.255.254:6653\"]}\nhosts: [{name: gw, ovsdb: \"tcp:198.19.0.3:6640\", tunnel_ip: 198.18.0.3}]\nnat:\n  gateway: gw\n  external: {port: ext0, ip: 198.18.200.1/24, next_hop: 198.18.200.254}\n  router_ip: 10.77.255.254\n  inside: [10.77.0.0/16]\n  forwards: [{proto: icmp, port: 1, to: \"10.77.1.1:80\"}]\n",
			"nat.forwards[0].proto: \"icmp\" is not tcp or udp"},
		{"forward target not ip port",
			"openflow: {targets: [\"tcp:198.19.255.254:6653\"]}\nhosts: [{name: gw, ovsdb: \"tcp:198.19.0.3:6640\", tunnel_ip: 198.18.0.3}]\nnat:\n  gateway: gw\n  external: {port: ext0, ip: 198.18.200.1/24, next_hop: 198.18.200.254}\n  router_ip: 10.77.255.254\n  inside: [10.77.0.0/16]\n  forwards: [{proto: tcp, port: 1, to: \"10.77.1.1\"}]\n",
			"nat.forwards[0].to: \"10.77.1.1\": want IP:PORT"},
		{"redirect port 0",
			"openflow: {targets: [\"tcp:198.19.255.254:6653\"]}\nhosts: [{name: gw, ovsdb: \"tcp:198.19.0.3:6640\", tunnel_ip: 198.18.0.3}]\nnat:\n  gateway: gw\n  external: {port: ext0, ip: 198.18.200.1/24, next_hop: 198.18.200.254}\n  router_ip: 10.77.255.254\n  inside: [10.77.0.0/16]\n  redirects: [{proto: tcp, ip: 10.77.1.2, port: 80, to_port: 0}]\n",
			"nat.redirects[0].to_port: 0: want 1 to 65535"},
		{"redirect duplicate",
			"openflow: {targets: [\"tcp:198.19.255.254:6653\"]}\nhosts: [{name: gw, ovsdb: \"tcp:198.19.0.3:6640\", tunnel_ip: 198.18.0.3}]\nnat:\n  gateway: gw\n  external: {port: ext0, ip: 198.18.200.1/24, next_hop: 198.18.200.254}\n  router_ip: 10.77.255.254\n  inside: [10.77.0.0/16]\n  redirects:\n    - {proto: tcp, ip: 10.77.1.2, port: 80, to_port: 25}\n    - {proto: tcp, ip: 10.77.1.2, port: 80, to_port: 26}\n",
			"nat.redirects[1]: tcp/10.77.1.2/80 is also redirects[0]"},
		{"redirect unknown proto",
			"openflow: {targets: [\"tcp:198.19.255.254:6653\"]}\nhosts: [{name: gw, ovsdb: \"tcp:198.19.0.3:6640\", tunnel_ip: 198.18.0.3}]\nnat:\n  gateway: gw\n  external: {port: ext0, ip: 198.18.200.1/24, next_hop: 198.18.200.254}\n  router_ip: 10.77.255.254\n  inside: [10.77.0.0/16]\n  redirects: [{proto: sctp, ip: 10.77.1.2, port: 80, to_port: 25}]\n",
			"nat.redirects[0].proto: \"sctp\" is not tcp or udp"},
		{"gateway not a host",
			"openflow: {targets: [\"tcp:198.19.255.254:6653\"]}\nhosts: [{name: gw, ovsdb: \"tcp:198.19.0.3:6640\", tunnel_ip: 198.18.0.3}]\nnat:\n  gateway: h9\n  external: {port: ext0, ip: 198.18.200.1/24, next_hop: 198.18.200.254}\n  router_ip: 10.77.255.254\n  inside: [10.77.0.0/16]\n",
			"line 4: nat.gateway: \"h9\" is not a configured host (hosts: gw)"},
		{"external ip overlaps inside",
			"openflow: {targets: [\"tcp:198.19.255.254:6653\"]}\nhosts: [{name: gw, ovsdb: \"tcp:198.19.0.3:6640\", tunnel_ip: 198.18.0.3}]\nnat:\n  gateway: gw\n  external: {port: ext0, ip: 10.77.200.1/24, next_hop: 10.77.200.254}\n  router_ip: 10.77.255.254\n  inside: [10.77.0.0/16]\n",
			"nat.inside[0]: 10.77.0.0/16 overlaps external.ip 10.77.200.1/24"},
		{"router ip outside inside",
			"openflow: {targets: [\"tcp:198.19.255.254:6653\"]}\nhosts: [{name: gw, ovsdb: \"tcp:198.19.0.3:6640\", tunnel_ip: 198.18.0.3}]\nnat:\n  gateway: gw\n  external: {port: ext0, ip: 198.18.200.1/24, next_hop: 198.18.200.254}\n  router_ip: 10.78.0.1\n  inside: [10.77.0.0/16]\n",
			"nat.router_ip: 10.78.0.1 is not a unicast address inside [10.77.0.0/16]"},
		{"next hop off subnet",
			"openflow: {targets: [\"tcp:198.19.255.254:6653\"]}\nhosts: [{name: gw, ovsdb: \"tcp:198.19.0.3:6640\", tunnel_ip: 198.18.0.3}]\nnat:\n  gateway: gw\n  external: {port: ext0, ip: 198.18.200.1/24, next_hop: 198.18.201.254}\n  router_ip: 10.77.255.254\n  inside: [10.77.0.0/16]\n",
			"nat.external.next_hop: 198.18.201.254 must be another unicast address in 198.18.200.0/24"},
		{"external ip without length",
			"openflow: {targets: [\"tcp:198.19.255.254:6653\"]}\nhosts: [{name: gw, ovsdb: \"tcp:198.19.0.3:6640\", tunnel_ip: 198.18.0.3}]\nnat:\n  gateway: gw\n  external: {port: ext0, ip: 198.18.200.1, next_hop: 198.18.200.254}\n",
			"nat.external.ip"},
		{"external port a tunnel name",
			"openflow: {targets: [\"tcp:198.19.255.254:6653\"]}\nhosts: [{name: gw, ovsdb: \"tcp:198.19.0.3:6640\", tunnel_ip: 198.18.0.3}]\nnat:\n  gateway: gw\n  external: {port: om-gw, ip: 198.18.200.1/24, next_hop: 198.18.200.254}\n",
			"nat.external.port: interface name \"om-gw\": names starting with \"om-\" or \"om_\" are ovsmesh's tunnel ports"},
		{"inside host bits",
			"openflow: {targets: [\"tcp:198.19.255.254:6653\"]}\nhosts: [{name: gw, ovsdb: \"tcp:198.19.0.3:6640\", tunnel_ip: 198.18.0.3}]\nnat:\n  gateway: gw\n  external: {port: ext0, ip: 198.18.200.1/24, next_hop: 198.18.200.254}\n  router_ip: 10.77.255.254\n  inside: [10.77.0.1/16]\n",
			"nat.inside[0]: 10.77.0.1/16 has host bits set (did you mean 10.77.0.0/16?)"},
		{"no inside",
			"openflow: {targets: [\"tcp:198.19.255.254:6653\"]}\nhosts: [{name: gw, ovsdb: \"tcp:198.19.0.3:6640\", tunnel_ip: 198.18.0.3}]\nnat:\n  gateway: gw\n  external: {port: ext0, ip: 198.18.200.1/24, next_hop: 198.18.200.254}\n  router_ip: 10.77.255.254\n",
			"nat.inside: is required"},
		{"zone too big",
			"openflow: {targets: [\"tcp:198.19.255.254:6653\"]}\nhosts: [{name: gw, ovsdb: \"tcp:198.19.0.3:6640\", tunnel_ip: 198.18.0.3}]\nnat:\n  gateway: gw\n  external: {port: ext0, ip: 198.18.200.1/24, next_hop: 198.18.200.254}\n  router_ip: 10.77.255.254\n  inside: [10.77.0.0/16]\n  zone: 65534\n",
			"nat.zone: 65534: want 1 to 65533"},
		{"unknown field",
			"openflow: {targets: [\"tcp:198.19.255.254:6653\"]}\nhosts: [{name: gw, ovsdb: \"tcp:198.19.0.3:6640\", tunnel_ip: 198.18.0.3}]\nnat:\n  gateway: gw\n  external: {port: ext0, ip: 198.18.200.1/24, next_hop: 198.18.200.254}\n  router_ip: 10.77.255.254\n  inside: [10.77.0.0/16]\n  masquerade: true\n",
			"line 8: field masquerade not found in nat"},
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
