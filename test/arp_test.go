//go:build integration

package test

import (
	"context"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ovsmesh/ovsmesh/apps/proxyarp"
	"github.com/ovsmesh/ovsmesh/lab"
)

// TestProxyARP checks apps/proxyarp on real OVS, once per tunnel type, on
// a lab of 3 hosts × 2 guests: after a warm-up no ARP crosses the
// underlay and no ARP packet-in reaches the controller; a request for a
// never-seen IP crosses each tunnel at most once and is answered; an IP
// taken over by another guest (old guest gone) is answered with the new
// MAC within 1 s everywhere; a spoofed gratuitous ARP changes nothing;
// malformed ARP and floods are dropped and counted with the packet-in
// path bounded; and apps.proxyarp.enabled=false falls back to flooding.
func TestProxyARP(t *testing.T) {
	for i, tun := range []string{"gre", "vxlan"} {
		t.Run(tun, func(t *testing.T) {
			testProxyARP(t, lab.Options{Prefix: "itp" + tun[:2], Slot: 231 + i, Hosts: 3, Guests: 2, Tunnel: tun})
		})
	}
}

func testProxyARP(t *testing.T, o lab.Options) {
	e := newEnv(t, o)
	// The lowest packet-in limit OVS takes, so that the flood test below
	// shows the switch holding packet-ins back.
	cfg := e.cfg
	cfg.OpenFlow.PacketInRate, cfg.OpenFlow.PacketInBurst = 100, 25
	e.writeConfig(t, cfg)
	hosts := e.hostNames()
	c := e.startController(t)
	e.waitMesh(t, 30*time.Second-time.Since(c.started), hosts, hosts)
	attach(t, e)
	e.waitConnected(t, 30*time.Second, hosts...)

	ok := t.Run("warm-up", func(t *testing.T) {
		ul := e.startUnderlayARPCapture(t)
		e.pingAll(t, e.guestNames())
		n, _ := ul.stop(t)
		// Sanity check of the capture filter: the first round resolves
		// remote guests through the underlay.
		if n == 0 {
			t.Fatalf("no encapsulated ARP on the underlay during the warm-up: the capture filter %q is wrong", ul.filter)
		}
		t.Logf("warm-up: %d encapsulated ARP frames on the underlay", n)
		e.waitBindings(t, e.guestNames())
	})
	if !ok {
		t.Fatal("no warm-up; the remaining subtests need it")
	}

	t.Run("zero-arp-after-warm-up", func(t *testing.T) {
		e.flushNeighbours(t)
		settle(t, e)
		before, arpBefore := e.metricSum(t, "ovsmesh_packet_ins_total"), e.metricSum(t, "ovsmesh_proxyarp_packet_ins_total")
		ul := e.startUnderlayARPCapture(t)
		e.arpingAll(t, e.guestNames())
		e.pingAll(t, e.guestNames())
		n, lines := ul.stop(t)
		after, arpAfter := e.metricSum(t, "ovsmesh_packet_ins_total"), e.metricSum(t, "ovsmesh_proxyarp_packet_ins_total")
		if n != 0 {
			t.Errorf("%d encapsulated ARP frames crossed the underlay after the warm-up; want 0:\n%s", n, strings.Join(lines, "\n"))
		}
		if arpAfter != arpBefore || after != before {
			t.Errorf("packet-ins during arping/ping of every pair after the warm-up: ARP %v -> %v, all %v -> %v; want none",
				arpBefore, arpAfter, before, after)
		}
		t.Logf("arping and ping of every ordered pair (neighbour caches flushed): 0 ARP on the underlay, packet-ins %v -> %v (ARP %v -> %v)",
			before, after, arpBefore, arpAfter)
	})

	t.Run("unknown-target", func(t *testing.T) {
		testUnknownTarget(t, e)
	})

	t.Run("ip-takeover", func(t *testing.T) {
		testTakeover(t, e)
	})

	t.Run("spoofed-gratuitous-arp", func(t *testing.T) {
		testSpoof(t, e)
	})

	t.Run("bad-input-and-floods", func(t *testing.T) {
		testBadARP(t, e)
	})

	t.Run("disabled-floods", func(t *testing.T) {
		testDisabled(t, e)
	})
}

