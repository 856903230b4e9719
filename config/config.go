package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the whole ovsmesh configuration file: the core sections
// below, decoded here, and the sections apps declare (see Section), each
// decoded by its app's own type.
type Config struct {
	// OpenFlow says where switches connect and what is written into their
	// Controller rows.
	OpenFlow OpenFlow `yaml:"openflow"`
	// API is the JSON API and /metrics listener.
	API API `yaml:"api"`
	// State is the path of the bbolt state file.
	State string `yaml:"state"`
	// Mesh describes the bridge and tunnels every host gets.
	Mesh Mesh `yaml:"mesh"`
	// Hosts lists the mesh members; empty means ovsmesh is a plain
	// controller for whatever switches connect.
	Hosts []Host `yaml:"hosts"`
	// Log configures logging.
	Log Log `yaml:"log"`
	// TLS holds the controller's CA, certificate and key, for ssl:
	// listeners, targets and OVSDB hosts.
	TLS TLS `yaml:"tls,omitempty"`

	// sections maps a section's path ("apps.learning", "nat") to its
	// decoded value, a pointer owned by this Config: WithSection copies
	// the map, so Configs that share sections never see each other's
	// changes.
	sections map[string]any
}

// OpenFlow configures the OpenFlow listeners.
type OpenFlow struct {
	// Listen holds listener addresses of the form tcp:[IP]:PORT or
	// ssl:[IP]:PORT (IP optional; ssl: needs the tls section).
	Listen []string `yaml:"listen"`
	// Targets holds controller targets written into each bridge's
	// Controller table, in ovs-vsctl syntax (tcp:IP:PORT or ssl:IP:PORT).
	Targets []string `yaml:"targets"`
	// EchoInterval is how long a switch may be idle before it is probed
	// with an ECHO_REQUEST; it is dropped after two intervals of silence.
	EchoInterval time.Duration `yaml:"echo_interval"`
	// QueueLen is the per-switch bound on queued messages, in messages.
	QueueLen int `yaml:"queue_len"`
	// PacketInRate and PacketInBurst are written into each mesh bridge's
	// Controller rows (controller_rate_limit, packets/s, at least 100;
	// controller_burst_limit, packets, at least 25): the switch queues and
	// drops packet-ins beyond them, fairly across its ports. 0 disables.
	PacketInRate  int `yaml:"packet_in_rate"`
	PacketInBurst int `yaml:"packet_in_burst"`
	// PacketInBytes bounds the packet-in bytes queued for one switch;
	// PacketInBytesTotal bounds them across all switches. Packet-ins
	// beyond either are dropped and counted, by reason.
	PacketInBytes      int `yaml:"packet_in_bytes"`
	PacketInBytesTotal int `yaml:"packet_in_bytes_total"`
	// MaxConnections bounds the switch connections held at once, in
	// connections, and MaxConnectionsPerIP those from one source
	// address: connections over either are closed at accept and counted.
	// MaxHandshaking bounds those that have not finished the handshake:
	// further connections wait in the listen backlog.
	MaxConnections      int `yaml:"max_connections"`
	MaxHandshaking      int `yaml:"max_handshaking"`
	MaxConnectionsPerIP int `yaml:"max_connections_per_ip"`
	// MaxPorts bounds a switch's port list, in ports: a longer one fails
	// its handshake.
	MaxPorts int `yaml:"max_ports"`
	// MaxReplyBytes bounds one multipart reply (a switch's flow dump), in
	// bytes: a larger one fails the request (the API answers 502).
	MaxReplyBytes int `yaml:"max_reply_bytes"`
	// Meters are the OpenFlow meters (OpenFlow 1.3.5 §5.7) every switch
	// applies to packet-ins, in the datapath: the switch's controller
	// meter, and one per port for the packets the apps copy to the
	// controller from that port, so a guest flooding new sources or ARP
	// spends its own port's budget, not its neighbours'.
	Meters Meters `yaml:"meters"`
}

// Meters are packet-in meter rates; a rate of 0 turns a meter off.
type Meters struct {
	// SwitchPPS and SwitchBurst are the switch's controller meter: packets
	// per second, and a burst in packets.
	SwitchPPS   int `yaml:"switch_pps"`
	SwitchBurst int `yaml:"switch_burst"`
	// PortPPS and PortBurst are each port's meter.
	PortPPS   int `yaml:"port_pps"`
	PortBurst int `yaml:"port_burst"`
}

// API configures the HTTP listener.
type API struct {
	// Listen is a host:port address.
	Listen string `yaml:"listen"`
	// TokenFile is a file holding the bearer token that mutating
	// requests (POST, DELETE) must carry unless they come over
	// loopback; empty: only loopback may change anything.
	TokenFile string `yaml:"token_file,omitempty"`
}

// Log configures logging.
type Log struct {
	// Level is debug, info, warn or error; empty keeps --log-level
	// (default info). It changes on reload.
	Level string `yaml:"level,omitempty"`
}

