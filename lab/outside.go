package lab

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/ovsmesh/ovsmesh/config"
)

// The NAT settings of a lab with Options.Outside (see the nat section
// Up writes into ovsmesh.yaml). They are fixed, like the other lab
// addresses; treat them as constants.
var (
	// NATRouterIP is the guests' default gateway in the overlay, inside
	// the guests' 10.0.0.0/8.
	NATRouterIP = netip.MustParseAddr("10.255.255.254")
	// NATInside is the prefix the NAT gateway masquerades: every guest.
	NATInside = netip.MustParsePrefix("10.0.0.0/8")
	// NATExternalIP is the gateway's outside address with its subnet.
	NATExternalIP = netip.MustParsePrefix("198.18.200.1/24")
	// NATNextHop is the outside namespace's address on the external
	// link: the gateway's next hop.
	NATNextHop = netip.MustParseAddr("198.18.200.254")
	// NATFarIP is an address on the outside namespace's loopback, a
	// "far" server reached through the next hop.
	NATFarIP = netip.MustParseAddr("198.18.201.1")
)

const (
	// NATExternalPort is the gateway host's end of the outside link,
	// left without addresses: ovsmesh adds it to the mesh bridge.
	NATExternalPort = "ext0"
	// NATZone is the conntrack zone written into the nat section.
	NATZone = 100
	// OutsideIf is the outside namespace's end of the outside link,
	// holding NATNextHop.
	OutsideIf = "eth0"

	outsideNSName = "out"
)

// NATSection is the nat section Up writes into ovsmesh.yaml for a lab
// with Options.Outside, in the shape of the NAT app's configuration
// (apps/nat.Config decodes it; the lab renders it without importing the
// app).
type NATSection struct {
	Gateway  string         `yaml:"gateway"`
	External NATExternal    `yaml:"external"`
	RouterIP netip.Addr     `yaml:"router_ip"`
	Inside   []netip.Prefix `yaml:"inside"`
	Zone     int            `yaml:"zone"`
}

// NATExternal is NATSection's external port.
type NATExternal struct {
	Port    string       `yaml:"port"`
	IP      netip.Prefix `yaml:"ip"`
	NextHop netip.Addr   `yaml:"next_hop"`
}

// natSectionPath is where the NAT app reads its section.
const natSectionPath = "nat"

// natSection returns the nat section of a lab whose last host is gateway.
func natSection(gateway string) *NATSection {
	return &NATSection{
		Gateway:  gateway,
		External: NATExternal{Port: NATExternalPort, IP: NATExternalIP, NextHop: NATNextHop},
		RouterIP: NATRouterIP,
		Inside:   []netip.Prefix{NATInside},
		Zone:     NATZone,
	}
}

// natSectionDecl lets config.Parse check a generated file with a nat
// section before the NAT app exists to declare it.
var natSectionDecl = config.Section{Path: natSectionPath, Default: func() any { return &NATSection{} }}

// OutsideNS returns the outside namespace of a lab brought up with
// Options.Outside, "" for one without. Its OutsideIf holds NATNextHop/24
// and its loopback NATFarIP; it has no default route (the gateway's
// NATExternalIP is on-link). Run servers there with Exec.
func (l *Lab) OutsideNS() string {
	o := l.Options()
	if !o.Outside {
		return ""
	}
	return nsName(o.Prefix, outsideNSName)
}

// Gateway returns the host the outside namespace hangs off (the last
// one), "" for a lab without Options.Outside.
func (l *Lab) Gateway() string {
	o := l.Options()
	if !o.Outside {
		return ""
	}
	return hostName(o.Hosts)
}

// upOutside creates the outside namespace and its veth pair to host h:
// NATExternalPort in h's namespace (up, no address, tx checksum offload
// off, as for guest ports) and OutsideIf in the outside namespace with
// NATNextHop/24 and NATFarIP/32 on its loopback (offloads off as in
// guests). Both ends get GuestMTU, so what the outside sends fits the
// tunnels to guests on other hosts.
func (l *Lab) upOutside(ctx context.Context, o Options, h Host) error {
	fail := func(what string, err error) error { return fmt.Errorf("lab up: outside: %s: %w", what, err) }
	ns := nsName(o.Prefix, outsideNSName)
	if err := l.addNS(ctx, ns); err != nil {
		return err
	}
	mtu := fmt.Sprint(GuestMTU)
	if err := ipCmd(ctx, ns, "link", "add", OutsideIf, "mtu", mtu, "type", "veth", "peer", "name", NATExternalPort, "mtu", mtu, "netns", h.NS); err != nil {
		return fail("veth", err)
	}
	if err := ipBatch(ctx, ns, "link set lo up",
		fmt.Sprintf("addr add %s/32 dev lo", NATFarIP),
		fmt.Sprintf("addr add %s/%d dev %s", NATNextHop, NATExternalIP.Bits(), OutsideIf),
		"link set "+OutsideIf+" up"); err != nil {
		return fail("addresses", err)
	}
	if err := offloadsOff(ctx, ns, OutsideIf, true); err != nil {
		return fail("offloads", err)
	}
	if err := offloadsOff(ctx, h.NS, NATExternalPort, false); err != nil {
		return fail("offloads", err)
	}
	if err := ipCmd(ctx, h.NS, "link", "set", NATExternalPort, "up"); err != nil {
		return fail("external port", err)
	}
	return nil
}
