package config

import (
	"github.com/ovsmesh/ovsmesh/topo"

	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// FieldError is a validation error naming the offending field by its YAML
// path (for example "hosts[2].tunnel_ip") and, when known, its line.
type FieldError struct {
	// Field is the YAML path of the field.
	Field string
	// Line is the 1-based line in the file, or 0 when unknown.
	Line int
	// Msg says what is wrong.
	Msg string

	path []string
	bare bool // Msg names the field itself: render without Field
}

// Error renders "line N: field: message" (without the line when unknown).
func (e *FieldError) Error() string {
	field := e.Field + ": "
	if e.bare || e.Field == "" {
		field = ""
	}
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %s%s", e.Line, field, e.Msg)
	}
	return field + e.Msg
}

func fieldErr(msg string, path ...string) *FieldError {
	return &FieldError{Field: joinPath(path), Msg: msg, path: path}
}

func joinPath(path []string) string {
	var b strings.Builder
	for i, p := range path {
		if strings.HasPrefix(p, "[") {
			b.WriteString(p)
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(p)
	}
	return b.String()
}

func (c *Config) validate(sections []Section) error {
	listens := map[string]int{}
	for i, l := range c.OpenFlow.Listen {
		addr, err := c.checkOpenFlow(l, true)
		if err != nil {
			return fieldErr(err.Error(), "openflow", "listen", idx(i))
		}
		if j, dup := listens[addr]; dup {
			return fieldErr(fmt.Sprintf("%q listens where openflow.listen[%d] does", l, j), "openflow", "listen", idx(i))
		}
		listens[addr] = i
	}
	if err := checkHostPort(c.API.Listen); err != nil {
		return fieldErr(err.Error(), "api", "listen")
	}
	if c.API.TokenFile != "" {
		if _, err := ReadToken(c.API.TokenFile); err != nil {
			return fieldErr(err.Error(), "api", "token_file")
		}
	}
	if c.Log.Level != "" {
		var l slog.Level
		if err := l.UnmarshalText([]byte(c.Log.Level)); err != nil {
			return fieldErr(fmt.Sprintf("%q: want debug, info, warn or error", c.Log.Level), "log", "level")
		}
	}
	if err := c.validateTLS(); err != nil {
		return err
	}
	for i, t := range c.OpenFlow.Targets {
		if _, err := c.checkOpenFlow(t, false); err != nil {
			return fieldErr(err.Error(), "openflow", "targets", idx(i))
		}
	}
	if c.OpenFlow.EchoInterval < 100*time.Millisecond {
		return fieldErr("must be at least 100ms", "openflow", "echo_interval")
	}
	if r := c.OpenFlow.PacketInRate; r != 0 && r < 100 {
		return fieldErr(fmt.Sprintf("%d is below OVS's minimum of 100 packets/s (0 disables the limit)", r), "openflow", "packet_in_rate")
	}
	if b := c.OpenFlow.PacketInBurst; b != 0 && b < 25 {
		return fieldErr(fmt.Sprintf("%d is below OVS's minimum of 25 packets (0 uses OVS's default)", b), "openflow", "packet_in_burst")
	}
	if c.OpenFlow.QueueLen < 1 || c.OpenFlow.QueueLen > 1<<20 {
		return fieldErr("must be between 1 and 1048576 messages", "openflow", "queue_len")
	}
	if err := c.OpenFlow.validateLimits(); err != nil {
		return err
	}
	if err := c.OpenFlow.Meters.validate(); err != nil {
		return err
	}
	if err := c.Mesh.validate(); err != nil {
		return err
	}
	names := map[string]int{}
	ips := map[netip.Addr]int{}
	for i, h := range c.Hosts {
		at := func(msg, field string) error { return fieldErr(msg, "hosts", idx(i), field) }
		switch {
		case h.Name == "":
			return at("is required", "name")
		case !validHostName(h.Name):
			return at(fmt.Sprintf("%q may hold only letters, digits, '-' and '_' (at most 63)", h.Name), "name")
		case h.OVSDB == "":
			return at("is required", "ovsdb")
		case !h.TunnelIP.IsValid():
			return at("is required (an IPv4 address)", "tunnel_ip")
		case !h.TunnelIP.Is4():
			return at(fmt.Sprintf("%s is not an IPv4 address", h.TunnelIP), "tunnel_ip")
		case !UnicastIPv4(h.TunnelIP):
			return at(fmt.Sprintf("%s is not a unicast address a peer can reach (unspecified, loopback, multicast or broadcast)", h.TunnelIP), "tunnel_ip")
		}
		if err := c.checkOVSDB(h.OVSDB); err != nil {
			return at(err.Error(), "ovsdb")
		}
		for k, a := range h.OpenFlowFrom {
			if !a.IsValid() || a.IsUnspecified() || a.IsMulticast() {
				return fieldErr(fmt.Sprintf("%v is not a unicast address a switch can connect from", a), "hosts", idx(i), "openflow_from", idx(k))
			}
		}
		if err := h.TLS.validate(); err != nil {
			return prefixErr(err, "hosts", idx(i))
		}
		if j, dup := names[h.Name]; dup {
			return at(fmt.Sprintf("duplicate host name %q (also hosts[%d])", h.Name, j), "name")
		}
		if j, dup := ips[h.TunnelIP]; dup {
			return at(fmt.Sprintf("duplicate tunnel_ip %s (also hosts[%d])", h.TunnelIP, j), "tunnel_ip")
		}
		names[h.Name], ips[h.TunnelIP] = i, i
	}
	var hostNames []string
	for _, h := range c.Hosts {
		hostNames = append(hostNames, h.Name)
	}
	if clash := topo.Collisions(hostNames); len(clash) > 0 {
		return fieldErr(clash[0]+": rename one", "hosts")
	}
	if len(c.Hosts) > 0 && len(c.OpenFlow.Targets) == 0 {
		return fieldErr("is required when hosts are configured: it is what their bridges connect to", "openflow", "targets")
	}
	return c.validateSections(sections)
}

// validateLimits checks the OpenFlow resource limits: each must be
// positive and within a bound that still bounds something.
func (o *OpenFlow) validateLimits() error {
	for _, l := range []struct {
		v, lo, hi  int
		name, unit string
	}{
		{o.PacketInBytes, 64 << 10, 1 << 30, "packet_in_bytes", "bytes"},
		{o.PacketInBytesTotal, 64 << 10, 16 << 30, "packet_in_bytes_total", "bytes"},
		{o.MaxConnections, 1, 1 << 20, "max_connections", "connections"},
		{o.MaxHandshaking, 1, 1 << 20, "max_handshaking", "connections"},
		{o.MaxConnectionsPerIP, 1, 1 << 20, "max_connections_per_ip", "connections"},
		{o.MaxPorts, 1, 65280, "max_ports", "ports"},
		{o.MaxReplyBytes, 64 << 10, 16 << 30, "max_reply_bytes", "bytes"},
	} {
		if l.v < l.lo || l.v > l.hi {
			return fieldErr(fmt.Sprintf("%d: must be between %d and %d %s", l.v, l.lo, l.hi, l.unit), "openflow", l.name)
		}
	}
	if o.PacketInBytes > o.PacketInBytesTotal {
		return fieldErr(fmt.Sprintf("%d is more than openflow.packet_in_bytes_total (%d)", o.PacketInBytes, o.PacketInBytesTotal), "openflow", "packet_in_bytes")
	}
	if o.MaxHandshaking > o.MaxConnections || o.MaxConnectionsPerIP > o.MaxConnections {
		return fieldErr(fmt.Sprintf("max_handshaking (%d) and max_connections_per_ip (%d) must not exceed max_connections (%d)",
			o.MaxHandshaking, o.MaxConnectionsPerIP, o.MaxConnections), "openflow", "max_connections")
	}
	return nil
}

func (m *Mesh) validate() error {
	if m.Bridge == "" || len(m.Bridge) > 15 {
		return fieldErr(fmt.Sprintf("%q must be 1 to 15 bytes", m.Bridge), "mesh", "bridge")
	}
	switch m.DatapathType {
	case "system", "netdev":
	default:
		return fieldErr(fmt.Sprintf("unknown datapath type %q (want system or netdev)", m.DatapathType), "mesh", "datapath_type")
	}
	switch m.Tunnel {
	case "vxlan":
		if m.Key > 1<<24-1 {
			return fieldErr(fmt.Sprintf("VNI %d out of range 0..16777215", m.Key), "mesh", "key")
		}
	case "gre":
	default:
		return fieldErr(fmt.Sprintf("unknown tunnel type %q (want vxlan or gre)", m.Tunnel), "mesh", "tunnel")
	}
	if m.UnderlayMTU < 576 || m.UnderlayMTU > 65535 {
		return fieldErr("must be between 576 and 65535 bytes", "mesh", "underlay_mtu")
	}
	return nil
}

// TunnelOverhead returns the encapsulation overhead in bytes of tunnel
// type t over an IPv4 underlay: VXLAN 50, GRE with key 42.
func TunnelOverhead(t string) int {
	if t == "gre" {
		return 42
	}
	return 50
}

// OverlayMTU returns the largest guest MTU in bytes that fits m's tunnels.
func (m Mesh) OverlayMTU() int { return m.UnderlayMTU - TunnelOverhead(m.Tunnel) }

// ParseListen parses "tcp:[IP]:PORT" into a host:port address for
// net.Listen ("tcp::6653" listens on every address). Anything else,
// ssl: included, is an error: ParseEndpoint also gives the scheme.
func ParseListen(s string) (string, error) {
	rest, ok := strings.CutPrefix(s, "tcp:")
	if !ok {
		return "", fmt.Errorf("%q: only tcp:[IP]:PORT is supported", s)
	}
	host, port, err := net.SplitHostPort(rest)
	if err != nil {
		return "", fmt.Errorf("%q: %w", s, err)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("%q: port %q is not 1..65535", s, port)
	}
	if host != "" {
		if _, err := netip.ParseAddr(host); err != nil {
			return "", fmt.Errorf("%q: %w", s, err)
		}
	}
	return rest, nil
}

// ReadToken reads a bearer token from path: its first line, trimmed; at
// least 16 characters. Errors name the path and what is wrong.
func ReadToken(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read token: %w", err)
	}
	tok, _, _ := strings.Cut(string(data), "\n")
	tok = strings.TrimSpace(tok)
	if len(tok) < 16 {
		return "", fmt.Errorf("%s: the token must be at least 16 characters on the first line", path)
	}
	return tok, nil
}