// Mesh configures the mesh bridge on every host.
type Mesh struct {
	// Bridge is the mesh bridge name, at most 15 bytes.
	Bridge string `yaml:"bridge"`
	// DatapathType is "system" (kernel) or "netdev" (userspace).
	DatapathType string `yaml:"datapath_type"`
	// Tunnel is "vxlan" or "gre".
	Tunnel string `yaml:"tunnel"`
	// Key is the VNI (VXLAN, 24 bits) or GRE key (32 bits).
	Key uint32 `yaml:"key"`
	// UnderlayMTU is the underlay link MTU in bytes, used to report the
	// overlay MTU guests should use.
	UnderlayMTU int `yaml:"underlay_mtu"`
}

// Host is one mesh member.
type Host struct {
	// Name is unique across hosts; the pinned DPID and tunnel port names
	// derive from it.
	Name string `yaml:"name"`
	// OVSDB is the host's ovsdb-server address: tcp:IP:PORT, ssl:IP:PORT
	// (with the tls section) or unix:PATH.
	OVSDB string `yaml:"ovsdb"`
	// TunnelIP is the host's underlay IPv4 address.
	TunnelIP netip.Addr `yaml:"tunnel_ip"`
	// OpenFlowFrom lists the addresses the host's bridge may connect to
	// the controller from. Empty means the IP of OVSDB (tcp: or
	// ssl:IP:PORT), or,
	// for a unix: OVSDB, the controller machine's own addresses. A switch
	// claiming the host's datapath ID from any other address is refused.
	OpenFlowFrom []netip.Addr `yaml:"openflow_from,omitempty"`
	// TLS names the host's certificate files, for its SSL row.
	TLS HostTLS `yaml:"tls,omitempty"`
}

// Default returns the configuration used for fields a file leaves out.
func Default() Config {
	return Config{
		OpenFlow: OpenFlow{
			Listen:              []string{"tcp::6653", "tcp::6633"},
			EchoInterval:        5 * time.Second,
			QueueLen:            1024,
			PacketInRate:        1000,
			PacketInBurst:       250,
			Meters:              Meters{SwitchPPS: 1000, SwitchBurst: 250, PortPPS: 200, PortBurst: 100},
			PacketInBytes:       1 << 20,
			PacketInBytesTotal:  16 << 20,
			MaxConnections:      1024,
			MaxHandshaking:      128,
			MaxConnectionsPerIP: 32,
			MaxPorts:            16384,
			MaxReplyBytes:       64 << 20,
		},
		API:   API{Listen: "127.0.0.1:9633"},
		State: "/var/lib/ovsmesh/state.db",
		Mesh: Mesh{
			Bridge:       "br-int",
			DatapathType: "system",
			Tunnel:       "vxlan",
			Key:          5001,
			UnderlayMTU:  1500,
		},
		Hosts: []Host{},
	}
}

// Load reads and validates the file at path, with the app sections
// given. Errors name the file, the field and, where the file has it, the
// line.
func Load(path string, sections ...Section) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read config: %w", err)
	}
	cfg, err := Parse(data, sections...)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

// Parse decodes one YAML document over Default and the sections'
// defaults, then validates the core and every section. Every error is a
// *FieldError naming the field and line, except YAML syntax errors
// ("parse config: ..."). Unknown fields, keys given twice, values of the
// wrong kind, a section no app declares and a second YAML document are
// errors.
func Parse(data []byte, sections ...Section) (Config, error) {
	cfg := Default()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, fmt.Errorf("parse config: %w", err)
	}
	var second yaml.Node
	if err := dec.Decode(&second); err == nil {
		return Config{}, fmt.Errorf("line %d: a second YAML document: ovsmesh reads one document per file", second.Line)
	} else if !errors.Is(err, io.EOF) {
		return Config{}, fmt.Errorf("parse config: %w", err)
	}
	if err := cfg.decode(&root, sections); err != nil {
		return Config{}, err
	}
	if err := cfg.validate(sections); err != nil {
		var fe *FieldError
		if errors.As(err, &fe) && fe.Line == 0 {
			fe.Line = lineOf(&root, fe.path)
		}
		return Config{}, err
	}
	return cfg, nil
}

// Marshal renders cfg as YAML, the form Load reads back: the core
// sections, then every app section cfg holds at its path.
func Marshal(cfg Config) ([]byte, error) {
	var root yaml.Node
	if err := root.Encode(cfg); err != nil {
		return nil, fmt.Errorf("render config: %w", err)
	}
	paths := make([]string, 0, len(cfg.sections))
	for p := range cfg.sections {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	for _, p := range paths {
		var n yaml.Node
		if err := n.Encode(cfg.sections[p]); err != nil {
			return nil, fmt.Errorf("render config section %s: %w", p, err)
		}
		setPath(&root, strings.Split(p, "."), &n)
	}
	return yaml.Marshal(&root)
}