// settle waits until the controller's packet-in counter stops moving
// (ARP and neighbour-cache traffic of earlier steps).
func settle(t *testing.T, e *env) {
	t.Helper()
	waitStable(t, 20*time.Second, 1500*time.Millisecond, "ovsmesh_packet_ins_total", func() (uint64, error) {
		return uint64(e.metricSum(t, "ovsmesh_packet_ins_total")), nil
	})
}

// ulCapture is one tcpdump per host port of the underlay bridge, each
// counting the encapsulated ARP frames that host sends.
type ulCapture struct {
	filter string
	caps   map[string]*lab.Capture
}

// encapARPFilter returns a pcap filter for tunnel packets sent by src
// whose inner frame is ARP: VXLAN (UDP 4789, inner EtherType at UDP
// offset 8+8+12) or GRE with a key (inner EtherType at IP payload offset
// 8+12).
func encapARPFilter(tunnel string, src netip.Addr) string {
	if tunnel == "gre" {
		return fmt.Sprintf("src host %s and ip proto 47 and ip[((ip[0]&0xf)<<2)+20:2] = 0x0806", src)
	}
	return fmt.Sprintf("src host %s and udp dst port 4789 and udp[28:2] = 0x0806", src)
}

func (e *env) startUnderlayARPCapture(t *testing.T) *ulCapture {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	t.Cleanup(cancel)
	u := &ulCapture{caps: map[string]*lab.Capture{}}
	for _, h := range e.lab.Hosts() {
		u.filter = encapARPFilter(e.cfg.Mesh.Tunnel, h.UnderlayIP)
		c, err := e.lab.StartCapture(ctx, e.lab.UnderlayNS(), e.lab.UnderlayPort(h.Name), u.filter)
		if err != nil {
			t.Fatal(err)
		}
		u.caps[h.Name] = c
	}
	return u
}

// stop stops every capture and returns the total and the lines, each
// prefixed with the sending host.
func (u *ulCapture) stop(t *testing.T) (int, []string) {
	t.Helper()
	total := 0
	var lines []string
	for h, c := range u.caps {
		n, err := c.Stop()
		if err != nil {
			t.Fatal(err)
		}
		total += n
		for _, l := range c.Lines() {
			lines = append(lines, h+": "+l)
		}
	}
	return total, lines
}

// guestNS runs argv in guest's namespace.
func (e *env) guestExec(ctx context.Context, guest string, argv ...string) (string, error) {
	g, err := e.lab.Guest(guest)
	if err != nil {
		return "", err
	}
	return e.lab.Exec(ctx, g.NS, argv...)
}

// flushNeighbours empties every guest's neighbour cache, so the next
// packets resolve their next hops with ARP again.
func (e *env) flushNeighbours(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, g := range e.guestNames() {
		if _, err := e.guestExec(ctx, g, "ip", "neigh", "flush", "all"); err != nil {
			t.Fatal(err)
		}
	}
}

var arpingMACRE = regexp.MustCompile(`(?i)from ([0-9a-f:]{17})`)

// arping sends one ARP request from guest for ip and returns the MAC of
// the first reply, waiting at most wait.
func (e *env) arping(ctx context.Context, guest string, ip netip.Addr, wait time.Duration) (net.HardwareAddr, string) {
	// -C 1: exit at the first reply.
	out, err := e.guestExec(ctx, guest, "arping", "-c", "1", "-C", "1", "-w", fmt.Sprintf("%.3f", wait.Seconds()), "-i", "eth0", ip.String())
	m := arpingMACRE.FindStringSubmatch(out)
	if m == nil {
		return nil, fmt.Sprintf("%v: %s", err, strings.TrimSpace(out))
	}
	mac, _ := net.ParseMAC(m[1])
	return mac, ""
}

// arpingAll arpings every other guest from every guest, in parallel per
// source, and checks each answer names the target's MAC. A pair whose
// single request goes unanswered within 1s is asked once more, as a
// guest's kernel would retry; the retries are logged.
func (e *env) arpingAll(t *testing.T, guests []string) {
	t.Helper()
	var retried atomic.Int32
	fails := e.eachPair(guests, func(ctx context.Context, src string, dst lab.Guest) string {
		mac, msg := e.arping(ctx, src, dst.IP, time.Second)
		if mac == nil {
			retried.Add(1)
			mac, msg = e.arping(ctx, src, dst.IP, time.Second)
		}
		if mac.String() != dst.MAC.String() {
			return fmt.Sprintf("got %v, want %s %s", mac, dst.MAC, msg)
		}
		return ""
	})
	if n := retried.Load(); n > 0 {
		t.Logf("%d of %d arpings went unanswered once and were retried", n, len(guests)*(len(guests)-1))
	}
	if len(fails) > 0 {
		t.Fatalf("%d arpings failed:\n%s", len(fails), strings.Join(fails, "\n"))
	}
}

