package topo

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

func TestParseIface(t *testing.T) {
	many := make([]string, MaxPortIPs+1)
	for i := range many {
		many[i] = fmt.Sprintf("10.1.%d.%d", i/200, i%200+1)
	}
	tests := []struct {
		name string
		ids  map[string]string
		// want is "mac ips disabled declares | problems".
		want string
	}{
		{"libvirt", map[string]string{AttachedMACKey: "52:54:00:AB:cd:01", "iface-id": "x"},
			"52:54:00:ab:cd:01 [] false true | "},
		{"mac and ips", map[string]string{AttachedMACKey: " 52:54:00:00:00:01 ", IPsKey: "10.0.1.5, 10.0.1.6,,10.0.1.5"},
			"52:54:00:00:00:01 [10.0.1.5 10.0.1.6] false true | "},
		{"bad mac", map[string]string{AttachedMACKey: "52:54:00:00:01", IPsKey: "10.0.1.5"},
			`<nil> [10.0.1.5] false false | attached-mac: "52:54:00:00:01" is not a MAC address; ovsmesh-ips without a valid attached-mac: the addresses are not used`},
		{"multicast mac", map[string]string{AttachedMACKey: "01:00:5e:00:00:01"},
			"<nil> [] false false | attached-mac: 01:00:5e:00:00:01 is not a unicast MAC address"},
		{"zero mac", map[string]string{AttachedMACKey: "00:00:00:00:00:00"},
			"<nil> [] false false | attached-mac: 00:00:00:00:00:00 is not a unicast MAC address"},
		{"eui64 mac", map[string]string{AttachedMACKey: "02:00:00:00:00:00:00:01"},
			`<nil> [] false false | attached-mac: "02:00:00:00:00:00:00:01" is not a MAC address`},
		{"bad ips kept apart", map[string]string{AttachedMACKey: "02:00:00:00:00:01", IPsKey: "10.0.1.5,fe80::1,0.0.0.0,224.0.0.1,255.255.255.255,127.0.0.1,::ffff:10.0.0.1,10.0.1.x"},
			`02:00:00:00:00:01 [10.0.1.5] false true | ovsmesh-ips: "fe80::1" is not an IPv4 address; ovsmesh-ips: 0.0.0.0 is not a unicast IPv4 address; ovsmesh-ips: 224.0.0.1 is not a unicast IPv4 address; ovsmesh-ips: 255.255.255.255 is not a unicast IPv4 address; ovsmesh-ips: 127.0.0.1 is not a unicast IPv4 address; ovsmesh-ips: "::ffff:10.0.0.1" is not an IPv4 address; ovsmesh-ips: "10.0.1.x" is not an IPv4 address`},
		{"too many ips", map[string]string{AttachedMACKey: "02:00:00:00:00:01", IPsKey: strings.Join(many, ",")},
			fmt.Sprintf("02:00:00:00:00:01 [%d ips] false true | ovsmesh-ips: %s is past the 64 addresses a port may declare", MaxPortIPs, many[MaxPortIPs])},
		{"disabled", map[string]string{AttachedMACKey: "02:00:00:00:00:01", PortSecurityKey: "false"},
			"02:00:00:00:00:01 [] true false | "},
		{"enabled explicitly", map[string]string{AttachedMACKey: "02:00:00:00:00:01", PortSecurityKey: "true"},
			"02:00:00:00:00:01 [] false true | "},
		{"bad switch stays on", map[string]string{AttachedMACKey: "02:00:00:00:00:01", PortSecurityKey: "no"},
			`02:00:00:00:00:01 [] false true | ovsmesh-port-security: "no" is not true or false (port security stays on)`},
		{"nothing", nil, "<nil> [] false false | "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			i := ParseIface("h1", "vnet0", 7, tt.ids)
			mac := "<nil>"
			if i.MAC != nil {
				mac = i.MAC.String()
			}
			ips := fmt.Sprint(i.IPs)
			if len(i.IPs) > 10 {
				ips = fmt.Sprintf("[%d ips]", len(i.IPs))
			}
			got := fmt.Sprintf("%s %s %v %v | %s", mac, ips, i.Disabled, i.Declares(), strings.Join(i.Problems, "; "))
			if got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			if i.Host != "h1" || i.Name != "vnet0" || i.OFPort != 7 {
				t.Errorf("identity %+v", i)
			}
		})
	}
}

