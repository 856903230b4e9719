package lab

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"path/filepath"
	"regexp"
)

// Options describe a lab to bring up.
type Options struct {
	// Dir holds the state file, the generated ovsmesh.yaml and one
	// directory per host (db, sockets, pid files, logs). Required; made
	// absolute by Up. Unix socket paths under it must stay below 100 bytes.
	Dir string `json:"dir"`
	// Prefix starts every namespace and root-namespace link name, so two
	// labs (or a lab and a leftover) do not collide: 1 to 10 lower-case
	// letters and digits, starting with a letter. Default "om".
	Prefix string `json:"prefix"`
	// Hosts is the number of host namespaces, 1 to 250 (host I gets
	// the management address 198.19.Slot.I and the underlay address
	// 198.18.0.I, so a slot's /24 bounds it).
	Hosts int `json:"hosts"`
	// Guests is the number of guests per host at start, 0 to 32.
	Guests int `json:"guests"`
	// Tunnel is written into ovsmesh.yaml: "vxlan" (default) or "gre".
	Tunnel string `json:"tunnel"`
	// LXC puts each host's guests on a Linux bridge lxcbr0 patched into
	// the mesh bridge by one veth pair.
	LXC bool `json:"lxc"`
	// PreBridge makes Up create the mesh bridge (datapath_type=netdev, no
	// other settings) on every host, for tests of adopting a pre-made
	// bridge.
	PreBridge bool `json:"pre_bridge"`
	// Outside adds an "outside" namespace for NAT tests (see OutsideNS),
	// joined by a veth pair to the last host, whose end NATExternalPort
	// is left for ovsmesh to add to the mesh bridge; gives every guest a
	// default route via NATRouterIP; and writes a nat section naming the
	// last host as the gateway into ovsmesh.yaml. That section needs the
	// NAT app: without it the controller refuses the file.
	Outside bool `json:"outside"`
	// Slot selects the management subnet: 0 (default) is 198.19.0.0/16
	// with the controller at 198.19.255.254; 1 to 250 is 198.19.Slot.0/24
	// with the controller at 198.19.Slot.254. Labs that run at the same
	// time need different slots and prefixes.
	Slot int `json:"slot"`
	// TLS brings the lab up with TLS on OpenFlow and OVSDB: a CA and the
	// controller's certificate in DIR/pki (PKIDir), a certificate per
	// host in its directory (Host.TLSFiles) named in its SSL row,
	// ovsdb-server on pssl: with its SSL options from that row, and an
	// ovsmesh.yaml with the tls section, an ssl: listener and target,
	// ssl: OVSDB addresses and each host's tls paths.
	TLS bool `json:"tls"`
	// Logger receives progress at debug level; nil discards.
	Logger *slog.Logger `json:"-"`
}

const (
	// GuestMTU is the MTU in bytes of every guest's eth0; it fits VXLAN
	// and GRE over a 1500-byte underlay.
	GuestMTU = 1450
	// MeshBridge is the mesh bridge name the lab writes into ovsmesh.yaml
	// and attaches guests to.
	MeshBridge = "br-int"
	// OVSDBPort is the TCP port every host's ovsdb-server listens on.
	OVSDBPort = 6640
	// OpenFlowPort is the controller port written into the targets.
	OpenFlowPort = 6653
	// APIPort is the port of the API listener written into ovsmesh.yaml,
	// on the controller address.
	APIPort = 9633

	maxHosts  = 250
	maxGuests = 32
	// maxGuestNumber bounds J in guest names hIgJ (AddGuest can exceed
	// maxGuests).
	maxGuestNumber = 250
	ulNSName       = "ul"
	ulBridge       = "ulbr"
	mgmtIf         = "mgmt0"
	ulIf           = "ul0"
	phyBridge      = "br-phy"
	lxcBridge      = "lxcbr0"
	lxcOVS         = "lxc-ovs"
	lxcBr          = "lxc-br"
)

var prefixRE = regexp.MustCompile(`^[a-z][a-z0-9]{0,9}$`)

