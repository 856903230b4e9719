package config

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the whole ovsmesh configuration file.
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
	// Apps holds per-app settings.
	Apps Apps `yaml:"apps"`
}

// OpenFlow configures the OpenFlow listeners.
type OpenFlow struct {
	// Listen holds listener addresses of the form tcp:[IP]:PORT (IP optional).
	Listen []string `yaml:"listen"`
	// Targets holds controller targets written into each bridge's
	// Controller table, in ovs-vsctl syntax (tcp:IP:PORT).
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
}

// API configures the HTTP listener.
type API struct {
	// Listen is a host:port address.
	Listen string `yaml:"listen"`
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
	// OVSDB is the host's ovsdb-server address: tcp:IP:PORT or unix:PATH.
	OVSDB string `yaml:"ovsdb"`
	// TunnelIP is the host's underlay IPv4 address.
	TunnelIP netip.Addr `yaml:"tunnel_ip"`
}

// Apps holds per-app settings.
type Apps struct {
	Learning Learning `yaml:"learning"`
	ProxyARP ProxyARP `yaml:"proxyarp"`
}

// ProxyARP configures apps/proxyarp.
type ProxyARP struct {
	// Enabled turns proxy ARP on (the default); false floods ARP like
	// any broadcast.
	Enabled bool `yaml:"enabled"`
	// Aging drops a binding whose owner sent no ARP for this long; whole
	// seconds, 1s to 65535s.
	Aging time.Duration `yaml:"aging"`
	// Static lists bindings that never age and never change MAC.
	Static []StaticARP `yaml:"static,omitempty"`
}

// StaticARP is one configured IPv4-to-MAC binding.
type StaticARP struct {
	// IP is a unicast IPv4 address.
	IP netip.Addr `yaml:"ip"`
	// MAC is a unicast Ethernet address.
	MAC MAC `yaml:"mac"`
}

// Learning configures apps/learning.
type Learning struct {
	// IdleTimeout is the idle timeout of learned-MAC flows; whole seconds,
	// 1s to 65535s.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// FlapMoves is how many moves of one MAC within FlapWindow mark it as
	// flapping; further moves are damped until the window passes.
	FlapMoves int `yaml:"flap_moves"`
	// FlapWindow is the window for FlapMoves.
	FlapWindow time.Duration `yaml:"flap_window"`
}

// Default returns the configuration used for fields a file leaves out.
func Default() Config {
	return Config{
		OpenFlow: OpenFlow{
			Listen:        []string{"tcp::6653", "tcp::6633"},
			EchoInterval:  5 * time.Second,
			QueueLen:      1024,
			PacketInRate:  1000,
			PacketInBurst: 250,
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
		Apps: Apps{
			Learning: Learning{
				IdleTimeout: 300 * time.Second,
				FlapMoves:   4,
				FlapWindow:  10 * time.Second,
			},
			ProxyARP: ProxyARP{Enabled: true, Aging: 20 * time.Minute},
		},
	}
}

// Load reads and validates the file at path. Errors name the file, the
// field and, where known, the line.
func Load(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read config: %w", err)
	}
	cfg, err := Parse(data)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

// Parse decodes YAML data over Default and validates the result. Unknown
// fields are errors.
func Parse(data []byte) (Config, error) {
	cfg := Default()
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return Config{}, fmt.Errorf("parse config: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, errEOF) {
		return Config{}, fmt.Errorf("parse config: %w", err)
	}
	if err := cfg.validate(); err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			fe.Line = lineOf(&root, fe.path)
		}
		return Config{}, err
	}
	return cfg, nil
}

// errEOF is what yaml.v3 returns for an empty document.
var errEOF = func() error {
	err := yaml.NewDecoder(bytes.NewReader(nil)).Decode(&struct{}{})
	return err
}()

// Marshal renders cfg as YAML, the form Load reads back.
func Marshal(cfg Config) ([]byte, error) {
	return yaml.Marshal(cfg)
}