// responderMAC returns the MAC host's responder flow for ip answers
// with, or "" when there is none.
func (e *env) responderMAC(ctx context.Context, host string, ip netip.Addr) (string, error) {
	fs, err := e.flowsOf(ctx, host)
	if err != nil {
		return "", err
	}
	for _, f := range fs {
		if f.table == int(proxyarp.TableARPResponder) && strings.Contains(f.match, "arp_tpa="+ip.String()+",") {
			if m := regexp.MustCompile(`set_field:([0-9a-f:]{17})->eth_src`).FindStringSubmatch(f.actions); m != nil {
				return m[1], nil
			}
		}
	}
	return "", nil
}

// waitBindings waits until every host has a responder for each guest,
// with its MAC.
func (e *env) waitBindings(t *testing.T, guests []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	poll(t, 10*time.Second, "a responder flow for every guest on every host", func() (bool, string) {
		for _, h := range e.hostNames() {
			for _, name := range guests {
				g, _ := e.lab.Guest(name)
				mac, err := e.responderMAC(ctx, h, g.IP)
				if err != nil {
					return false, err.Error()
				}
				if mac != g.MAC.String() {
					return false, fmt.Sprintf("%s: responder for %s answers %q, want %s", h, g.IP, mac, g.MAC)
				}
			}
		}
		return true, ""
	})
}

var tunnelDstRE = regexp.MustCompile(`> (198\.18\.0\.\d+)`)

// testUnknownTarget adds a guest that has never spoken and arpings it
// from h1g1: the request crosses each tunnel at most once, the reply
// reaches the asker, and every host then answers for the new IP.
func testUnknownTarget(t *testing.T, e *env) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	g, err := e.lab.AddGuest(ctx, "h3")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("added %s (%s, %s) on h3; it has not spoken", g.Name, g.IP, g.MAC)
	settle(t, e)
	ul := e.startUnderlayARPCapture(t)
	start := time.Now()
	mac, msg := e.arping(ctx, "h1g1", g.IP, 2*time.Second)
	took := time.Since(start)
	_, lines := ul.stop(t)
	if mac.String() != g.MAC.String() {
		t.Fatalf("h1g1 arping %s: got %v, want %s (%s)", g.IP, mac, g.MAC, msg)
	}
	t.Logf("h1g1 got %s's answer %s after %v", g.IP, mac, took.Round(time.Microsecond))
	// tcpdump prints VXLAN's inner frame on a line of its own: a request
	// belongs to the last outer header seen from the same host.
	perTunnel := map[string]int{}
	last := map[string]string{}
	for _, l := range lines {
		host := strings.SplitN(l, ":", 2)[0]
		if m := tunnelDstRE.FindStringSubmatch(l); m != nil {
			last[host] = m[1]
		}
		if strings.Contains(l, "Request") {
			if last[host] == "" {
				t.Errorf("cannot read the tunnel destination of %q", l)
				continue
			}
			perTunnel[host+"->"+last[host]]++
		}
	}
	for k, n := range perTunnel {
		if n > 1 {
			t.Errorf("the request crossed tunnel %s %d times; want at most once", k, n)
		}
	}
	if len(perTunnel) == 0 {
		t.Errorf("the request for the unknown %s never crossed a tunnel (lines: %q)", g.IP, lines)
	}
	t.Logf("request crossings per tunnel: %v; all encapsulated ARP: %q", perTunnel, lines)
	poll(t, 5*time.Second, "every host to carry a responder for "+g.IP.String(), func() (bool, string) {
		for _, h := range e.hostNames() {
			got, err := e.responderMAC(ctx, h, g.IP)
			if err != nil || got != g.MAC.String() {
				return false, fmt.Sprintf("%s: %q %v", h, got, err)
			}
		}
		return true, ""
	})
}

