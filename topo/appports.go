package topo

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
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

// SetAppPorts replaces the ports apps own (on start and reload). The
// status of a port no longer declared is forgotten. When the set
// changed, every function given to WatchAppPorts is called, after the
// new set is in place.
func (m *Mesh) SetAppPorts(ports []AppPort) {
	m.mu.Lock()
	old := m.appPorts
	m.appPorts = map[string]map[string]AppPort{}
	for _, p := range ports {
		if m.appPorts[p.Host] == nil {
			m.appPorts[p.Host] = map[string]AppPort{}
		}
		m.appPorts[p.Host][p.Name] = p
	}
	for host, byName := range m.apps.status {
		for name := range byName {
			if _, ok := m.appPorts[host][name]; !ok {
				delete(byName, name)
			}
		}
	}
	changed := !maps.EqualFunc(old, m.appPorts, func(a, b map[string]AppPort) bool { return maps.Equal(a, b) })
	watchers := slices.Collect(maps.Values(m.apps.watchers))
	m.mu.Unlock()
	if changed {
		for _, f := range watchers {
			f()
		}
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

// AppPortStatus is the state of one app-owned port as the OVSDB side
// last saw it on the host's mesh bridge.
type AppPortStatus struct {
	// OFPort is the OpenFlow port number OVS assigned (Interface.ofport):
	// 0 while not assigned yet (or the port is not on the bridge), -1
	// when OVS could not open the interface.
	OFPort int32
	// Error says why the port is not up: OVS's own Interface.error
	// ("could not open network device ext0 (No such device)") or why
	// ovsmesh leaves the port alone (a port of that name on another
	// bridge, say). "" when there is nothing to report.
	Error string
	// Since is when Up last changed.
	Since time.Time
}

// Up reports whether the port is on the bridge with an OpenFlow port
// number and no error.
func (s AppPortStatus) Up() bool { return s.OFPort > 0 && s.Error == "" }

// String renders the status for logs and the CLI: "up (ofport 3)",
// "pending (no ofport yet)", or the error.
func (s AppPortStatus) String() string {
	switch {
	case s.Up():
		return fmt.Sprintf("up (ofport %d)", s.OFPort)
	case s.Error != "":
		return s.Error
	case s.OFPort < 0:
		return "OVS could not open the interface"
	}
	return "pending (no ofport yet)"
}

// appPortState holds, inside Mesh (under its lock), the app ports'
// published status and the functions watching the declared set.
type appPortState struct {
	status   map[string]map[string]AppPortStatus // host -> port name -> status
	watchers map[int]func()
	next     int
}

// SetAppPortStatus records the status of the app port name on host, as
// the OVSDB side saw it. It is ignored for a port no app declares there
// (one just removed from the configuration).
func (m *Mesh) SetAppPortStatus(host, name string, st AppPortStatus) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.appPorts[host][name]; !ok {
		return
	}
	if m.apps.status == nil {
		m.apps.status = map[string]map[string]AppPortStatus{}
	}
	if m.apps.status[host] == nil {
		m.apps.status[host] = map[string]AppPortStatus{}
	}
	m.apps.status[host][name] = st
}

// AppPortStatus returns the last status recorded for the app port name
// on host; false when none was recorded (the host's OVSDB has not
// answered yet, or no app declares the port).
func (m *Mesh) AppPortStatus(host, name string) (AppPortStatus, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	st, ok := m.apps.status[host][name]
	return st, ok
}

// WatchAppPorts calls f after every SetAppPorts that changes the
// declared set, until the returned cancel function is called. f runs on
// the caller's goroutine and must not block or call SetAppPorts.
func (m *Mesh) WatchAppPorts(f func()) (cancel func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.apps.watchers == nil {
		m.apps.watchers = map[int]func(){}
	}
	id := m.apps.next
	m.apps.next++
	m.apps.watchers[id] = f
	return func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		delete(m.apps.watchers, id)
	}
}