func (o *Options) setDefaults() error {
	if o.Dir == "" {
		return fmt.Errorf("lab options: dir is required")
	}
	abs, err := filepath.Abs(o.Dir)
	if err != nil {
		return fmt.Errorf("lab options: dir %q: %w", o.Dir, err)
	}
	o.Dir = abs
	if o.Prefix == "" {
		o.Prefix = "om"
	}
	if o.Tunnel == "" {
		o.Tunnel = "vxlan"
	}
	return o.validate()
}

func (o *Options) validate() error {
	switch {
	case !prefixRE.MatchString(o.Prefix):
		return fmt.Errorf("lab options: prefix %q: want 1 to 10 lower-case letters and digits, starting with a letter", o.Prefix)
	case o.Hosts < 1 || o.Hosts > maxHosts:
		return fmt.Errorf("lab options: hosts %d: want 1 to %d", o.Hosts, maxHosts)
	case o.Guests < 0 || o.Guests > maxGuests:
		return fmt.Errorf("lab options: guests %d: want 0 to %d per host", o.Guests, maxGuests)
	case o.Tunnel != "vxlan" && o.Tunnel != "gre":
		return fmt.Errorf("lab options: tunnel %q: want vxlan or gre", o.Tunnel)
	case o.Slot < 0 || o.Slot > 250:
		return fmt.Errorf("lab options: slot %d: want 0 to 250", o.Slot)
	}
	// The longest unix socket is DIR/hNNN/vswitchd.ctl or a bridge's .mgmt.
	if n := len(filepath.Join(o.Dir, hostName(maxHosts), "br-phy.snoop")); n > 100 {
		return fmt.Errorf("lab options: dir %q is too long for unix socket paths (%d bytes, limit 100)", o.Dir, n)
	}
	return nil
}

// mgmtNet returns the management subnet prefix of a slot.
func mgmtNet(slot int) netip.Prefix {
	if slot == 0 {
		return netip.MustParsePrefix("198.19.0.0/16")
	}
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 19, byte(slot), 0}), 24)
}

// ControllerIP returns the root-namespace management address of a slot,
// where the controller listens.
func ControllerIP(slot int) netip.Addr {
	if slot == 0 {
		return netip.MustParseAddr("198.19.255.254")
	}
	return netip.AddrFrom4([4]byte{198, 19, byte(slot), 254})
}

// MgmtIP returns host i's (1-based) management address in a slot.
func MgmtIP(slot, i int) netip.Addr {
	return netip.AddrFrom4([4]byte{198, 19, byte(slot), byte(i)})
}

// UnderlayIP returns host i's (1-based) underlay (tunnel) address,
// 198.18.0.i; every lab has its own underlay namespace, so slots share it.
func UnderlayIP(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{198, 18, 0, byte(i)})
}

// GuestIP returns the overlay address 10.0.h.g of guest g (1-based) first
// created on host h (1-based). All guests share 10.0.0.0/8.
func GuestIP(h, g int) netip.Addr {
	return netip.AddrFrom4([4]byte{10, 0, byte(h), byte(g)})
}

// GuestMAC returns the MAC 02:00:00:00:hh:gg of guest g first created on
// host h.
func GuestMAC(h, g int) net.HardwareAddr {
	return net.HardwareAddr{0x02, 0, 0, 0, byte(h), byte(g)}
}

// phyMAC is the deterministic MAC of host i's br-phy.
func phyMAC(i int) net.HardwareAddr {
	return net.HardwareAddr{0x02, 0x18, 0, 0, 0, byte(i)}
}

func hostName(i int) string                    { return fmt.Sprintf("h%d", i) }
func guestName(h, g int) string                { return fmt.Sprintf("h%dg%d", h, g) }
func guestPort(guest string) string            { return "v-" + guest }
func nsName(prefix, s string) string           { return prefix + "-" + s }
func mgmtBridgeName(prefix string) string      { return prefix + "mgmt" }
func mgmtLinkName(prefix string, i int) string { return fmt.Sprintf("%sm%d", prefix, i) }
