package topo

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
)

// Keys of an OVSDB Interface row's external_ids that declare what sits
// behind the interface (port security).
const (
	// AttachedMACKey is the guest's MAC, as libvirt and OpenStack write
	// it (vswitch.xml "Interface external_ids:attached-mac").
	AttachedMACKey = "attached-mac"
	// IPsKey lists the guest's IPv4 addresses, comma-separated
	// ("10.0.1.5,10.0.1.6"); ovsmesh's own key.
	IPsKey = "ovsmesh-ips"
	// PortSecurityKey set to "false" keeps ovsmesh from using the row's
	// declaration (a guest that bridges other MACs behind its port);
	// "true" or absent uses it.
	PortSecurityKey = "ovsmesh-port-security"
)

// MaxPortIPs is the most IPv4 addresses one port may declare; further
// ones are ignored (and reported).
const MaxPortIPs = 64

// Iface is one interface on a host's mesh bridge whose OVSDB Interface
// row carries port-security keys in its external_ids, decoded.
type Iface struct {
	// Host is the configured host; Name the interface name (also its
	// OpenFlow port name).
	Host, Name string
	// OFPort is Interface.ofport: the OpenFlow port number, 0 while OVS
	// has assigned none, -1 when the interface could not be created.
	OFPort int32
	// MAC is attached-mac; nil when absent or not a unicast MAC (then
	// the row declares nothing).
	MAC net.HardwareAddr
	// IPs are the valid, distinct unicast IPv4 addresses of ovsmesh-ips,
	// in the order written, at most MaxPortIPs.
	IPs []netip.Addr
	// Disabled is true when ovsmesh-port-security is "false".
	Disabled bool
	// Problems name each value that was ignored, for logs and the API
	// ("ovsmesh-ips: \"10.0.1.300\" is not an IPv4 address").
	Problems []string
}

// Declares reports whether i declares a port: it has a MAC and is not
// disabled.
func (i Iface) Declares() bool { return i.MAC != nil && !i.Disabled }

// ParseIface decodes the port-security keys of an Interface row's
// external_ids (AttachedMACKey, IPsKey, PortSecurityKey). A value that
// does not parse is ignored and named in Problems, never an error: one
// row's typo must not stop the others.
func ParseIface(host, name string, ofport int32, ids map[string]string) Iface {
	i := Iface{Host: host, Name: name, OFPort: ofport}
	bad := func(format string, args ...any) { i.Problems = append(i.Problems, fmt.Sprintf(format, args...)) }
	if v, ok := ids[AttachedMACKey]; ok {
		mac, err := net.ParseMAC(strings.TrimSpace(v))
		switch {
		case err != nil || len(mac) != 6:
			bad("%s: %q is not a MAC address", AttachedMACKey, v)
		case !UnicastMAC(mac):
			bad("%s: %s is not a unicast MAC address", AttachedMACKey, mac)
		default:
			i.MAC = mac
		}
	}
	if v, ok := ids[IPsKey]; ok {
		for _, s := range strings.Split(v, ",") {
			s = strings.TrimSpace(s)
			if s == "" {
				continue
			}
			ip, err := netip.ParseAddr(s)
			switch {
			case err != nil || !ip.Is4():
				bad("%s: %q is not an IPv4 address", IPsKey, s)
			case !UnicastIPv4(ip):
				bad("%s: %s is not a unicast IPv4 address", IPsKey, ip)
			case slices.Contains(i.IPs, ip):
			case len(i.IPs) == MaxPortIPs:
				bad("%s: %s is past the %d addresses a port may declare", IPsKey, ip, MaxPortIPs)
			default:
				i.IPs = append(i.IPs, ip)
			}
		}
		if i.MAC == nil && len(i.IPs) > 0 {
			bad("%s without a valid %s: the addresses are not used", IPsKey, AttachedMACKey)
		}
	}
	switch v := ids[PortSecurityKey]; v {
	case "", "true":
	case "false":
		i.Disabled = true
	default:
		bad("%s: %q is not true or false (port security stays on)", PortSecurityKey, v)
	}
	return i
}

// UnicastMAC reports whether mac is a 6-byte address one station can
// have: not multicast or broadcast (the I/G bit clear) and not all
// zeroes.
func UnicastMAC(mac net.HardwareAddr) bool {
	return len(mac) == 6 && mac[0]&1 == 0 && string(mac) != "\x00\x00\x00\x00\x00\x00"
}

// UnicastIPv4 reports whether ip is an IPv4 address a guest can own: not
// 0.0.0.0, loopback, multicast or the limited broadcast.
func UnicastIPv4(ip netip.Addr) bool {
	return ip.Is4() && !ip.IsUnspecified() && !ip.IsLoopback() && !ip.IsMulticast() &&
		ip != netip.AddrFrom4([4]byte{255, 255, 255, 255})
}

// equal reports whether i and o are the same record.
func (i Iface) equal(o Iface) bool {
	return i.Host == o.Host && i.Name == o.Name && i.OFPort == o.OFPort && string(i.MAC) == string(o.MAC) &&
		slices.Equal(i.IPs, o.IPs) && i.Disabled == o.Disabled && slices.Equal(i.Problems, o.Problems)
}

// ifaceSet is the interfaces each host's OVSDB declares, kept on the
// Mesh. It has its own lock, so watchers run without the Mesh's.
type ifaceSet struct {
	mu       sync.Mutex
	hosts    map[string][]Iface
	watchers map[uint64]func(host string)
	nextID   uint64
}

// SetInterfaces replaces host's declaring interfaces with list (from
// one pass over its OVSDB replica), ordered by name. Watchers are told
// when the set changed, or on its first publication. A host that is not
// configured is ignored.
func (m *Mesh) SetInterfaces(host string, list []Iface) {
	m.mu.RLock()
	_, ok := m.byName[host]
	m.mu.RUnlock()
	if !ok {
		return
	}
	list = slices.Clone(list)
	slices.SortFunc(list, func(a, b Iface) int { return strings.Compare(a.Name, b.Name) })
	s := &m.ifaces
	s.mu.Lock()
	defer s.mu.Unlock()
	old, known := s.hosts[host]
	if known && slices.EqualFunc(old, list, Iface.equal) {
		return
	}
	if s.hosts == nil {
		s.hosts = map[string][]Iface{}
	}
	if list == nil {
		list = []Iface{}
	}
	s.hosts[host] = list
	for _, w := range s.watchers {
		w(host)
	}
}

// Interfaces returns host's declaring interfaces as last published,
// ordered by name, and whether they have been published since start
// (false: OVSDB has not been read yet).
func (m *Mesh) Interfaces(host string) ([]Iface, bool) {
	s := &m.ifaces
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.hosts[host]
	return slices.Clone(l), ok
}

// WatchInterfaces makes fn observe every later change of a host's
// declaring interfaces, with the host's name. fn runs under the set's
// lock: it must be quick (note the host, wake a worker) and must not
// call back into the Mesh's interfaces. The returned cancel stops the
// calls.
func (m *Mesh) WatchInterfaces(fn func(host string)) (cancel func()) {
	s := &m.ifaces
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.watchers == nil {
		s.watchers = map[uint64]func(string){}
	}
	s.nextID++
	id := s.nextID
	s.watchers[id] = fn
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.watchers, id)
	}
}