// FuzzParseIface feeds any external_ids values to ParseIface: it never
// panics, and what it keeps is always usable in a flow.
func FuzzParseIface(f *testing.F) {
	f.Add("52:54:00:00:00:01", "10.0.1.5,10.0.1.6", "true")
	f.Add("zz", "1.2.3.4.5,,", "false")
	f.Add("", "::1", "")
	f.Fuzz(func(t *testing.T, mac, ips, sec string) {
		i := ParseIface("h", "p", 1, map[string]string{AttachedMACKey: mac, IPsKey: ips, PortSecurityKey: sec})
		if i.MAC != nil && !UnicastMAC(i.MAC) {
			t.Errorf("kept MAC %v", i.MAC)
		}
		if len(i.IPs) > MaxPortIPs {
			t.Errorf("kept %d IPs", len(i.IPs))
		}
		seen := map[netip.Addr]bool{}
		for _, ip := range i.IPs {
			if !UnicastIPv4(ip) || seen[ip] {
				t.Errorf("kept IP %v (seen %v)", ip, seen[ip])
			}
			seen[ip] = true
		}
	})
}

func TestMeshInterfaces(t *testing.T) {
	m := NewMesh([]Host{{Name: "h1"}, {Name: "h2"}})
	var told []string
	cancel := m.WatchInterfaces(func(h string) { told = append(told, h) })
	if _, ok := m.Interfaces("h1"); ok {
		t.Error("h1's interfaces known before any publication")
	}
	a := ParseIface("h1", "vnet1", 2, map[string]string{AttachedMACKey: "02:00:00:00:00:01"})
	b := ParseIface("h1", "vnet0", 1, map[string]string{AttachedMACKey: "02:00:00:00:00:02", IPsKey: "10.0.0.2"})
	m.SetInterfaces("h1", []Iface{a, b})
	m.SetInterfaces("h1", []Iface{b, a}) // the same set: no news
	m.SetInterfaces("h2", nil)           // first publication, empty: news
	m.SetInterfaces("h9", []Iface{a})    // not configured: ignored
	got, ok := m.Interfaces("h1")
	if !ok || len(got) != 2 || got[0].Name != "vnet0" {
		t.Errorf("h1: %v %+v", ok, got)
	}
	if l, ok := m.Interfaces("h2"); !ok || len(l) != 0 {
		t.Errorf("h2: %v %+v", ok, l)
	}
	if _, ok := m.Interfaces("h9"); ok {
		t.Error("h9 published")
	}
	b.IPs = nil
	m.SetInterfaces("h1", []Iface{a, b})
	cancel()
	m.SetInterfaces("h1", nil)
	if strings.Join(told, ",") != "h1,h2,h1" {
		t.Errorf("watcher told %v, want h1,h2,h1", told)
	}
}

// FuzzDeclaredCodec feeds any bytes to the declared bindings' decoder:
// an error, or a binding that encodes and decodes back the same.
func FuzzDeclaredCodec(f *testing.F) {
	b := DeclaredBinding{IP: netip.MustParseAddr("10.0.1.5"), MAC: []byte{2, 0, 0, 0, 0, 1}, Host: "h1", Port: "vnet0", Source: "ovsdb"}
	f.Add(DeclaredCodec.KeyBytes(b.IP), DeclaredCodec.Encode(b))
	f.Add([]byte{10, 0, 0, 1}, []byte{1, '{', '}'})
	f.Fuzz(func(t *testing.T, k, v []byte) {
		d, err := DeclaredCodec.Decode(k, v)
		if err != nil {
			return
		}
		back, err := DeclaredCodec.Decode(DeclaredCodec.KeyBytes(d.IP), DeclaredCodec.Encode(d))
		if err != nil || fmt.Sprint(back) != fmt.Sprint(d) {
			t.Errorf("%+v does not round-trip: %+v %v", d, back, err)
		}
	})
}