// arpFrame builds an Ethernet ARP frame (padded to 60 bytes).
func arpFrame(ethSrc, ethDst net.HardwareAddr, op uint16, sha net.HardwareAddr, spa netip.Addr, tha net.HardwareAddr, tpa netip.Addr) []byte {
	b := append(append([]byte{}, ethDst...), ethSrc...)
	b = append(b, 0x08, 0x06, 0, 1, 0x08, 0, 6, 4, byte(op>>8), byte(op))
	b = append(b, sha...)
	b = append(b, spa.AsSlice()...)
	b = append(b, tha...)
	b = append(b, tpa.AsSlice()...)
	for len(b) < 60 {
		b = append(b, 0)
	}
	return b
}

// sendFramesPy sends each frame given in hex count times on eth0.
const sendFramesPy = `import socket,sys,binascii
s=socket.socket(socket.AF_PACKET,socket.SOCK_RAW)
s.bind(("eth0",0))
fs=[binascii.unhexlify(h) for h in sys.argv[2:]]
for i in range(int(sys.argv[1])):
    for f in fs: s.send(f)
`

// sendFrames sends raw frames count times from guest's eth0.
func (e *env) sendFrames(t *testing.T, guest string, count int, frames ...[]byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	argv := []string{"python3", "-c", sendFramesPy, fmt.Sprint(count)}
	for _, f := range frames {
		argv = append(argv, hex.EncodeToString(f))
	}
	if out, err := e.guestExec(ctx, guest, argv...); err != nil {
		t.Fatalf("send frames from %s: %v %s", guest, err, out)
	}
}

var bcastMAC = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// gratuitous returns a gratuitous ARP request announcing ip at mac.
func gratuitous(mac net.HardwareAddr, ip netip.Addr) []byte {
	return arpFrame(mac, bcastMAC, 1, mac, ip, make(net.HardwareAddr, 6), ip)
}

