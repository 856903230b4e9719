package config

import (
	"fmt"
	"net"

	"gopkg.in/yaml.v3"
)

// MAC is an Ethernet address that reads and writes as "02:00:00:00:01:01",
// for app sections that hold MAC addresses.
type MAC net.HardwareAddr

// UnmarshalYAML parses a 6-byte MAC address.
func (m *MAC) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	hw, err := net.ParseMAC(s)
	if err != nil || len(hw) != 6 {
		return fmt.Errorf("%q is not a MAC address like 02:00:00:00:01:01", s)
	}
	*m = MAC(hw)
	return nil
}

// MarshalYAML writes the address in colon form.
func (m MAC) MarshalYAML() (any, error) { return net.HardwareAddr(m).String(), nil }

// String renders the address in colon form.
func (m MAC) String() string { return net.HardwareAddr(m).String() }
