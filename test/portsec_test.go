//go:build integration

package test

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ovsmesh/ovsmesh/apps/portsec"
	"github.com/ovsmesh/ovsmesh/lab"
	"github.com/ovsmesh/ovsmesh/topo"
)

// spoofMAC is a MAC no guest has.
var spoofMAC = net.HardwareAddr{0x02, 0x66, 0x66, 0x66, 0x66, 0x01}

// TestPortSecurity declares h1g1's port the way libvirt would, with
// ovs-vsctl on its host (external_ids:attached-mac, plus
// external_ids:ovsmesh-ips), and checks in the datapath of a real OVS
// lab that its guest can only send as itself: a spoofed source MAC, a
// spoofed ARP and a spoofed source IP reach no other guest and change no
// binding anywhere, legitimate traffic and DHCP discovery still pass,
// other guests cannot claim its MAC or IP, and every drop is counted by
// reason in GET /api/v1/portsec.
func TestPortSecurity(t *testing.T) {
	e := newEnv(t, lab.Options{Prefix: "itps", Slot: 239, Hosts: 3, Guests: 2, Tunnel: "vxlan"})
	// The API listens on the lab's management address, not loopback:
	// changes through it need the bearer token.
	withToken := e.cfg
	withToken.API.TokenFile = filepath.Join(e.lab.Dir(), "api.token")
	if err := os.WriteFile(withToken.API.TokenFile, []byte(portsecToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.writeConfig(t, withToken)
	hosts := e.hostNames()
	c := e.startController(t)
	e.waitMesh(t, meshDeadline-time.Since(c.started), hosts, hosts)
	attach(t, e)
	e.waitConnected(t, 30*time.Second, hosts...)
	e.pingAll(t, e.guestNames())
	e.waitBindings(t, e.guestNames())

	g, _ := e.lab.Guest("h1g1")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	if out, err := e.lab.VSCtl(ctx, g.Host, "set", "Interface", g.Port,
		"external_ids:attached-mac="+g.MAC.String(), "external_ids:ovsmesh-ips="+g.IP.String()); err != nil {
		t.Fatal(err, out)
	}
	took := e.waitDeclared(t, g)
	t.Logf("h1g1's port %s declared with ovs-vsctl: its checks in h1's datapath and %s static in the ARP table %v later",
		g.Port, g.IP, took.Round(time.Millisecond))
	if took > 0 {
		t.Logf("(%v from the ovs-vsctl call)", time.Since(start).Round(time.Millisecond))
	}

	t.Run("legit-traffic", func(t *testing.T) { testPortsecLegit(t, e, g) })
	t.Run("spoofed-mac", func(t *testing.T) { testSpoofedMAC(t, e, g) })
	t.Run("spoofed-arp", func(t *testing.T) { testSpoofedARP(t, e, g) })
	t.Run("spoofed-ip", func(t *testing.T) { testSpoofedIP(t, e, g) })
	t.Run("dhcp-discovery", func(t *testing.T) { testDHCPDiscovery(t, e, g) })
	t.Run("claims-from-others", func(t *testing.T) { testClaims(t, e, g) })
	t.Run("counters", func(t *testing.T) { testPortsecCounters(t, e, g) })
	t.Run("restart", func(t *testing.T) { testPortsecRestart(t, e, g) })
	t.Run("api-declared", func(t *testing.T) { testAPIDeclared(t, e) })
	t.Run("undeclared", func(t *testing.T) { testUndeclared(t, e, g) })
}

// portsecToken is the API token of TestPortSecurity's controller.
const portsecToken = "portsec-test-token-0123456789"

// portsecStatus fetches GET /api/v1/portsec.
func (e *env) portsecStatus(t *testing.T) portsec.Status {
	t.Helper()
	var st portsec.Status
	if err := e.getJSON("/api/v1/portsec", &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// portOf returns g's port in st, if declared.
// drops returns g's declared port's drop counters by reason.
func (e *env) drops(t *testing.T, g lab.Guest) map[string]uint64 {
	t.Helper()
	p, ok := portOf(e.portsecStatus(t), g)
	if !ok {
		t.Fatalf("%s's port is not declared", g.Name)
	}
	return p.Packets
}

// waitDrops polls until g's port has counted at least more drops of each
// reason since before: the frames were dropped in the datapath's
// port_security stage, so the checks that follow need no grace time.
func (e *env) waitDrops(t *testing.T, g lab.Guest, before, more map[string]uint64) {
	t.Helper()
	poll(t, 5*time.Second, fmt.Sprintf("%s's drops to grow by %v", g.Name, more), func() (bool, string) {
		now := e.drops(t, g)
		for r, n := range more {
			if now[r] < before[r]+n {
				return false, fmt.Sprintf("%v, before %v", now, before)
			}
		}
		return true, ""
	})
}

func portOf(st portsec.Status, g lab.Guest) (portsec.DeclaredPort, bool) {
	for _, p := range st.Ports {
		if p.Host == g.Host && p.Port == g.Port {
			return p, true
		}
	}
	return portsec.DeclaredPort{}, false
}

// waitDeclared waits until the API shows g's port declared by OVSDB and
// in force on its switch, h1's datapath holds its IPv4 check, and proxy
// ARP holds its IP as a static binding. It returns how long that took.
func (e *env) waitDeclared(t *testing.T, g lab.Guest) time.Duration {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return poll(t, 10*time.Second, g.Name+"'s port declared and in force", func() (bool, string) {
		p, ok := portOf(e.portsecStatus(t), g)
		if !ok || p.Source != "ovsdb" || !p.Active || p.OFPort == 0 || p.Mode != "mac+ip" || len(p.Enforced) != 1 {
			return false, fmt.Sprintf("port %+v %v", p, ok)
		}
		fs, err := e.flowsOf(ctx, g.Host)
		if err != nil {
			return false, err.Error()
		}
		if !slices.ContainsFunc(fs, func(f flow) bool {
			return f.table == int(portsec.TablePortSecurity) && f.priority == int(portsec.PrioAllow) && strings.Contains(f.match, "nw_src="+g.IP.String())
		}) {
			return false, "no IPv4 check in " + g.Host + "'s table 4"
		}
		var rows []struct {
			IP     string `json:"ip"`
			Static bool   `json:"static"`
		}
		if err := e.getJSON("/api/v1/arp", &rows); err != nil {
			return false, err.Error()
		}
		for _, r := range rows {
			if r.IP == g.IP.String() {
				return r.Static, fmt.Sprintf("binding %+v", r)
			}
		}
		return false, "no binding for " + g.IP.String()
	})
}

// captureOthers starts tcpdump with filter on eth0 of every guest but
// skip's; stop returns each guest's lines.
func (e *env) captureOthers(t *testing.T, skip, filter string) (stop func() map[string][]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	caps := map[string]*lab.Capture{}
	for _, o := range e.lab.Guests() {
		if o.Name == skip {
			continue
		}
		c, err := e.lab.StartCapture(ctx, o.NS, "eth0", filter)
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		caps[o.Name] = c
	}
	return func() map[string][]string {
		defer cancel()
		out := map[string][]string{}
		for name, c := range caps {
			if _, err := c.Stop(); err != nil {
				t.Fatal(err)
			}
			out[name] = c.Lines()
		}
		return out
	}
}

// count returns how many lines in each guest's capture contain every
// one of subs (guests with none are left out), and their sum.
func count(lines map[string][]string, subs ...string) (map[string]int, int) {
	per, total := map[string]int{}, 0
	for g, ls := range lines {
		for _, l := range ls {
			if !slices.ContainsFunc(subs, func(s string) bool { return !strings.Contains(l, s) }) {
				per[g]++
				total++
			}
		}
	}
	return per, total
}

// udpFrame builds an Ethernet/IPv4/UDP frame with a correct IP header
// checksum and no UDP checksum (allowed for IPv4, RFC 768).
func udpFrame(src, dst net.HardwareAddr, from, to netip.Addr, sport, dport uint16, payload []byte) []byte {
	b := append(append([]byte{}, dst...), src...)
	b = append(b, 0x08, 0x00)
	ip := []byte{0x45, 0, 0, 0, 0, 1, 0, 0, 64, 17, 0, 0}
	binary.BigEndian.PutUint16(ip[2:], uint16(20+8+len(payload)))
	ip = append(append(ip, from.AsSlice()...), to.AsSlice()...)
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(ip[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(ip[10:], ^uint16(sum))
	b = append(b, ip...)
	udp := []byte{0, 0, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint16(udp[0:], sport)
	binary.BigEndian.PutUint16(udp[2:], dport)
	binary.BigEndian.PutUint16(udp[4:], uint16(8+len(payload)))
	b = append(append(b, udp...), payload...)
	for len(b) < 60 {
		b = append(b, 0)
	}
	return b
}

// dhcpDiscover is a DHCPDISCOVER from mac (RFC 2131 §4.4.1): broadcast
// from 0.0.0.0:68 to 255.255.255.255:67.
func dhcpDiscover(mac net.HardwareAddr) []byte {
	bootp := make([]byte, 236)
	bootp[0], bootp[1], bootp[2] = 1, 1, 6                      // BOOTREQUEST, Ethernet, hlen 6
	copy(bootp[4:], []byte{0x4f, 0x56, 0x53, 0x4d})             // xid
	binary.BigEndian.PutUint16(bootp[10:], 0x8000)              // broadcast flag
	copy(bootp[28:], mac)                                       // chaddr
	opts := []byte{99, 130, 83, 99, 53, 1, 1, 55, 2, 1, 3, 255} // magic cookie, DHCPDISCOVER, parameter list, end
	return udpFrame(mac, bcastMAC, netip.AddrFrom4([4]byte{}), netip.AddrFrom4([4]byte{255, 255, 255, 255}), 68, 67, append(bootp, opts...))
}

// testPortsecLegit: the declared guest still talks: pings to and from
// every other guest, and its ARP is answered.
func testPortsecLegit(t *testing.T, e *env, g lab.Guest) {
	e.flushNeighbours(t)
	e.pingAll(t, e.guestNames())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	other, _ := e.lab.Guest("h2g1")
	if mac, msg := e.arping(ctx, g.Name, other.IP, time.Second); mac.String() != other.MAC.String() {
		t.Errorf("%s resolves %s to %v, want %s (%s)", g.Name, other.IP, mac, other.MAC, msg)
	}
}

// testSpoofedMAC: frames from h1g1 with another source MAC (an unknown
// one, and another guest's) reach no other guest, while the same frame
// from its own MAC reaches every one (the capture works); no MAC moves.
func testSpoofedMAC(t *testing.T, e *env, g lab.Guest) {
	victim, _ := e.lab.Guest("h2g2")
	macsBefore, err := e.macSet()
	if err != nil {
		t.Fatal(err)
	}
	stop := e.captureOthers(t, g.Name, "udp dst port 9")
	e.sendFrames(t, g.Name, 5,
		udpFrame(spoofMAC, bcastMAC, g.IP, netip.MustParseAddr("10.255.255.255"), 9, 9, []byte("spoof")),
		udpFrame(victim.MAC, bcastMAC, g.IP, netip.MustParseAddr("10.255.255.255"), 9, 9, []byte("steal")))
	e.sendFrames(t, g.Name, 1, udpFrame(g.MAC, bcastMAC, g.IP, netip.MustParseAddr("10.255.255.255"), 9, 9, []byte("legit")))
	lines := stop()
	_, spoofed := count(lines, spoofMAC.String())
	stolen, _ := count(lines, victim.MAC.String()+" >")
	legit, _ := count(lines, g.MAC.String()+" >")
	t.Logf("captured on the other guests: spoofed %d, with %s's MAC %v, legitimate control %v", spoofed, victim.Name, stolen, legit)
	if spoofed != 0 || len(stolen) != 0 {
		t.Errorf("spoofed source MACs reached other guests: %d with %s, %v with %s's MAC", spoofed, spoofMAC, stolen, victim.Name)
	}
	if len(legit) != len(lines) {
		t.Errorf("the control frame from %s's own MAC reached only %v of %d guests: the capture proves nothing", g.Name, legit, len(lines))
	}
	if after, _ := e.macSet(); !slices.Equal(after, macsBefore) {
		t.Errorf("the MAC table changed:\nbefore %v\nafter  %v", macsBefore, after)
	}
}

// responders returns, per host, the MAC its responder answers each
// guest's IP with.
func (e *env) responders(t *testing.T) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out := map[string]string{}
	for _, h := range e.hostNames() {
		for _, o := range e.lab.Guests() {
			mac, err := e.responderMAC(ctx, h, o.IP)
			if err != nil {
				t.Fatal(err)
			}
			out[h+" "+o.IP.String()] = mac
		}
	}
	return out
}

// testSpoofedARP: ARP from h1g1 claiming another guest's IP, naming
// another sender MAC, or answering for a third guest reaches no other
// guest and changes no binding: the ARP table and every host's
// responders are as before.
func testSpoofedARP(t *testing.T, e *env, g lab.Guest) {
	victim, _ := e.lab.Guest("h2g1")
	third, _ := e.lab.Guest("h3g1")
	asker, _ := e.lab.Guest("h1g2")
	arpBefore, err := e.arpSet()
	if err != nil {
		t.Fatal(err)
	}
	respBefore := e.responders(t)
	dropsBefore := e.drops(t, g)
	unused := netip.MustParseAddr("10.0.9.98")
	stop := e.captureOthers(t, g.Name, "arp")
	e.sendFrames(t, g.Name, 3,
		gratuitous(g.MAC, victim.IP), // its own MAC, the victim's IP
		arpFrame(g.MAC, bcastMAC, 1, spoofMAC, g.IP, make(net.HardwareAddr, 6), unused),            // its own IP, another sender MAC
		arpFrame(g.MAC, asker.MAC, 2, g.MAC, third.IP, asker.MAC, asker.IP),                        // a reply answering for the third guest
		arpFrame(spoofMAC, bcastMAC, 1, spoofMAC, victim.IP, make(net.HardwareAddr, 6), victim.IP)) // nothing its own
	lines := stop()
	_, claimVictim := count(lines, g.MAC.String()+" >", "tell "+victim.IP.String())
	_, otherSHA := count(lines, "who-has "+unused.String())
	_, claimThird := count(lines, third.IP.String()+" is-at")
	_, fromSpoof := count(lines, spoofMAC.String())
	t.Logf("ARP captured on the other guests: claiming %s %d, with another sender MAC %d, answering for %s %d, from %s %d",
		victim.IP, claimVictim, otherSHA, third.IP, claimThird, spoofMAC, fromSpoof)
	if claimVictim+otherSHA+claimThird+fromSpoof != 0 {
		t.Errorf("spoofed ARP reached other guests:\n%v", lines)
	}
	// Once the frames are counted as dropped in port_security (table 4),
	// no later stage saw them: nothing can reach the controller.
	e.waitDrops(t, g, dropsBefore, map[string]uint64{"arp": 9, "mac": 3})
	if after, _ := e.arpSet(); !slices.Equal(after, arpBefore) {
		t.Errorf("the ARP table changed:\nbefore %v\nafter  %v", arpBefore, after)
	}
	respAfter := e.responders(t)
	for k, v := range respBefore {
		if respAfter[k] != v {
			t.Errorf("responder %s answers %q, was %q", k, respAfter[k], v)
		}
	}
	t.Logf("ARP table (%d bindings) and %d host×IP responders unchanged", len(arpBefore), len(respBefore))
}

// testSpoofedIP: IPv4 from h1g1 with another source address (unused,
// another guest's, or inside an 802.1Q tag), and an IPv6 frame, reach
// no other guest; its own address does.
func testSpoofedIP(t *testing.T, e *env, g lab.Guest) {
	victim, _ := e.lab.Guest("h3g2")
	unused := netip.MustParseAddr("10.0.9.99")
	bcast := netip.MustParseAddr("10.255.255.255")
	tagged := netip.MustParseAddr("10.0.9.97")
	stop := e.captureOthers(t, g.Name, "udp dst port 9 or (ip6 and ether src "+g.MAC.String()+") or (vlan and udp dst port 9)")
	e.sendFrames(t, g.Name, 5,
		udpFrame(g.MAC, bcastMAC, unused, bcast, 9, 9, []byte("spoof")),
		udpFrame(g.MAC, bcastMAC, victim.IP, bcast, 9, 9, []byte("steal")),
		udpFrame(g.MAC, bcastMAC, netip.AddrFrom4([4]byte{}), netip.AddrFrom4([4]byte{255, 255, 255, 255}), 68, 9, []byte("not dhcp")),
		vlanTagged(udpFrame(g.MAC, bcastMAC, tagged, bcast, 9, 9, []byte("tagged"))),
		ipv6Frame(g.MAC))
	e.sendFrames(t, g.Name, 1, udpFrame(g.MAC, bcastMAC, g.IP, bcast, 9, 9, []byte("legit")))
	lines := stop()
	_, spoofed := count(lines, unused.String()+".9 >")
	_, stolen := count(lines, victim.IP.String()+".9 >")
	_, notDHCP := count(lines, "0.0.0.0.68 >")
	_, v6 := count(lines, "IPv6")
	_, inVLAN := count(lines, tagged.String()+".9 >")
	legit, _ := count(lines, g.IP.String()+".9 >")
	t.Logf("captured on the other guests: from %s %d, from %s's %s %d, 0.0.0.0:68 to port 9 %d, 802.1Q-tagged from %s %d, IPv6 %d, legitimate control %v",
		unused, spoofed, victim.Name, victim.IP, stolen, notDHCP, tagged, inVLAN, v6, legit)
	if spoofed+stolen+notDHCP+inVLAN+v6 != 0 {
		t.Errorf("spoofed packets reached other guests:\n%v", lines)
	}
	if len(legit) != len(lines) {
		t.Errorf("the control packet from %s reached only %v of %d guests", g.IP, legit, len(lines))
	}
}

// vlanTagged inserts an 802.1Q tag (VLAN 100) after frame's MACs.
func vlanTagged(frame []byte) []byte {
	return append(append(append([]byte{}, frame[:12]...), 0x81, 0x00, 0x00, 0x64), frame[12:]...)
}

// ipv6Frame is an IPv6 frame from mac (a bare header, next header 59:
// none).
func ipv6Frame(mac net.HardwareAddr) []byte {
	b := append(append([]byte{}, 0x33, 0x33, 0, 0, 0, 1), mac...)
	b = append(b, 0x86, 0xdd, 0x60, 0, 0, 0, 0, 0, 59, 64)
	b = append(b, net.ParseIP("fe80::1")...)
	b = append(b, net.ParseIP("ff02::1")...)
	for len(b) < 60 {
		b = append(b, 0)
	}
	return b
}

// testDHCPDiscovery: a DHCPDISCOVER from the declared guest (0.0.0.0:68
// to 255.255.255.255:67) reaches the other guests, as a DHCP server
// among them would need.
func testDHCPDiscovery(t *testing.T, e *env, g lab.Guest) {
	stop := e.captureOthers(t, g.Name, "udp dst port 67")
	e.sendFrames(t, g.Name, 1, dhcpDiscover(g.MAC))
	lines := stop()
	per, total := count(lines, "0.0.0.0.68 > 255.255.255.255.67")
	t.Logf("DHCPDISCOVER seen by %d of %d other guests (%d frames)", len(per), len(lines), total)
	if len(per) != len(lines) {
		t.Errorf("the DHCP discovery reached only %v of the %d other guests: %v", per, len(lines), lines)
	}
}

// testClaims: another guest (h3g1, undeclared) sending h1g1's MAC as
// its source, or ARP claiming h1g1's IP, is dropped on its own host:
// the MAC table and the ARP table keep h1g1 where it is.
func testClaims(t *testing.T, e *env, g lab.Guest) {
	attacker, _ := e.lab.Guest("h3g1")
	placeBefore := e.macPlace(t, g.MAC)
	dropsBefore := e.drops(t, g)
	stop := e.captureOthers(t, attacker.Name, "udp dst port 9 or arp")
	e.sendFrames(t, attacker.Name, 3,
		udpFrame(g.MAC, bcastMAC, g.IP, netip.MustParseAddr("10.255.255.255"), 9, 9, []byte("claim")),
		gratuitous(attacker.MAC, g.IP))
	lines := stop()
	_, claimed := count(lines, attacker.MAC.String()+" >", "tell "+g.IP.String())
	_, stolen := count(lines, g.MAC.String()+" >")
	t.Logf("from %s: frames with %s's MAC seen %d times, ARP claiming %s %d times", attacker.Name, g.Name, stolen, g.IP, claimed)
	if claimed+stolen != 0 {
		t.Errorf("claims of %s's MAC or IP reached other guests:\n%v", g.Name, lines)
	}
	e.waitDrops(t, g, dropsBefore, map[string]uint64{"claim": 6})
	if got := e.macPlace(t, g.MAC); got != placeBefore {
		t.Errorf("%s's MAC moved from %s to %s", g.Name, placeBefore, got)
	}
	if got := e.arpOf(t, g.IP); got != g.MAC.String() {
		t.Errorf("the ARP table binds %s to %s, want %s", g.IP, got, g.MAC)
	}
	e.pingAll(t, []string{g.Name, "h2g1"})
}

// testPortsecCounters: every drop above is counted by reason, for the
// declared port, in the API and on /metrics; the CLI prints them.
func testPortsecCounters(t *testing.T, e *env, g lab.Guest) {
	// What the subtests above sent: 10 + 3 frames with other MACs, 9
	// spoofed ARP, 20 spoofed IPv4 (5 of them tagged), 5 IPv6, one
	// DHCPDISCOVER, 3 + 3 claims from h3g1.
	want := map[string]uint64{"mac": 13, "arp": 9, "ip": 20, "other": 5, "dhcp": 1, "claim": 6}
	var p portsec.DeclaredPort
	poll(t, 5*time.Second, "the drop counters in GET /api/v1/portsec", func() (bool, string) {
		p, _ = portOf(e.portsecStatus(t), g)
		for r, n := range want {
			if p.Packets[r] < n {
				return false, fmt.Sprintf("%s: %d < %d (%v)", r, p.Packets[r], n, p.Packets)
			}
		}
		return true, ""
	})
	t.Logf("h1g1's counters: %v", p.Packets)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, e.bin, "portsec", "--api", strings.TrimPrefix(e.api, "http://")).CombinedOutput()
	if err != nil || !strings.Contains(string(out), g.Port) || !strings.Contains(string(out), "ovsdb") {
		t.Errorf("ovsmesh portsec: %v\n%s", err, out)
	}
	t.Logf("ovsmesh portsec:\n%s", out)
}

// testPortsecRestart: a controller killed and started again replays
// the port's checks under its new generation (the old ones deleted),
// and a spoofed source MAC is dropped and counted again.
func testPortsecRestart(t *testing.T, e *env, g lab.Guest) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	e.current().kill(t)
	c := e.startController(t)
	gen := c.generation(t)
	e.waitConnected(t, 40*time.Second, e.hostNames()...)
	took := poll(t, 20*time.Second, fmt.Sprintf("h1's port_security flows all of generation %d, the IPv4 check among them", gen), func() (bool, string) {
		fs, err := e.flowsOf(ctx, g.Host)
		if err != nil {
			return false, err.Error()
		}
		check := false
		for _, f := range fs {
			if f.table != int(portsec.TablePortSecurity) || f.priority == 0 {
				continue
			}
			if f.cookie.Generation() != uint16(gen) {
				return false, "stale: " + f.line
			}
			check = check || f.priority == int(portsec.PrioAllow) && strings.Contains(f.match, "nw_src="+g.IP.String())
		}
		return check, "no IPv4 check"
	})
	t.Logf("after the restart (generation %d), h1's checks replayed and the old ones gone in %v", gen, took.Round(time.Millisecond))
	// OVS keeps a flow's counters when an add replaces it (same table,
	// priority and match), so the replayed flows count on.
	before, _ := portOf(e.portsecStatus(t), g)
	stop := e.captureOthers(t, g.Name, "udp dst port 9")
	e.sendFrames(t, g.Name, 3, udpFrame(spoofMAC, bcastMAC, g.IP, netip.MustParseAddr("10.255.255.255"), 9, 9, []byte("spoof")))
	if _, n := count(stop(), spoofMAC.String()); n != 0 {
		t.Errorf("after the restart, %d spoofed frames reached other guests", n)
	}
	poll(t, 5*time.Second, "3 more mac drops counted by the replayed flows", func() (bool, string) {
		p, _ := portOf(e.portsecStatus(t), g)
		return p.Packets["mac"] == before.Packets["mac"]+3, fmt.Sprintf("before %v, now %v", before.Packets, p.Packets)
	})
	t.Logf("mac drops %d before the restart's spoofing, %d after: the replayed flows kept their counters", before.Packets["mac"], before.Packets["mac"]+3)
}

// testAPIDeclared: a port declared with `ovsmesh portsec add` (POST
// /api/v1/portsec/ports, with the bearer token: the API is not on
// loopback) is enforced the same way, and `ovsmesh portsec del` lifts
// it.
func testAPIDeclared(t *testing.T, e *env) {
	g, _ := e.lab.Guest("h2g2")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	apiAddr := strings.TrimPrefix(e.api, "http://")
	if out, err := exec.CommandContext(ctx, e.bin, "portsec", "add", g.Host, g.Port, g.MAC.String(), g.IP.String(), "--api", apiAddr, "--token-file", e.cfg.API.TokenFile).CombinedOutput(); err != nil {
		t.Fatalf("ovsmesh portsec add: %v\n%s", err, out)
	}
	poll(t, 5*time.Second, g.Name+"'s port declared through the API", func() (bool, string) {
		p, ok := portOf(e.portsecStatus(t), g)
		return ok && p.Source == "api" && p.Active && p.OFPort != 0, fmt.Sprintf("%+v", p)
	})
	stop := e.captureOthers(t, g.Name, "udp dst port 9")
	e.sendFrames(t, g.Name, 4, udpFrame(g.MAC, bcastMAC, netip.MustParseAddr("10.0.9.96"), netip.MustParseAddr("10.255.255.255"), 9, 9, []byte("spoof")))
	if _, n := count(stop(), "10.0.9.96"); n != 0 {
		t.Errorf("%d packets from a spoofed source reached other guests", n)
	}
	poll(t, 5*time.Second, "4 ip drops counted for "+g.Name, func() (bool, string) {
		p, _ := portOf(e.portsecStatus(t), g)
		return p.Packets["ip"] == 4, fmt.Sprint(p.Packets)
	})
	e.pingAll(t, []string{g.Name, "h1g2", "h3g1"})
	if out, err := exec.CommandContext(ctx, e.bin, "portsec", "del", g.Host, g.Port, "--api", apiAddr, "--token-file", e.cfg.API.TokenFile).CombinedOutput(); err != nil {
		t.Fatalf("ovsmesh portsec del: %v\n%s", err, out)
	}
	poll(t, 5*time.Second, g.Name+"'s declaration to go", func() (bool, string) {
		_, ok := portOf(e.portsecStatus(t), g)
		return !ok, "still declared"
	})
}

// testUndeclared: removing the keys lifts port security: the checks
// leave h1's datapath, the IP is no longer a static binding, and the
// guest still talks.
func testUndeclared(t *testing.T, e *env, g lab.Guest) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := e.lab.VSCtl(ctx, g.Host, "remove", "Interface", g.Port, "external_ids", topo.AttachedMACKey, topo.IPsKey); err != nil {
		t.Fatal(err, out)
	}
	poll(t, 10*time.Second, "h1g1's declaration and checks to go", func() (bool, string) {
		if _, ok := portOf(e.portsecStatus(t), g); ok {
			return false, "still declared"
		}
		fs, err := e.flowsOf(ctx, g.Host)
		if err != nil {
			return false, err.Error()
		}
		for _, f := range fs {
			if f.table == int(portsec.TablePortSecurity) && f.priority > 0 {
				return false, "table 4 still holds " + f.line
			}
		}
		return true, ""
	})
	e.pingAll(t, []string{g.Name, "h2g1", "h3g2"})
}