// testTakeover removes h1g2 and gives its IP to h2g2, which announces
// it with a gratuitous ARP: every other guest must get h2g2's MAC for
// the IP within 1 s.
func testTakeover(t *testing.T, e *env) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	old, _ := e.lab.Guest("h1g2")
	heir, _ := e.lab.Guest("h2g2")
	if err := e.lab.RemoveGuest(ctx, old.Name); err != nil {
		t.Fatal(err)
	}
	// The binding goes with its port.
	poll(t, 5*time.Second, "the responders for "+old.IP.String()+" to go with h1g2's port", func() (bool, string) {
		for _, h := range e.hostNames() {
			if got, _ := e.responderMAC(ctx, h, old.IP); got != "" {
				return false, h + " still answers " + got
			}
		}
		return true, ""
	})
	if out, err := e.guestExec(ctx, heir.Name, "ip", "addr", "add", old.IP.String()+"/8", "dev", "eth0"); err != nil {
		t.Fatal(err, out)
	}
	changedBefore := e.metricSum(t, "ovsmesh_proxyarp_learned_total") + e.metricSum(t, "ovsmesh_proxyarp_changed_total")
	start := time.Now()
	e.sendFrames(t, heir.Name, 1, gratuitous(heir.MAC, old.IP))
	var mu sync.Mutex
	var fails []string
	var wg sync.WaitGroup
	for _, g := range e.lab.Guests() {
		if g.Name == heir.Name {
			continue
		}
		wg.Go(func() {
			// One request each, sent at once: the answer must be the
			// new MAC, within 1 s of the gratuitous ARP.
			for time.Since(start) < time.Second {
				mac, msg := e.arping(ctx, g.Name, old.IP, time.Second-time.Since(start))
				if mac.String() == heir.MAC.String() {
					t.Logf("%s got %s -> %s %v after the gratuitous ARP", g.Name, old.IP, mac, time.Since(start).Round(time.Millisecond))
					return
				}
				if mac != nil {
					mu.Lock()
					fails = append(fails, fmt.Sprintf("%s: answered with %s, want %s", g.Name, mac, heir.MAC))
					mu.Unlock()
					return
				}
				_ = msg
			}
			mu.Lock()
			fails = append(fails, fmt.Sprintf("%s: no answer for %s within 1s of the gratuitous ARP", g.Name, old.IP))
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(fails) > 0 {
		t.Errorf("after %s took over %s:\n%s", heir.Name, old.IP, strings.Join(fails, "\n"))
	}
	if d := e.metricSum(t, "ovsmesh_proxyarp_learned_total") + e.metricSum(t, "ovsmesh_proxyarp_changed_total") - changedBefore; d != 1 {
		t.Errorf("learned+changed grew by %v for one takeover, want 1", d)
	}
}

// testSpoof has h3g1 claim h2g1's IP with a gratuitous ARP: the claim is
// refused and counted, no other guest sees it, and every guest is still
// answered with h2g1's MAC.
func testSpoof(t *testing.T, e *env) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	victim, _ := e.lab.Guest("h2g1")
	spoofer, _ := e.lab.Guest("h3g1")
	witness, _ := e.lab.Guest("h1g1")
	settle(t, e)
	conflicts := e.metricSum(t, "ovsmesh_proxyarp_conflicts_total")
	capture, err := e.lab.StartCapture(ctx, witness.NS, "eth0", "arp and ether src "+spoofer.MAC.String())
	if err != nil {
		t.Fatal(err)
	}
	e.sendFrames(t, spoofer.Name, 1, gratuitous(spoofer.MAC, victim.IP))
	reply := arpFrame(spoofer.MAC, bcastMAC, 2, spoofer.MAC, victim.IP, bcastMAC, victim.IP)
	e.sendFrames(t, spoofer.Name, 1, reply)
	poll(t, 3*time.Second, "the conflict to be counted", func() (bool, string) {
		n := e.metricSum(t, "ovsmesh_proxyarp_conflicts_total")
		return n > conflicts, fmt.Sprint(n)
	})
	if n, _ := capture.Stop(); n != 0 {
		t.Errorf("%s saw %d ARP frames from the spoofer: %q", witness.Name, n, capture.Lines())
	}
	for _, g := range e.lab.Guests() {
		if g.Name == victim.Name || g.Name == spoofer.Name {
			continue
		}
		if mac, msg := e.arping(ctx, g.Name, victim.IP, time.Second); mac.String() != victim.MAC.String() {
			t.Errorf("%s arping %s after the spoof: %v, want %s (%s)", g.Name, victim.IP, mac, victim.MAC, msg)
		}
	}
	for _, h := range e.hostNames() {
		if got, _ := e.responderMAC(ctx, h, victim.IP); got != victim.MAC.String() {
			t.Errorf("%s: responder for %s answers %q after the spoof, want %s", h, victim.IP, got, victim.MAC)
		}
	}
	t.Logf("spoofed gratuitous ARP refused: conflicts %v -> %v", conflicts, e.metricSum(t, "ovsmesh_proxyarp_conflicts_total"))
}

// testBadARP sends malformed ARP and floods from h1g1 and checks nothing
// changed, the packet-in path stayed bounded and the controller lives.
func testBadARP(t *testing.T, e *env) {
	src, _ := e.lab.Guest("h1g1")
	victim, _ := e.lab.Guest("h2g1")
	settle(t, e)
	bindings := e.metricSum(t, "ovsmesh_arp_bindings")
	before := e.metricSum(t, "ovsmesh_packet_ins_total")
	good := arpFrame(src.MAC, bcastMAC, 1, src.MAC, src.IP, make(net.HardwareAddr, 6), victim.IP)
	mut := func(f func([]byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	// Malformed ARP: OVS leaves the ARP fields zero (sender 0.0.0.0) or
	// keeps a bad opcode; the ARP table drops both in the datapath.
	malformed := [][]byte{
		good[:20], // truncated in the ARP header
		good[:30], // truncated in the addresses
		mut(func(b []byte) []byte { b[18] = 8; return b }),                 // hln 8
		mut(func(b []byte) []byte { b[19] = 16; return b }),                // pln 16
		mut(func(b []byte) []byte { b[14], b[15] = 0, 6; return b }),       // hrd IEEE 802
		mut(func(b []byte) []byte { b[16], b[17] = 0x86, 0xdd; return b }), // pro IPv6
		mut(func(b []byte) []byte { b[20], b[21] = 0, 3; return b }),       // op 3 (RARP request)
		mut(func(b []byte) []byte { b[20], b[21] = 1, 1; return b }),       // op 0x0101
	}
	// Refused claims: each reaches the controller once, then is held off.
	claims := [][]byte{
		gratuitous(src.MAC, victim.IP), // a live binding's IP
		arpFrame(src.MAC, bcastMAC, 1, net.HardwareAddr{2, 0xee, 0, 0, 0, 1}, src.IP, make(net.HardwareAddr, 6), victim.IP), // eth_src != sha
		arpFrame(src.MAC, bcastMAC, 1, net.HardwareAddr{1, 0, 0x5e, 0, 0, 1}, src.IP, make(net.HardwareAddr, 6), victim.IP), // multicast sha
		arpFrame(src.MAC, bcastMAC, 2, src.MAC, netip.MustParseAddr("255.255.255.255"), src.MAC, victim.IP),                 // broadcast spa
	}
	const rounds = 500
	e.sendFrames(t, src.Name, rounds, malformed...)
	settle(t, e)
	mid, arpMid := e.metricSum(t, "ovsmesh_packet_ins_total"), e.metricSum(t, "ovsmesh_proxyarp_packet_ins_total")
	if mid != before {
		t.Errorf("%d malformed ARP frames caused %v packet-ins; want 0 (dropped in the datapath)", rounds*len(malformed), mid-before)
	}
	sendStart := time.Now()
	e.sendFrames(t, src.Name, rounds, claims...)
	sendTime := time.Since(sendStart)
	settle(t, e)
	settleTime := time.Since(sendStart)
	after, arpAfter := e.metricSum(t, "ovsmesh_packet_ins_total"), e.metricSum(t, "ovsmesh_proxyarp_packet_ins_total")
	sent := rounds * (len(malformed) + len(claims))
	// The copies of a claim that arrive while its hold flow is installed
	// and the datapath's cached flows are revalidated still reach the
	// controller; what bounds them is the switch's packet-in limit
	// (openflow.packet_in_rate and packet_in_burst in the Controller
	// rows): a token bucket of burst packets refilled at rate per second,
	// plus a queue of burst packets, over the time from the first frame
	// until the count settled (with 20% slack for timing).
	rate, burst := float64(e.cfg.OpenFlow.PacketInRate), float64(e.cfg.OpenFlow.PacketInBurst)
	limit := 2*burst + 1.2*rate*settleTime.Seconds() + 10
	if limit >= float64(rounds*len(claims)) {
		t.Fatalf("the claims took %v to settle: too slow for the packet-in limit to show", settleTime)
	}
	if d := arpAfter - arpMid; d > limit {
		t.Errorf("%d refused claims sent in %v caused %v ARP packet-ins; want at most %.0f (packet-in limit %v/s, burst %v)", rounds*len(claims), sendTime, d, limit, rate, burst)
	}
	if d := after - mid; d > limit {
		t.Errorf("%d refused claims caused %v packet-ins in all; want at most %v", rounds*len(claims), d, limit)
	}
	if n := e.metricSum(t, "ovsmesh_arp_bindings"); n != bindings {
		t.Errorf("bindings %v -> %v after bad ARP; want unchanged", bindings, n)
	}
	if c := e.current(); c.exited() {
		t.Fatalf("controller exited: %v", c.err)
	}
	t.Logf("%d bad ARP frames: %d malformed caused %v packet-ins, %d refused claims %v ARP packet-ins (%v in all); refused %v, conflicts %v; bindings unchanged (%v)",
		sent, rounds*len(malformed), mid-before, rounds*len(claims), arpAfter-arpMid, after-mid,
		e.metricSum(t, "ovsmesh_proxyarp_refused_total"), e.metricSum(t, "ovsmesh_proxyarp_conflicts_total"), bindings)
	// The sender's own ARP is not held off.
	e.flushNeighbours(t)
	e.arpingAll(t, e.guestNames())
}

// testDisabled restarts the controller with apps.proxyarp.enabled false:
// the responder flows go with the old generation and ARP is flooded, so
// every pair still resolves and pings.
func testDisabled(t *testing.T, e *env) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	e.current().stop(t)
	off := proxyarp.DefaultConfig()
	off.Enabled = false
	e.writeConfig(t, e.cfg.WithSection("apps.proxyarp", &off))
	e.startController(t)
	e.waitConnected(t, 30*time.Second, e.hostNames()...)
	poll(t, 20*time.Second, "every proxy ARP flow to be gone", func() (bool, string) {
		for _, h := range e.hostNames() {
			fs, err := e.flowsOf(ctx, h)
			if err != nil {
				return false, err.Error()
			}
			for _, f := range fs {
				if f.cookie.App() == proxyarp.ID {
					return false, h + ": " + f.line
				}
			}
		}
		return true, ""
	})
	e.flushNeighbours(t)
	e.arpingAll(t, e.guestNames())
	e.pingAll(t, e.guestNames())
}
