package nat

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/ovsmesh/ovsmesh/config"
	"github.com/ovsmesh/ovsmesh/topo"
)

// Config is the top-level nat: section. NAT runs when Gateway is set.
type Config struct {
	// Gateway is the configured host whose datapath does SNAT and DNAT:
	// its conntrack holds every NAT'd connection.
	Gateway string `yaml:"gateway"`
	// External is the gateway's outside interface.
	External External `yaml:"external"`
	// RouterIP is the guests' default gateway in the overlay: every host
	// answers ARP for it with RouterMAC. It must be inside Inside.
	RouterIP netip.Addr `yaml:"router_ip"`
	// RouterMAC is the MAC RouterIP resolves to; default 0a:55 followed
	// by RouterIP's four bytes (locally administered, unicast).
	RouterMAC config.MAC `yaml:"router_mac,omitempty"`
	// Inside lists the prefixes whose sources are masqueraded; forwards
	// must target addresses in them.
	Inside []netip.Prefix `yaml:"inside,omitempty"`
	// Zone is the conntrack zone of the SNAT state; ovsmesh also uses
	// Zone+1 (DNAT of forwards) and Zone+2 (redirects). 1 to 65533,
	// default 100.
	Zone int `yaml:"zone"`
	// Forwards are the outside's ways in: external IP and port to a
	// guest's address and port (stateful DNAT).
	Forwards []Forward `yaml:"forwards,omitempty"`
	// Redirects serve IP:port by IP:to_port for every client in the
	// overlay, on the host where IP lives.
	Redirects []Redirect `yaml:"redirects,omitempty"`
}

// External is the gateway's outside interface.
type External struct {
	// Port is an interface on the gateway host; ovsmesh adds it to the
	// mesh bridge, marked as its own.
	Port string `yaml:"port"`
	// IP is the outside address with its subnet (198.18.200.1/24): the
	// masquerade source and the forwards' destination. ovsmesh answers
	// ARP for it on Port.
	IP netip.Prefix `yaml:"ip"`
	// NextHop is the upstream router, in IP's subnet; its MAC is
	// resolved by ARP out of Port and kept fresh.
	NextHop netip.Addr `yaml:"next_hop"`
}

// Forward is one port forward: new connections to the external IP's
// Port reach To (a guest's IP:port), which sees the client's address.
type Forward struct {
	// Proto is "tcp" or "udp".
	Proto string `yaml:"proto" json:"proto"`
	// Port is the external port, 1 to 65535.
	Port int `yaml:"port" json:"port"`
	// To is the guest's "IP:PORT"; IP must be inside nat.inside.
	To string `yaml:"to" json:"to"`
}

// Redirect is one in-overlay port redirect: connections to IP:Port are
// served by IP:ToPort.
type Redirect struct {
	// Proto is "tcp" or "udp".
	Proto string `yaml:"proto" json:"proto"`
	// IP is the guest's address.
	IP netip.Addr `yaml:"ip" json:"ip"`
	// Port is the port clients connect to, 1 to 65535.
	Port int `yaml:"port" json:"port"`
	// ToPort is the port the guest serves it on, 1 to 65535.
	ToPort int `yaml:"to_port" json:"to_port"`
}

// DefaultConfig returns the section's defaults: NAT off.
func DefaultConfig() Config { return Config{Zone: 100} }

// Enabled reports whether NAT runs: a gateway is configured.
func (c *Config) Enabled() bool { return c.Gateway != "" }

// routerMAC returns the router MAC: configured, or 0a:55 and the
// router IP's bytes.
func (c *Config) routerMAC() net.HardwareAddr {
	if len(c.RouterMAC) == 6 {
		return net.HardwareAddr(c.RouterMAC)
	}
	ip := c.RouterIP.As4()
	return net.HardwareAddr{0x0a, 0x55, ip[0], ip[1], ip[2], ip[3]}
}

