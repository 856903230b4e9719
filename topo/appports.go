package topo

import (
	"fmt"
	"slices"
	"strings"
)

// AppPort is an interface an app owns on a host's mesh bridge (the NAT
// gateway's external port, say): the OVSDB side adds it to the bridge,
// marked as ovsmesh's, and the other apps leave it alone (it is neither
// a guest's port nor a tunnel: nothing is learned from it or flooded to
// it).
type AppPort struct {
	// Host is the configured host whose bridge holds the port.
	Host string
	// Name is the interface name (a Linux netdev, at most 15 bytes).
	Name string
	// App names the owning app.
	App string
}

// CheckPortName returns an error unless name can be a Linux interface
// on a mesh bridge that is not one of ovsmesh's tunnel ports: 1 to 15
// bytes (IFNAMSIZ), no '/', whitespace or ':', not "." or "..", and not
// starting with the tunnel port prefix "om-".
func CheckPortName(name string) error {
	switch {
	case name == "" || len(name) > 15:
		return fmt.Errorf("interface name %q: want 1 to 15 bytes", name)
	case name == "." || name == ".." || strings.ContainsAny(name, "/: \t\n"):
		return fmt.Errorf("interface name %q is not a valid Linux interface name", name)
	case IsTunnelPortName(name):
		return fmt.Errorf("interface name %q: names starting with \"om-\" or \"om_\" are ovsmesh's tunnel ports", name)
	}
	return nil
}

// SetAppPorts replaces the ports apps own (on start and reload).
func (m *Mesh) SetAppPorts(ports []AppPort) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.appPorts = map[string]map[string]AppPort{}
	for _, p := range ports {
		if m.appPorts[p.Host] == nil {
			m.appPorts[p.Host] = map[string]AppPort{}
		}
		m.appPorts[p.Host][p.Name] = p
	}
}

// AppPort returns the app-owned port name on host, if there is one.
func (m *Mesh) AppPort(host, name string) (AppPort, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	p, ok := m.appPorts[host][name]
	return p, ok
}

// AppPorts returns the ports apps own on host, ordered by name.
func (m *Mesh) AppPorts(host string) []AppPort {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []AppPort
	for _, p := range m.appPorts[host] {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b AppPort) int { return strings.Compare(a.Name, b.Name) })
	return out
}