// UnicastIPv4 reports whether ip is an IPv4 address one host can send
// to another: not 0.0.0.0, loopback, multicast, link-local multicast or
// the limited broadcast 255.255.255.255.
func UnicastIPv4(ip netip.Addr) bool {
	return ip.Is4() && !ip.IsUnspecified() && !ip.IsLoopback() && !ip.IsMulticast() &&
		ip != netip.AddrFrom4([4]byte{255, 255, 255, 255})
}

// checkHostPort checks a host:port listen address: an IP address (or
// none, for every address) and a port of 1 to 65535.
func checkHostPort(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("%q: %w", s, err)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("%q: port %q is not 1..65535", s, port)
	}
	if host != "" {
		if _, err := netip.ParseAddr(host); err != nil {
			return fmt.Errorf("%q: %q is not an IP address", s, host)
		}
	}
	return nil
}

func (c *Config) checkOVSDB(s string) error {
	switch {
	case strings.HasPrefix(s, "unix:"):
		if len(s) == len("unix:") {
			return fmt.Errorf("%q has no socket path", s)
		}
		return nil
	case strings.HasPrefix(s, "tcp:"), strings.HasPrefix(s, "ssl:"):
		scheme, addr, err := ParseEndpoint(s)
		if err != nil || strings.HasPrefix(addr, ":") {
			return fmt.Errorf("%q is not %s:IP:PORT", s, s[:3])
		}
		if scheme == SchemeSSL && !c.TLS.Enabled() {
			return fmt.Errorf("%q needs the tls section: the controller's certificate is its OVSDB client certificate", s)
		}
		return nil
	}
	return fmt.Errorf("%q: want tcp:IP:PORT, ssl:IP:PORT or unix:PATH", s)
}