// Validate implements config.Validator. Errors name the field, relative
// to the section.
func (c *Config) Validate() error {
	if !c.Enabled() {
		return nil
	}
	if err := topo.CheckPortName(c.External.Port); err != nil {
		return config.FieldErr(err.Error(), "external", "port")
	}
	ext := c.External.IP
	switch {
	case !ext.IsValid():
		return config.FieldErr("is required: the outside address with its prefix length, like 198.18.200.1/24", "external", "ip")
	case !config.UnicastIPv4(ext.Addr()) || ext.Bits() > 30 || ext.Addr() == ext.Masked().Addr():
		return config.FieldErr(fmt.Sprintf("%s: want a unicast IPv4 host address in a subnet of /30 or wider, like 198.18.200.1/24", ext), "external", "ip")
	case !c.External.NextHop.IsValid():
		return config.FieldErr("is required: the upstream router's IPv4 address", "external", "next_hop")
	case !ext.Contains(c.External.NextHop) || c.External.NextHop == ext.Addr() || !config.UnicastIPv4(c.External.NextHop):
		return config.FieldErr(fmt.Sprintf("%s must be another unicast address in %s", c.External.NextHop, ext.Masked()), "external", "next_hop")
	case len(c.Inside) == 0:
		return config.FieldErr("is required: the prefixes whose guests are masqueraded, like [10.77.0.0/16]", "inside")
	}
	for i, p := range c.Inside {
		switch {
		case !p.Addr().Is4():
			return config.FieldErr(fmt.Sprintf("%s is not an IPv4 prefix", p), "inside", config.Index(i))
		case p != p.Masked():
			return config.FieldErr(fmt.Sprintf("%s has host bits set (did you mean %s?)", p, p.Masked()), "inside", config.Index(i))
		case p.Overlaps(ext):
			return config.FieldErr(fmt.Sprintf("%s overlaps external.ip %s", p, ext), "inside", config.Index(i))
		}
		for j := range i {
			if p.Overlaps(c.Inside[j]) {
				return config.FieldErr(fmt.Sprintf("%s overlaps inside[%d] %s", p, j, c.Inside[j]), "inside", config.Index(i))
			}
		}
	}
	switch {
	case !c.RouterIP.IsValid():
		return config.FieldErr("is required: the guests' default gateway, an address inside nat.inside", "router_ip")
	case !config.UnicastIPv4(c.RouterIP) || !c.inside(c.RouterIP):
		return config.FieldErr(fmt.Sprintf("%s is not a unicast address inside %s", c.RouterIP, prefixes(c.Inside)), "router_ip")
	case len(c.RouterMAC) != 0 && (c.RouterMAC[0]&1 == 1 || string(c.RouterMAC) == "\x00\x00\x00\x00\x00\x00"):
		return config.FieldErr(fmt.Sprintf("%s is not a unicast MAC", c.RouterMAC), "router_mac")
	case c.Zone < 1 || c.Zone > 65533:
		return config.FieldErr(fmt.Sprintf("%d: want 1 to 65533 (ovsmesh also uses zone+1 and zone+2)", c.Zone), "zone")
	}
	var fwd []forwardRule
	for i, f := range c.Forwards {
		r, err := f.rule(c.Inside)
		if err != nil {
			return prefixErr(err, "forwards", config.Index(i))
		}
		if j := slices.IndexFunc(fwd, func(o forwardRule) bool { return o.key() == r.key() }); j >= 0 {
			return config.FieldErr(fmt.Sprintf("%s is also forwards[%d]", r.key(), j), "forwards", config.Index(i))
		}
		fwd = append(fwd, r)
	}
	var rdr []redirectRule
	for i, d := range c.Redirects {
		r, err := d.rule()
		if err != nil {
			return prefixErr(err, "redirects", config.Index(i))
		}
		if j := slices.IndexFunc(rdr, func(o redirectRule) bool { return o.key() == r.key() }); j >= 0 {
			return config.FieldErr(fmt.Sprintf("%s is also redirects[%d]", r.key(), j), "redirects", config.Index(i))
		}
		rdr = append(rdr, r)
	}
	return nil
}

// ValidateCore implements config.CoreValidator: the gateway must be a
// configured host.
func (c *Config) ValidateCore(core *config.Config) error {
	if !c.Enabled() {
		return nil
	}
	var names []string
	for _, h := range core.Hosts {
		if h.Name == c.Gateway {
			return nil
		}
		names = append(names, h.Name)
	}
	return config.FieldErr(fmt.Sprintf("%q is not a configured host (hosts: %s)", c.Gateway, strings.Join(names, ", ")), "gateway")
}

