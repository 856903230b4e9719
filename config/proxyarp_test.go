package config

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestProxyARPDefaultsAndStatic(t *testing.T) {
	cfg, err := Parse([]byte(""))
	if err != nil {
		t.Fatal(err)
	}
	if p := cfg.Apps.ProxyARP; !p.Enabled || p.Aging != 20*time.Minute || len(p.Static) != 0 {
		t.Errorf("defaults %+v, want enabled, aging 20m, no static bindings", p)
	}
	doc := "apps:\n  proxyarp:\n    enabled: false\n    aging: 90s\n    static:\n      - {ip: 10.0.9.9, mac: '02:00:00:00:09:09'}\n"
	cfg, err = Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	p := cfg.Apps.ProxyARP
	if p.Enabled || p.Aging != 90*time.Second || len(p.Static) != 1 || p.Static[0].IP != netip.MustParseAddr("10.0.9.9") ||
		p.Static[0].MAC.String() != "02:00:00:00:09:09" {
		t.Errorf("parsed %+v", p)
	}
	out, err := Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse(out)
	if err != nil {
		t.Fatalf("re-parse: %v\n%s", err, out)
	}
	if !reflect.DeepEqual(back.Apps.ProxyARP, p) {
		t.Errorf("round trip: %+v, want %+v\n%s", back.Apps.ProxyARP, p, out)
	}
}

func TestProxyARPErrorsNameFieldAndLine(t *testing.T) {
	tests := []struct{ name, doc, want string }{
		{"fractional aging", "apps:\n  proxyarp:\n    aging: 1500ms\n", "line 3: apps.proxyarp.aging: must be whole seconds"},
		{"zero aging", "apps:\n  proxyarp:\n    aging: 0s\n", "line 3: apps.proxyarp.aging"},
		{"bad ip", "apps:\n  proxyarp:\n    static:\n      - ip: 10.0.0.300\n        mac: 02:00:00:00:00:01\n", "line 4: ip"},
		{"ipv6", "apps:\n  proxyarp:\n    static:\n      - ip: 2001:db8::1\n        mac: 02:00:00:00:00:01\n",
			"line 4: apps.proxyarp.static[0].ip: 2001:db8::1 is not a unicast IPv4 address"},
		{"bad mac", "apps:\n  proxyarp:\n    static:\n      - ip: 10.0.0.1\n        mac: 02:00:00\n", `line 5: "02:00:00" is not a MAC address`},
		{"multicast mac", "apps:\n  proxyarp:\n    static:\n      - ip: 10.0.0.1\n        mac: 01:00:5e:00:00:01\n",
			"line 5: apps.proxyarp.static[0].mac: 01:00:5e:00:00:01 is a multicast"},
		{"missing mac", "apps:\n  proxyarp:\n    static:\n      - ip: 10.0.0.1\n", "line 4: apps.proxyarp.static[0].mac: is required"},
		{"unknown field", "apps:\n  proxyarp:\n    static:\n      - ip: 10.0.0.1\n        mack: 02:00:00:00:00:01\n", "line 5: field mack not found"},
		{"duplicate", "apps:\n  proxyarp:\n    static:\n      - {ip: 10.0.0.1, mac: '02:00:00:00:00:01'}\n      - {ip: 10.0.0.1, mac: '02:00:00:00:00:02'}\n",
			"line 5: apps.proxyarp.static[1].ip: duplicate static binding for 10.0.0.1"},
		{"enabled not bool", "apps:\n  proxyarp:\n    enabled: maybe\n", "line 3"},
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
