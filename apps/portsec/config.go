package portsec

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/ovsmesh/ovsmesh/config"
	"github.com/ovsmesh/ovsmesh/topo"
)

// Config is the apps.portsec section.
type Config struct {
	// FromOVSDB makes every interface on a mesh bridge whose OVSDB
	// Interface row holds external_ids:attached-mac (libvirt and
	// OpenStack write it) a declared port, with the addresses of
	// external_ids:ovsmesh-ips. Default true; false uses only the ports
	// of this file and of the API.
	FromOVSDB bool `yaml:"from_ovsdb"`
	// Ports are declared ports. A port declared here wins over the same
	// port declared through the API or in OVSDB, and its addresses over
	// theirs.
	Ports []Port `yaml:"ports,omitempty"`
}

// Port declares what sits behind one interface of a host's mesh
// bridge: its guest's MAC and, optionally, its IPv4 addresses. With
// addresses, the port may send ARP and IPv4 from them only (and DHCP
// discovery), nothing else; with none, only frames from the MAC.
type Port struct {
	// Host is a configured host.
	Host string `yaml:"host"`
	// Port is the interface name on the host's mesh bridge (its OpenFlow
	// port name), such as vnet0.
	Port string `yaml:"port"`
	// MAC is the guest's unicast MAC.
	MAC config.MAC `yaml:"mac"`
	// IPs are the guest's unicast IPv4 addresses, at most 64.
	IPs []netip.Addr `yaml:"ips,omitempty"`
}

// DefaultConfig returns the section's defaults: ports declared in OVSDB
// are used, none in the file.
func DefaultConfig() Config { return Config{FromOVSDB: true} }

// fieldError is a declaration's bad field; the API reports it as
// "field: msg", the configuration at the field's path and line.
type fieldError struct{ field, msg string }

func (e *fieldError) Error() string { return e.field + ": " + e.msg }

// check returns the first bad field of d, nil when d can be declared:
// a host, a port name that can be a guest's interface (not a tunnel
// port's), a unicast MAC, and distinct unicast IPv4 addresses (at most
// topo.MaxPortIPs).
func check(d decl) *fieldError {
	switch {
	case d.Host == "":
		return &fieldError{"host", "is required: a configured host"}
	case d.Port == "":
		return &fieldError{"port", "is required: the interface name on the host's mesh bridge, like vnet0"}
	}
	if err := topo.CheckPortName(d.Port); err != nil {
		return &fieldError{"port", err.Error()}
	}
	switch {
	case len(d.MAC) == 0:
		return &fieldError{"mac", "is required: the guest's MAC, like 52:54:00:12:34:56"}
	case !topo.UnicastMAC(d.MAC):
		return &fieldError{"mac", fmt.Sprintf("%s is not a unicast MAC (multicast, broadcast or all zeroes)", d.MAC)}
	case len(d.IPs) > topo.MaxPortIPs:
		return &fieldError{"ips", fmt.Sprintf("%d addresses: a port declares at most %d", len(d.IPs), topo.MaxPortIPs)}
	}
	for i, ip := range d.IPs {
		at := fmt.Sprintf("ips[%d]", i)
		if !topo.UnicastIPv4(ip) {
			return &fieldError{at, fmt.Sprintf("%s is not a unicast IPv4 address", ip)}
		}
		if j := slices.Index(d.IPs[:i], ip); j >= 0 {
			return &fieldError{at, fmt.Sprintf("%s is also ips[%d]", ip, j)}
		}
	}
	return nil
}

// decl returns p as a declaration from the configuration file.
func (p Port) decl() decl {
	return decl{Host: p.Host, Port: p.Port, MAC: net.HardwareAddr(p.MAC), IPs: p.IPs, Source: srcConfig}
}

// Validate implements config.Validator: every port checks (check), no
// port, address or MAC is declared twice in the file. Errors name the
// field, relative to the section.
func (c *Config) Validate() error {
	ports := map[key]int{}
	ips := map[netip.Addr]int{}
	macs := map[string]int{}
	for i, p := range c.Ports {
		d := p.decl()
		if fe := check(d); fe != nil {
			return config.FieldErr(fe.msg, append([]string{"ports", config.Index(i)}, splitField(fe.field)...)...)
		}
		if j, dup := ports[d.key()]; dup {
			return config.FieldErr(fmt.Sprintf("%s is also ports[%d]", d.key(), j), "ports", config.Index(i), "port")
		}
		ports[d.key()] = i
		if j, dup := macs[string(d.MAC)]; dup {
			return config.FieldErr(fmt.Sprintf("%s is also ports[%d]'s MAC (a MAC sits behind one port)", d.MAC, j), "ports", config.Index(i), "mac")
		}
		macs[string(d.MAC)] = i
		for k, ip := range d.IPs {
			if j, dup := ips[ip]; dup {
				return config.FieldErr(fmt.Sprintf("%s is also declared by ports[%d]", ip, j), "ports", config.Index(i), "ips", config.Index(k))
			}
			ips[ip] = i
		}
	}
	return nil
}

// splitField turns a fieldError's "ips[2]" into the path "ips", "[2]".
func splitField(f string) []string {
	if name, idx, ok := strings.Cut(f, "["); ok {
		return []string{name, "[" + idx}
	}
	return []string{f}
}

// ValidateCore implements config.CoreValidator: every port's host must
// be a configured host.
func (c *Config) ValidateCore(core *config.Config) error {
	var names []string
	for _, h := range core.Hosts {
		names = append(names, h.Name)
	}
	for i, p := range c.Ports {
		if !slices.Contains(names, p.Host) {
			return config.FieldErr(fmt.Sprintf("%q is not a configured host (hosts: %s)", p.Host, strings.Join(names, ", ")),
				"ports", config.Index(i), "host")
		}
	}
	return nil
}
