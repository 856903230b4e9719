package config

import (
	"fmt"
	"net"
	"net/netip"
	"time"

	"gopkg.in/yaml.v3"
)

// MAC is an Ethernet address that reads and writes as "02:00:00:00:01:01".
type MAC net.HardwareAddr

// UnmarshalYAML parses a 6-byte MAC address, naming the line on error.
func (m *MAC) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	hw, err := net.ParseMAC(s)
	if err != nil || len(hw) != 6 {
		return fmt.Errorf("line %d: %q is not a MAC address like 02:00:00:00:01:01", n.Line, s)
	}
	*m = MAC(hw)
	return nil
}

// MarshalYAML writes the address in colon form.
func (m MAC) MarshalYAML() (any, error) { return net.HardwareAddr(m).String(), nil }

// UnmarshalYAML decodes a static binding so that an address that does not
// parse names its line.
func (s *StaticARP) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: a static ARP binding must be a mapping with ip and mac", n.Line)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "ip":
			var str string
			if err := v.Decode(&str); err != nil {
				return fmt.Errorf("line %d: ip: %w", v.Line, err)
			}
			ip, err := netip.ParseAddr(str)
			if err != nil {
				return fmt.Errorf("line %d: ip: %w", v.Line, err)
			}
			s.IP = ip
		case "mac":
			if err := v.Decode(&s.MAC); err != nil {
				return err
			}
		default:
			return fmt.Errorf("line %d: field %s not found in type config.StaticARP", k.Line, k.Value)
		}
	}
	return nil
}

func (p *ProxyARP) validate() error {
	if p.Aging < time.Second || p.Aging > 65535*time.Second || p.Aging%time.Second != 0 {
		return fieldErr("must be whole seconds between 1s and 65535s", "apps", "proxyarp", "aging")
	}
	ips := map[netip.Addr]int{}
	for i, s := range p.Static {
		at := func(msg, field string) error { return fieldErr(msg, "apps", "proxyarp", "static", idx(i), field) }
		switch {
		case !s.IP.IsValid():
			return at("is required (an IPv4 address)", "ip")
		case !s.IP.Is4() || s.IP.IsUnspecified() || s.IP.IsMulticast() || s.IP == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
			return at(fmt.Sprintf("%s is not a unicast IPv4 address", s.IP), "ip")
		case len(s.MAC) == 0:
			return at("is required (a MAC address)", "mac")
		case s.MAC[0]&1 == 1:
			return at(fmt.Sprintf("%s is a multicast or broadcast MAC", net.HardwareAddr(s.MAC)), "mac")
		}
		if j, dup := ips[s.IP]; dup {
			return at(fmt.Sprintf("duplicate static binding for %s (also apps.proxyarp.static[%d])", s.IP, j), "ip")
		}
		ips[s.IP] = i
	}
	return nil
}

// String renders the address in colon form.
func (m MAC) String() string { return net.HardwareAddr(m).String() }