func validHostName(s string) bool {
	if len(s) > 63 {
		return false
	}
	for _, r := range s {
		if !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

func idx(i int) string { return "[" + strconv.Itoa(i) + "]" }

// lineOf finds the line of the node at path in the document root,
// falling back to the nearest ancestor that exists; 0 when not even the
// path's first key is in the file (the field holds a default).
func lineOf(root *yaml.Node, path []string) int {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := n.Line
	for depth, p := range path {
		var next *yaml.Node
		switch {
		case strings.HasPrefix(p, "[") && n.Kind == yaml.SequenceNode:
			i, _ := strconv.Atoi(strings.Trim(p, "[]"))
			if i < len(n.Content) {
				next = n.Content[i]
			}
		case n.Kind == yaml.MappingNode:
			for k := 0; k+1 < len(n.Content); k += 2 {
				if n.Content[k].Value == p {
					next = n.Content[k+1]
					break
				}
			}
		}
		if next == nil {
			if depth == 0 {
				return 0 // nothing of the path is in the file: it is a default
			}
			return line
		}
		n, line = next, next.Line
	}
	return line
}

// validate checks the meter rates: each 0 (off) up to 10,000,000
// packets/s; a burst only with its rate, and not above 10,000,000.
func (m Meters) validate() error {
	for _, f := range []struct {
		name        string
		rate, burst int
	}{{"switch", m.SwitchPPS, m.SwitchBurst}, {"port", m.PortPPS, m.PortBurst}} {
		switch {
		case f.rate < 0 || f.rate > 10_000_000:
			return fieldErr(fmt.Sprintf("%d: want 0 (off) to 10000000 packets/s", f.rate), "openflow", "meters", f.name+"_pps")
		case f.burst < 0 || f.burst > 10_000_000:
			return fieldErr(fmt.Sprintf("%d: want 0 to 10000000 packets", f.burst), "openflow", "meters", f.name+"_burst")
		case f.burst != 0 && f.rate == 0:
			return fieldErr(fmt.Sprintf("%d: a burst needs %s_pps (the meter is off)", f.burst, f.name), "openflow", "meters", f.name+"_burst")
		}
	}
	return nil
}
