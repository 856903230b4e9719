package proxyarp

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ovsmesh/ovsmesh/config"
)

// section is the app's config section as the registry declares it.
var section = config.Section{Path: "apps.proxyarp", Default: Spec.Config}

func TestConfigDefaultsAndStatic(t *testing.T) {
	cfg, err := config.Parse(nil, section)
	if err != nil {
		t.Fatal(err)
	}
	if p := cfg.Section("apps.proxyarp").(*Config); !p.Enabled || p.Aging != 20*time.Minute || len(p.Static) != 0 {
		t.Errorf("defaults %+v, want enabled, aging 20m, no static bindings", p)
	}
	doc := "apps:\n  proxyarp:\n    enabled: false\n    aging: 90s\n    static:\n      - {ip: 10.0.9.9, mac: '02:00:00:00:09:09'}\n"
	cfg, err = config.Parse([]byte(doc), section)
	if err != nil {
		t.Fatal(err)
	}
	p := cfg.Section("apps.proxyarp").(*Config)
	if p.Enabled || p.Aging != 90*time.Second || len(p.Static) != 1 || p.Static[0].IP != netip.MustParseAddr("10.0.9.9") ||
		p.Static[0].MAC.String() != "02:00:00:00:09:09" {
		t.Errorf("parsed %+v", p)
	}
	if Spec.Enabled(p) {
		t.Error("Spec.Enabled of enabled: false")
	}
	out, err := config.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	back, err := config.Parse(out, section)
	if err != nil {
		t.Fatalf("re-parse: %v\n%s", err, out)
	}
	if !reflect.DeepEqual(back.Section("apps.proxyarp"), p) {
		t.Errorf("round trip: %+v, want %+v\n%s", back.Section("apps.proxyarp"), p, out)
	}
}

func TestConfigErrorsNameFieldAndLine(t *testing.T) {
	tests := []struct{ name, doc, want string }{
		{"fractional aging", "apps:\n  proxyarp:\n    aging: 1500ms\n", "line 3: apps.proxyarp.aging: must be whole seconds"},
		{"zero aging", "apps:\n  proxyarp:\n    aging: 0s\n", "line 3: apps.proxyarp.aging"},
		{"bad ip", "apps:\n  proxyarp:\n    static:\n      - ip: 10.0.0.300\n        mac: 02:00:00:00:00:01\n", "line 4: apps.proxyarp.static[0].ip:"},
		{"ipv6", "apps:\n  proxyarp:\n    static:\n      - ip: 2001:db8::1\n        mac: 02:00:00:00:00:01\n",
			"line 4: apps.proxyarp.static[0].ip: 2001:db8::1 is not a unicast IPv4 address"},
		{"loopback", "apps:\n  proxyarp:\n    static:\n      - ip: 127.0.0.1\n        mac: 02:00:00:00:00:01\n",
			"line 4: apps.proxyarp.static[0].ip: 127.0.0.1 is not a unicast IPv4 address"},
		{"bad mac", "apps:\n  proxyarp:\n    static:\n      - ip: 10.0.0.1\n        mac: 02:00:00\n", `line 5: apps.proxyarp.static[0].mac: "02:00:00" is not a MAC address`},
		{"multicast mac", "apps:\n  proxyarp:\n    static:\n      - ip: 10.0.0.1\n        mac: 01:00:5e:00:00:01\n",
			"line 5: apps.proxyarp.static[0].mac: 01:00:5e:00:00:01 is a multicast"},
		{"zero mac", "apps:\n  proxyarp:\n    static:\n      - ip: 10.0.0.1\n        mac: 00:00:00:00:00:00\n",
			"line 5: apps.proxyarp.static[0].mac: 00:00:00:00:00:00 is not a station's MAC"},
		{"missing mac", "apps:\n  proxyarp:\n    static:\n      - ip: 10.0.0.1\n", "line 4: apps.proxyarp.static[0].mac: is required"},
		{"unknown field", "apps:\n  proxyarp:\n    static:\n      - ip: 10.0.0.1\n        mack: 02:00:00:00:00:01\n", "line 5: field mack not found in apps.proxyarp.static[0]"},
		{"duplicate key", "apps:\n  proxyarp:\n    static:\n      - ip: 10.0.0.1\n        ip: 10.0.0.2\n", "line 5: apps.proxyarp.static[0].ip: given twice (also line 4)"},
		{"duplicate", "apps:\n  proxyarp:\n    static:\n      - {ip: 10.0.0.1, mac: '02:00:00:00:00:01'}\n      - {ip: 10.0.0.1, mac: '02:00:00:00:00:02'}\n",
			"line 5: apps.proxyarp.static[1].ip: duplicate static binding for 10.0.0.1 (also apps.proxyarp.static[0])"},
		{"enabled not bool", "apps:\n  proxyarp:\n    enabled: maybe\n", `line 3: apps.proxyarp.enabled: "maybe" is not true or false`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Parse([]byte(tc.doc), section)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}