// inside reports whether ip is in one of the inside prefixes.
func (c *Config) inside(ip netip.Addr) bool { return inPrefixes(c.Inside, ip) }

func inPrefixes(ps []netip.Prefix, ip netip.Addr) bool {
	return slices.ContainsFunc(ps, func(p netip.Prefix) bool { return p.Contains(ip) })
}

func prefixes(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return "[" + strings.Join(s, ", ") + "]"
}

// prefixErr puts err (a field error of one rule) under path.
func prefixErr(err error, path ...string) error {
	if fe, ok := err.(*ruleError); ok {
		return config.FieldErr(fe.msg, append(path, fe.field)...)
	}
	return config.FieldErr(err.Error(), path...)
}

// ruleError is a rule's bad field; the API reports it as "field: msg",
// the configuration at the field's path.
type ruleError struct{ field, msg string }

func (e *ruleError) Error() string { return e.field + ": " + e.msg }

// parseProto returns the IP protocol number of "tcp" or "udp".
func parseProto(s string) (uint8, error) {
	switch s {
	case "tcp":
		return 6, nil
	case "udp":
		return 17, nil
	case "":
		return 0, &ruleError{"proto", `is required: "tcp" or "udp"`}
	}
	return 0, &ruleError{"proto", fmt.Sprintf("%q is not tcp or udp", s)}
}

// checkPort returns p as a port number, 1 to 65535.
func checkPort(field string, p int) (uint16, error) {
	if p < 1 || p > 65535 {
		return 0, &ruleError{field, fmt.Sprintf("%d: want 1 to 65535", p)}
	}
	return uint16(p), nil
}

// rule checks f and returns it parsed: errors name the field.
func (f Forward) rule(inside []netip.Prefix) (forwardRule, error) {
	proto, err := parseProto(f.Proto)
	if err != nil {
		return forwardRule{}, err
	}
	port, err := checkPort("port", f.Port)
	if err != nil {
		return forwardRule{}, err
	}
	host, ps, err := net.SplitHostPort(f.To)
	if err != nil {
		return forwardRule{}, &ruleError{"to", fmt.Sprintf("%q: want IP:PORT, like 10.77.1.1:80", f.To)}
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.Is4() || !config.UnicastIPv4(ip) {
		return forwardRule{}, &ruleError{"to", fmt.Sprintf("%q: %q is not a unicast IPv4 address", f.To, host)}
	}
	n, err := strconv.Atoi(ps)
	if err != nil {
		return forwardRule{}, &ruleError{"to", fmt.Sprintf("%q: port %q is not a number", f.To, ps)}
	}
	to, err := checkPort("to", n)
	if err != nil {
		return forwardRule{}, &ruleError{"to", fmt.Sprintf("%q: port %d: want 1 to 65535", f.To, n)}
	}
	if !inPrefixes(inside, ip) {
		return forwardRule{}, &ruleError{"to", fmt.Sprintf("%s is outside nat.inside %s", ip, prefixes(inside))}
	}
	return forwardRule{Proto: proto, Port: port, To: netip.AddrPortFrom(ip, to)}, nil
}

// rule checks d and returns it parsed: errors name the field.
func (d Redirect) rule() (redirectRule, error) {
	proto, err := parseProto(d.Proto)
	if err != nil {
		return redirectRule{}, err
	}
	if !d.IP.IsValid() || !d.IP.Is4() || !config.UnicastIPv4(d.IP) {
		return redirectRule{}, &ruleError{"ip", fmt.Sprintf("%v is not a unicast IPv4 address", d.IP)}
	}
	port, err := checkPort("port", d.Port)
	if err != nil {
		return redirectRule{}, err
	}
	to, err := checkPort("to_port", d.ToPort)
	if err != nil {
		return redirectRule{}, err
	}
	if to == port {
		return redirectRule{}, &ruleError{"to_port", fmt.Sprintf("%d is port itself: nothing to redirect", to)}
	}
	return redirectRule{Proto: proto, IP: d.IP, Port: port, ToPort: to}, nil
}
