package lab

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
)

// StateFile is the name of the state file inside the lab directory.
const StateFile = "lab.json"

const stateVersion = 1

// state is everything a lab created, in the order it was created. Each
// item is recorded before it is created, so down can undo a crashed up.
type state struct {
	Version int     `json:"version"`
	Options Options `json:"options"`
	// Namespaces lists network namespaces by name.
	Namespaces []string `json:"namespaces"`
	// RootLinks lists links in the root namespace by name.
	RootLinks []string `json:"root_links"`
	Hosts     []Host   `json:"hosts"`
	Guests    []Guest  `json:"guests"`
	// Attached is true once AttachGuests has run: guests added later are
	// attached at once.
	Attached bool `json:"attached"`
}

// Host is one lab host.
type Host struct {
	// Name is "h1", "h2", ...; also the host name in ovsmesh.yaml.
	Name string `json:"name"`
	// Index is the 1-based host number.
	Index int `json:"index"`
	// NS is the host's network namespace.
	NS string `json:"ns"`
	// Dir holds the host's db, sockets, pid files and logs; it is the
	// OVS_RUNDIR of its daemons.
	Dir string `json:"dir"`
	// MgmtIP is where the host's ovsdb-server listens (port OVSDBPort).
	MgmtIP netip.Addr `json:"mgmt_ip"`
	// UnderlayIP is the address on br-phy, the host's tunnel IP.
	UnderlayIP netip.Addr `json:"underlay_ip"`
	// PIDs maps daemon to its last known pid: 0 when not running,
	// pidStarting while a start is in flight and the pid is not known yet.
	PIDs map[Daemon]int `json:"pids"`
	// TLS is set in a lab with Options.TLS: ovsdb-server listens with
	// pssl: and the host has its TLS files (TLSFiles).
	TLS bool `json:"tls,omitempty"`
}

// DBSocket returns the unix socket path of the host's ovsdb-server.
func (h Host) DBSocket() string { return filepath.Join(h.Dir, "db.sock") }

// OVSDB returns the host's ovsdb-server TCP address as ovsmesh.yaml
// names it, "tcp:IP:6640", or "ssl:IP:6640" with TLS.
func (h Host) OVSDB() string {
	if h.TLS {
		return fmt.Sprintf("ssl:%s:%d", h.MgmtIP, OVSDBPort)
	}
	return fmt.Sprintf("tcp:%s:%d", h.MgmtIP, OVSDBPort)
}

// Guest is one guest: a namespace with one interface, eth0.
type Guest struct {
	// Name is "hIgJ" after the host it was first created on; it stays
	// when the guest moves.
	Name string `json:"name"`
	// Host is the name of the host the guest is currently plugged into.
	Host string `json:"host"`
	// NS is the guest's network namespace.
	NS string `json:"ns"`
	// MAC is eth0's MAC address.
	MAC net.HardwareAddr `json:"-"`
	// IP is eth0's address, with prefix length 8.
	IP netip.Addr `json:"ip"`
	// Port is the host-side interface name: the mesh bridge port, or the
	// lxcbr0 port with Options.LXC.
	Port string `json:"port"`
}

type guestJSON struct {
	Name string     `json:"name"`
	Host string     `json:"host"`
	NS   string     `json:"ns"`
	MAC  string     `json:"mac"`
	IP   netip.Addr `json:"ip"`
	Port string     `json:"port"`
}

// MarshalJSON renders g with its MAC in colon-separated hex.
func (g Guest) MarshalJSON() ([]byte, error) {
	return json.Marshal(guestJSON{g.Name, g.Host, g.NS, g.MAC.String(), g.IP, g.Port})
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (g *Guest) UnmarshalJSON(data []byte) error {
	var j guestJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return err
	}
	mac, err := net.ParseMAC(j.MAC)
	if err != nil {
		return fmt.Errorf("guest %s: %w", j.Name, err)
	}
	*g = Guest{Name: j.Name, Host: j.Host, NS: j.NS, MAC: mac, IP: j.IP, Port: j.Port}
	return nil
}

func (s *state) addNS(ns string) {
	if !slices.Contains(s.Namespaces, ns) {
		s.Namespaces = append(s.Namespaces, ns)
	}
}

func (s *state) addRootLink(l string) {
	if !slices.Contains(s.RootLinks, l) {
		s.RootLinks = append(s.RootLinks, l)
	}
}

func (s *state) host(name string) (int, bool) {
	i := slices.IndexFunc(s.Hosts, func(h Host) bool { return h.Name == name })
	return i, i >= 0
}

func (s *state) guest(name string) (int, bool) {
	i := slices.IndexFunc(s.Guests, func(g Guest) bool { return g.Name == name })
	return i, i >= 0
}

// writeState writes s to dir/lab.json atomically (temp file and rename).
func writeState(dir string, s *state) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("encode lab state: %w", err)
	}
	path := filepath.Join(dir, StateFile)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("write lab state: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write lab state: %w", err)
	}
	return nil
}

// errNoState is returned by readState when dir holds no state file.
var errNoState = errors.New("no lab state file")

// readState reads dir/lab.json.
func readState(dir string) (*state, error) {
	path := filepath.Join(dir, StateFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", path, errNoState)
	}
	if err != nil {
		return nil, fmt.Errorf("read lab state: %w", err)
	}
	var s state
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("decode lab state %s: %w", path, err)
	}
	if s.Version != stateVersion {
		return nil, fmt.Errorf("lab state %s: version %d, want %d", path, s.Version, stateVersion)
	}
	return &s, nil
}
