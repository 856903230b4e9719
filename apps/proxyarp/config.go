package proxyarp

import (
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/ovsmesh/ovsmesh/config"
)

// Config is the apps.proxyarp section.
type Config struct {
	// Enabled turns proxy ARP on (the default); false floods ARP like
	// any broadcast.
	Enabled bool `yaml:"enabled"`
	// Aging drops a binding whose owner sent no ARP for this long; whole
	// seconds, 1s to 65535s; default 20m.
	Aging time.Duration `yaml:"aging"`
	// Static lists bindings that never age and never change MAC.
	Static []StaticARP `yaml:"static,omitempty"`
	// VerifyTimeout is how long a bound IP's owner has to answer an ARP
	// probe (RFC 5227) when another MAC claims the IP; a silent owner
	// loses it. Default 1s, 100ms to 10s.
	VerifyTimeout time.Duration `yaml:"verify_timeout"`
	// MaxIPsPerMAC caps the IPs one MAC may hold; a claim past it is
	// refused and held off. Default 64; 0 disables.
	MaxIPsPerMAC int `yaml:"max_ips_per_mac"`
	// MaxBindings caps the mesh-wide ARP table (each binding is a
	// responder flow on every host). Default 100000; 0 disables.
	MaxBindings int `yaml:"max_bindings"`
}

// StaticARP is one configured IPv4-to-MAC binding.
type StaticARP struct {
	// IP is a unicast IPv4 address.
	IP netip.Addr `yaml:"ip"`
	// MAC is a unicast Ethernet address.
	MAC config.MAC `yaml:"mac"`
}

// DefaultConfig returns the section's defaults.
func DefaultConfig() Config {
	return Config{Enabled: true, Aging: 20 * time.Minute, VerifyTimeout: time.Second, MaxIPsPerMAC: 64, MaxBindings: 100000}
}

// Validate implements config.Validator.
func (c *Config) Validate() error {
	if c.Aging < time.Second || c.Aging > 65535*time.Second || c.Aging%time.Second != 0 {
		return config.FieldErr("must be whole seconds between 1s and 65535s", "aging")
	}
	switch {
	case c.VerifyTimeout < 100*time.Millisecond || c.VerifyTimeout > 10*time.Second:
		return config.FieldErr("must be between 100ms and 10s", "verify_timeout")
	case c.MaxIPsPerMAC < 0:
		return config.FieldErr("must be 0 (no cap) or more", "max_ips_per_mac")
	case c.MaxBindings < 0:
		return config.FieldErr("must be 0 (no cap) or more", "max_bindings")
	}
	ips := map[netip.Addr]int{}
	for i, s := range c.Static {
		at := func(msg, field string) error { return config.FieldErr(msg, "static", config.Index(i), field) }
		switch {
		case !s.IP.IsValid():
			return at("is required (an IPv4 address)", "ip")
		case !s.IP.Is4() || !config.UnicastIPv4(s.IP):
			return at(fmt.Sprintf("%s is not a unicast IPv4 address", s.IP), "ip")
		case len(s.MAC) == 0:
			return at("is required (a MAC address)", "mac")
		case s.MAC[0]&1 == 1:
			return at(fmt.Sprintf("%s is a multicast or broadcast MAC", net.HardwareAddr(s.MAC)), "mac")
		case string(s.MAC) == "\x00\x00\x00\x00\x00\x00":
			return at("00:00:00:00:00:00 is not a station's MAC", "mac")
		}
		if j, dup := ips[s.IP]; dup {
			return at(fmt.Sprintf("duplicate static binding for %s (also apps.proxyarp.static[%d])", s.IP, j), "ip")
		}
		ips[s.IP] = i
	}
	return nil
}
