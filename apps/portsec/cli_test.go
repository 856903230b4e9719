package portsec

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// TestPrintStatus renders a status as `ovsmesh portsec` prints it.
func TestPrintStatus(t *testing.T) {
	f := newFixture(t, testConfig(), nil, nil)
	f.publish("h2", iface("h2", "g2", 2, map[string]string{"attached-mac": "garbage"}))
	body, err := json.Marshal(f.a.Status(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := printStatus(&out, body, ""); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"from_ovsdb true; packets: allowed 0, dhcp 0; dropped: mac 0, arp 0, ip 0, other 0, claim 0",
		"h1    g1    1       52:54:00:00:01:01  10.0.1.1  mac+ip  config",
		`h2       g2    attached-mac: "garbage" is not a MAC address`,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
