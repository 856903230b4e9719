//go:build integration

package test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ovsmesh/ovsmesh/api"
	"github.com/ovsmesh/ovsmesh/apps/learning"
	"github.com/ovsmesh/ovsmesh/apps/nat"
	"github.com/ovsmesh/ovsmesh/apps/trace"
	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/lab"
)

// traceToken is the API token of TestTrace's controller: POST
// /api/v1/trace is a mutating route and the test reaches the API from
// the management network, not loopback.
const traceToken = "trace-test-token-0123456789"

// TestTrace follows packets across a 3-host lab with `ovsmesh trace`
// (issue 15): a probe between guests on different hosts lists every hop
// with decoded cookies, arrives at the right port and matches
// `ovs-appctl ofproto/trace` on each host; a dropped packet and an
// unknown destination get the right verdicts; no trace flow outlives a
// trace, nor a controller SIGKILLed mid-trace once the hard timeout has
// passed; and --explain agrees with the probe on a healthy mesh and
// disagrees, saying where, once a flow is deleted by hand.
func TestTrace(t *testing.T) {
	e := newEnv(t, lab.Options{Prefix: "ittr", Slot: 238, Hosts: 3, Guests: 2, Tunnel: "vxlan"})
	tokenFile := filepath.Join(e.lab.Dir(), "api.token")
	if err := os.WriteFile(tokenFile, []byte(traceToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tc := trace.DefaultConfig()
	tc.FlowTimeout, tc.StepTimeout = 5*time.Second, 2*time.Second
	nc := e.natOutside(t)
	cfg := e.cfg.WithSection("apps.trace", &tc).WithSection("nat", &nc)
	cfg.API.TokenFile = tokenFile
	e.writeConfig(t, cfg)
	hosts := e.hostNames()
	c := e.startController(t)
	e.waitMesh(t, meshDeadline-time.Since(c.started), hosts, hosts)
	attach(t, e)
	e.waitConnected(t, 30*time.Second, hosts...)
	e.pingAll(t, e.guestNames())
	e.waitBindings(t, e.guestNames())

	t.Run("cross-host", func(t *testing.T) { testTraceCrossHost(t, e) })
	t.Run("endpoint-forms", func(t *testing.T) { testTraceEndpoints(t, e) })
	t.Run("cli", func(t *testing.T) { testTraceCLI(t, e, tokenFile) })
	t.Run("arp-answered", func(t *testing.T) { testTraceARPAnswered(t, e) })
	t.Run("unknown-destination-flooded", func(t *testing.T) { testTraceFlooded(t, e) })
	t.Run("dropped", func(t *testing.T) { testTraceDropped(t, e) })
	t.Run("back-to-back", func(t *testing.T) { testTraceBackToBack(t, e) })
	t.Run("drift", func(t *testing.T) { testTraceDrift(t, e) })
	t.Run("nat", func(t *testing.T) { testTraceNAT(t, e, nc) })
	t.Run("sigkill-mid-trace", func(t *testing.T) { testTraceKilled(t, e, tc.FlowTimeout) })
}

// postTrace calls POST /api/v1/trace with the bearer token and returns
// the status and the body.
func (e *env) postTrace(t *testing.T, req trace.Request) (int, []byte) {
	t.Helper()
	data, _ := json.Marshal(req)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, e.api+trace.Path, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	hr.Header.Set("Authorization", "Bearer "+traceToken)
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatalf("POST %s: %v", trace.Path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// runTrace posts req, wants 200, and decodes the result.
func (e *env) runTrace(t *testing.T, req trace.Request) trace.Result {
	t.Helper()
	code, body := e.postTrace(t, req)
	if code != http.StatusOK {
		t.Fatalf("POST %s %+v: %d %s", trace.Path, req, code, body)
	}
	var res trace.Result
	if err := json.Unmarshal(body, &res); err != nil {
		t.Fatalf("decode the trace: %v\n%s", err, body)
	}
	var human bytes.Buffer
	trace.Render(&human, &res)
	t.Logf("trace %+v:\n%s", req, human.String())
	return res
}

// testTraceCrossHost traces an ICMP echo from h1g1 to h2g1 and checks
// every hop, the verdict, the agreement with the explanation, the
// comparison with ofproto/trace on both hosts, that no guest saw the
// probe and that no trace flow is left.
func testTraceCrossHost(t *testing.T, e *env) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	src, _ := e.lab.Guest("h1g1")
	dst, _ := e.lab.Guest("h2g1")
	capture := e.captureTagged(t, e.guestNames(), "ip[1] & 0xfc == 188")
	res := e.runTrace(t, trace.Request{Src: src.IP.String(), Dst: dst.IP.String()})
	tunnel := e.mustOFPort(t, ctx, "h1", "om-h2")
	dstPort := e.mustOFPort(t, ctx, "h2", dst.Port)
	checkVisits(t, res, []string{"h1<", "h2<h1"}, [][]uint8{localPath, tunnelPath})
	checkDecoded(t, res)
	if h := hopAt(res.Visits[0], "classify"); h.App != "learning" || h.Object != macLow32(src.MAC) {
		t.Errorf("h1 classify: app %s object %#x, want learning's flow of %s", h.App, h.Object, src.MAC)
	}
	if h := hopAt(res.Visits[0], "l2"); h.App != "learning" || h.Actions != fmt.Sprintf("output:%d", tunnel) {
		t.Errorf("h1 l2: app %s actions %s, want learning's output:%d (om-h2)", h.App, h.Actions, tunnel)
	}
	if len(res.Tunnels) != 1 || res.Tunnels[0].From != "h1" || res.Tunnels[0].To != "h2" || !res.Tunnels[0].Arrived ||
		res.Tunnels[0].Port != flowsPort(tunnel) || res.Tunnels[0].ByController {
		t.Errorf("tunnels %+v, want one crossing h1 -> h2 by om-h2 (port %d), by the switch", res.Tunnels, tunnel)
	}
	checkVerdicts(t, res, []string{fmt.Sprintf("delivered|h2|%d", dstPort)})
	if !res.Agree || res.Explanation == nil || res.Explanation.Verdict != res.Verdict {
		t.Errorf("the probe disagrees with the explanation on a healthy mesh: %v; explanation %+v", res.Disagreements, res.Explanation)
	}
	e.compareWithOfproto(t, ctx, res)
	e.waitNoTraceFlows(t)
	if got := capture(); len(got) > 0 {
		t.Errorf("guests captured the probe: %v", got)
	}
}

// testTraceEndpoints traces with SRC and DST given as HOST:PORT, MAC and
// IP, and checks requests that cannot be traced are refused with 400.
func testTraceEndpoints(t *testing.T, e *env) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	src, _ := e.lab.Guest("h1g1")
	dst, _ := e.lab.Guest("h3g2")
	dstPort := e.mustOFPort(t, ctx, "h3", dst.Port)
	for _, req := range []trace.Request{
		{Src: "h1:" + src.Port, Dst: dst.MAC.String()},
		{Src: src.MAC.String(), Dst: fmt.Sprintf("h3:%d", dstPort), Proto: "udp", Port: 53},
		{Src: src.IP.String(), Dst: dst.IP.String(), Proto: "tcp", Port: 443},
	} {
		res := e.runTrace(t, req)
		checkVerdicts(t, res, []string{fmt.Sprintf("delivered|h3|%d", dstPort)})
		if !res.Agree || res.Src.Host != "h1" || res.Dst.Host != "h3" || res.Dst.IP != dst.IP.String() {
			t.Errorf("%+v: agree %v (%v), src %+v, dst %+v", req, res.Agree, res.Disagreements, res.Src, res.Dst)
		}
	}
	for _, tc := range []struct {
		req  trace.Request
		code int
		msg  string
	}{
		{trace.Request{Src: "nosuchguest", Dst: dst.IP.String()}, 400, "HOST:PORT"},
		{trace.Request{Src: src.IP.String(), Dst: "10.99.99.99"}, 400, "--proto arp"},
		{trace.Request{Src: src.IP.String(), Dst: dst.IP.String(), Proto: "sctp"}, 400, "want icmp, tcp, udp or arp"},
		{trace.Request{Src: "h9:3", Dst: dst.IP.String()}, 400, "neither a configured host"},
	} {
		code, body := e.postTrace(t, tc.req)
		if code != tc.code || !strings.Contains(string(body), tc.msg) {
			t.Errorf("%+v: %d %s, want %d mentioning %q", tc.req, code, body, tc.code, tc.msg)
		}
	}
	e.waitNoTraceFlows(t)
}

// testTraceCLI runs `ovsmesh trace` for people, as JSON, and --explain.
func testTraceCLI(t *testing.T, e *env, tokenFile string) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	src, _ := e.lab.Guest("h2g2")
	dst, _ := e.lab.Guest("h3g1")
	addr := strings.TrimPrefix(e.api, "http://")
	base := []string{"trace", "--api", addr, "--token-file", tokenFile, src.IP.String(), dst.IP.String()}
	out, err := e.cli(ctx, base...)
	t.Logf("ovsmesh %s:\n%s", strings.Join(base, " "), out)
	if err != nil || !strings.Contains(out, "verdict: delivered to h3 port") || !strings.Contains(out, "explanation: agrees") ||
		!strings.Contains(out, "h3 (dpid") || !strings.Contains(out, "through the tunnel from h2") {
		t.Errorf("ovsmesh trace: %v\n%s", err, out)
	}
	out, err = e.cli(ctx, append(base, "-o", "json")...)
	var res trace.Result
	if err != nil || json.Unmarshal([]byte(out), &res) != nil || res.Mode != "probe" || len(res.HostsReached) != 2 {
		t.Errorf("ovsmesh trace -o json: %v\n%s", err, out)
	}
	out, err = e.cli(ctx, append(base, "--explain")...)
	if err != nil || !strings.Contains(out, "no switch touched") || !strings.Contains(out, "verdict: delivered to h3 port") ||
		!strings.Contains(out, "known source") {
		t.Errorf("ovsmesh trace --explain: %v\n%s", err, out)
	}
	if out, err := e.cli(ctx, "trace", "--api", addr, src.IP.String(), dst.IP.String()); err == nil || !strings.Contains(out, "loopback") {
		t.Errorf("ovsmesh trace without the token from the management network: %v\n%s", err, out)
	}
}

// testTraceARPAnswered traces an ARP request from h1g1 for h2g1's IP: the
// responder answers it on h1, back out of h1g1's port.
func testTraceARPAnswered(t *testing.T, e *env) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	src, _ := e.lab.Guest("h1g1")
	dst, _ := e.lab.Guest("h2g1")
	capture := e.captureTagged(t, e.guestNames(), tagARPFilter)
	res := e.runTrace(t, trace.Request{Src: src.MAC.String(), Dst: dst.IP.String(), Proto: "arp"})
	checkVisits(t, res, []string{"h1<"}, [][]uint8{{0, 4, 8, 10, 20, 27, 30, 31}})
	checkDecoded(t, res)
	checkVerdicts(t, res, []string{fmt.Sprintf("answered|h1|%d", e.mustOFPort(t, ctx, "h1", src.Port))})
	if h := hopAt(res.Visits[0], "arp_responder"); h.App != "proxyarp" || h.Object != ipObject(dst.IP.AsSlice()) {
		t.Errorf("h1 arp_responder: app %s object %#x, want proxyarp's responder for %s", h.App, h.Object, dst.IP)
	}
	if !res.Agree {
		t.Errorf("disagreements: %v", res.Disagreements)
	}
	e.compareWithOfproto(t, ctx, res)
	e.waitNoTraceFlows(t)
	if got := capture(); len(got) > 0 {
		t.Errorf("guests captured the probe: %v", got)
	}
}

// tagARPFilter is a tcpdump filter for ARP carrying the trace tag as its
// target hardware address (offset 32 of the frame).
const tagARPFilter = "arp and ether[32:4] == 0x0a550000 and ether[36:2] == 0x7ace"

// testTraceFlooded traces an ARP request for an IP nobody holds: the
// mesh floods it, and the probe follows every copy.
func testTraceFlooded(t *testing.T, e *env) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	src, _ := e.lab.Guest("h1g1")
	capture := e.captureTagged(t, e.guestNames(), tagARPFilter)
	res := e.runTrace(t, trace.Request{Src: src.IP.String(), Dst: "10.99.99.99", Proto: "arp"})
	checkVisits(t, res, []string{"h1<", "h2<h1", "h3<h1"}, [][]uint8{localPath, tunnelPath, tunnelPath})
	checkDecoded(t, res)
	port := func(h, g string) int { return e.mustOFPort(t, ctx, h, "v-"+g) }
	checkVerdicts(t, res, []string{
		"flooded|h1|" + portsText(port("h1", "h1g2")),
		"flooded|h2|" + portsText(port("h2", "h2g1"), port("h2", "h2g2")),
		"flooded|h3|" + portsText(port("h3", "h3g1"), port("h3", "h3g2")),
	})
	if reached := slices.Sorted(slices.Values(res.HostsReached)); !slices.Equal(reached, []string{"h1", "h2", "h3"}) {
		t.Errorf("hosts reached %v, want h1 h2 h3", res.HostsReached)
	}
	for _, c := range res.Tunnels {
		if !c.Arrived || !c.ByController || !c.Emulated {
			t.Errorf("crossing %+v: want arrived, emulated by the controller (an ARP probe's copy through a flood's tunnel bucket)", c)
		}
	}
	if !res.Agree {
		t.Errorf("disagreements: %v", res.Disagreements)
	}
	e.compareWithOfproto(t, ctx, res)
	e.waitNoTraceFlows(t)
	if got := capture(); len(got) > 0 {
		t.Errorf("guests captured the probe: %v", got)
	}
}

// testTraceDropped adds a drop flow by hand on h2 (cookie 0, not
// ovsmesh's): the probe says where and by what, and disagrees with the
// explanation.
func testTraceDropped(t *testing.T, e *env) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	src, _ := e.lab.Guest("h1g1")
	dst, _ := e.lab.Guest("h2g1")
	drop := fmt.Sprintf("table=%d,priority=500,dl_dst=%s", learning.TableL2, dst.MAC)
	if _, err := e.lab.OFCtl(ctx, "h2", "add-flow", lab.MeshBridge, drop+",actions=drop"); err != nil {
		t.Fatal(err)
	}
	defer e.lab.OFCtl(context.Background(), "h2", "--strict", "del-flows", lab.MeshBridge, drop)
	res := e.runTrace(t, trace.Request{Src: src.IP.String(), Dst: dst.IP.String(), Proto: "udp", Port: 5353})
	checkVerdicts(t, res, []string{"dropped|h2|"})
	last := res.Visits[len(res.Visits)-1]
	if h := last.Hops[len(last.Hops)-1]; last.Host != "h2" || h.Stage != "l2" || h.App != "none" || h.Priority != 500 || h.Outcome != "drop" {
		t.Errorf("the last hop %s %+v, want h2 l2, the foreign drop flow of priority 500", last.Host, h)
	}
	if res.Agree || !anyContains(res.Disagreements, "h2 (from h1) l2: the switch matched none") {
		t.Errorf("a foreign drop flow, yet agree %v: %v", res.Agree, res.Disagreements)
	}
	e.compareWithOfproto(t, ctx, res)
	e.waitNoTraceFlows(t)
}

// testTraceBackToBack runs 60 probes to one guest back to back: each
// host's datapath still holds the flows cached for the previous probe
// (their action a packet-in with that probe's cookie) when the next one
// arrives; none may be lost, and none may reach the guest.
func testTraceBackToBack(t *testing.T, e *env) {
	src, _ := e.lab.Guest("h1g2")
	dst, _ := e.lab.Guest("h3g2")
	capture := e.captureTagged(t, []string{dst.Name}, "ip[1] & 0xfc == 188")
	start := time.Now()
	var lost []string
	for i := range 60 {
		req := trace.Request{Src: src.IP.String(), Dst: dst.IP.String(), Proto: []string{"icmp", "udp", "tcp"}[i%3]}
		code, body := e.postTrace(t, req)
		var res trace.Result
		if code != http.StatusOK || json.Unmarshal(body, &res) != nil {
			t.Fatalf("probe %d: %d %s", i, code, body)
		}
		if !res.Agree {
			lost = append(lost, fmt.Sprintf("probe %d (%s): %s; warnings %v", i, req.Proto, res.Verdict, res.Warnings))
		}
	}
	t.Logf("60 probes in %v", time.Since(start).Round(time.Millisecond))
	if len(lost) > 0 {
		t.Errorf("%d of 60 probes disagree:\n%s", len(lost), strings.Join(lost, "\n"))
	}
	if got := capture(); len(got) > 0 {
		t.Errorf("the guest captured probes: %v", got)
	}
	e.waitNoTraceFlows(t)
}

// testTraceDrift deletes h1's flow towards h2g1 by hand: the probe is
// flooded where the controller expects it sent to h2, the disagreement
// is reported, and --explain, which reads no switch, still says h2.
func testTraceDrift(t *testing.T, e *env) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	src, _ := e.lab.Guest("h1g1")
	dst, _ := e.lab.Guest("h2g1")
	req := trace.Request{Src: src.IP.String(), Dst: dst.IP.String()}
	if res := e.runTrace(t, req); !res.Agree {
		t.Fatalf("before the deletion the probe disagrees already: %v", res.Disagreements)
	}
	if _, err := e.lab.OFCtl(ctx, "h1", "del-flows", lab.MeshBridge, fmt.Sprintf("table=%d,dl_dst=%s", learning.TableL2, dst.MAC)); err != nil {
		t.Fatal(err)
	}
	res := e.runTrace(t, req)
	if res.Agree || !anyContains(res.Disagreements, "h1 l2: the switch matched the table-miss entry") ||
		!anyContains(res.Disagreements, "the probe reached h3 (from h1)") {
		t.Errorf("after deleting h1's flow to %s: agree %v, disagreements %v", dst.MAC, res.Agree, res.Disagreements)
	}
	if !strings.Contains(res.Verdict, "flooded on h1") || res.Explanation == nil || !strings.Contains(res.Explanation.Verdict, "delivered to h2") {
		t.Errorf("verdict %q, explanation %+v", res.Verdict, res.Explanation)
	}
	expl := e.runTrace(t, trace.Request{Src: src.IP.String(), Dst: dst.IP.String(), Explain: true})
	if expl.Mode != "explain" || !strings.HasPrefix(expl.Verdict, "delivered to h2") {
		t.Errorf("--explain after the deletion: %s %q", expl.Mode, expl.Verdict)
	}
	e.compareWithOfproto(t, ctx, res)
	e.waitNoTraceFlows(t)
}

// Trace's NAT: h3 is the gateway, its outside interface ext0 a veth to
// the namespace natNS, which holds the next hop.
const (
	natNS       = "ittr-out"
	natNextHop  = "198.18.250.254"
	natExternal = "198.18.250.1"
	natRouterIP = "10.255.255.254"
)

// natOutside makes the gateway's outside: ext0 in h3's namespace, its
// peer in natNS holding the next hop's address, and returns the nat
// section that uses it (masquerade of 10.0.0.0/8 through h3).
func (e *env) natOutside(t *testing.T) nat.Config {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h3, err := e.lab.Host("h3")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", natNS).Run() })
	for _, argv := range [][]string{
		{"ip", "netns", "add", natNS},
		{"ip", "link", "add", "ittrext", "type", "veth", "peer", "name", "out0", "netns", natNS},
		{"ip", "link", "set", "ittrext", "netns", h3.NS, "name", "ext0"},
		{"ip", "-n", h3.NS, "link", "set", "ext0", "up"},
		{"ip", "netns", "exec", h3.NS, "ethtool", "-K", "ext0", "tx", "off"},
		{"ip", "-n", natNS, "link", "set", "lo", "up"},
		{"ip", "-n", natNS, "addr", "add", natNextHop + "/24", "dev", "out0"},
		{"ip", "-n", natNS, "link", "set", "out0", "up"},
		{"ip", "netns", "exec", natNS, "ethtool", "-K", "out0", "tx", "off"},
	} {
		if out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v %s", argv, err, out)
		}
	}
	nc := nat.DefaultConfig()
	nc.Gateway = "h3"
	nc.External = nat.External{Port: "ext0", IP: netip.MustParsePrefix(natExternal + "/24"), NextHop: netip.MustParseAddr(natNextHop)}
	nc.RouterIP, nc.Inside = netip.MustParseAddr(natRouterIP), []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	return nc
}

// testTraceNAT traces a ping from h1g1 to the next hop outside, through
// the NAT gateway h3: it crosses to h3, goes through conntrack there
// (the stages the switch runs for real, recirculations included), is
// seen with its source translated to the external address, and would
// leave by ext0, where it never arrives; the explanation agrees.
func testTraceNAT(t *testing.T, e *env, nc nat.Config) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// main's ovsdb side does not add the NAT app's port yet: add it the
	// way the lab plugs guests in.
	if _, err := e.lab.VSCtl(ctx, "h3", "--may-exist", "add-port", lab.MeshBridge, nc.External.Port); err != nil {
		t.Fatal(err)
	}
	src, _ := e.lab.Guest("h1g1")
	if _, err := e.lab.Exec(ctx, src.NS, "ip", "route", "add", "default", "via", natRouterIP); err != nil {
		t.Fatal(err)
	}
	defer e.lab.Exec(context.Background(), src.NS, "ip", "route", "del", "default")
	poll(t, 20*time.Second, "h1g1 pinging the next hop through the NAT gateway", func() (bool, string) {
		return e.ping(ctx, src.Name, netip.MustParseAddr(natNextHop), 1)
	})
	capture := exec.Command("ip", "netns", "exec", natNS, "tcpdump", "-n", "-l", "-i", "out0", "ip[1] & 0xfc == 188")
	var captured bytes.Buffer
	capture.Stdout = &captured
	stderr, _ := capture.StderrPipe()
	if err := capture.Start(); err != nil {
		t.Fatal(err)
	}
	lines := lineReader(stderr)
	waitLine(t, lines, 5*time.Second, "listening on")
	routerMAC := net.HardwareAddr{0x0a, 0x55, 10, 255, 255, 254}
	res := e.runTrace(t, trace.Request{Src: src.IP.String(), Dst: natNextHop, DstMAC: routerMAC.String()})
	capture.Process.Signal(syscall.SIGINT)
	capture.Wait()
	if s := strings.TrimSpace(captured.String()); s != "" {
		t.Errorf("the outside saw the probe: %s", s)
	}
	ext := e.mustOFPort(t, ctx, "h3", "ext0")
	checkVerdicts(t, res, []string{fmt.Sprintf("delivered|h3|%d", ext)})
	if len(res.Visits) != 2 || res.Visits[1].Host != "h3" || res.Visits[1].From != "h1" {
		t.Fatalf("visits %+v, want h1 then h3 (the gateway)", res.Visits)
	}
	var stages []string
	translated := false
	for _, h := range res.Visits[1].Hops {
		stages = append(stages, h.Stage)
		for _, c := range h.Rewrites {
			translated = translated || c.Field == "nw_src" && c.From == src.IP.String() && c.To == natExternal
		}
	}
	if !slices.Contains(stages, "nat_route") || !slices.Contains(stages, "nat_out") || !translated {
		t.Errorf("h3 stages %v, source translated %v: want nat_route, nat_out and nw_src %s -> %s seen", stages, translated, src.IP, natExternal)
	}
	// The NAT app explains the masquerade path (apps/nat/explain.go), and
	// port security explains its stage: the controller's expectation
	// agrees with the probe, with no stage left to the switch's word.
	if !res.Agree || len(res.Warnings) > 0 {
		t.Errorf("NAT'd probe against the explanation: agree %v %v, warnings %v", res.Agree, res.Disagreements, res.Warnings)
	}
	// The topology page's source marks the gateway and draws this path.
	var topo api.Topology
	if err := e.getJSON("/api/v1/topology", &topo); err != nil {
		t.Fatal(err)
	}
	var path []string
	for _, h := range topo.Trace {
		path = append(path, h.Host)
	}
	if topo.NATGateway != "h3" || !slices.Equal(path, []string{"h1", "h3"}) {
		t.Errorf("/api/v1/topology: nat_gateway %q, trace %+v; want h3 and the path h1, h3", topo.NATGateway, topo.Trace)
	}
	e.waitNoTraceFlows(t)
}

// testTraceKilled SIGKILLs the controller while a probe waits for a
// crossing that cannot arrive (h2's underlay link is down): its flows
// are still on the switches right after, and gone once their hard
// timeout has passed.
func testTraceKilled(t *testing.T, e *env, flowTimeout time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ul, port := e.lab.UnderlayNS(), e.lab.UnderlayPort("h2")
	if _, err := e.lab.Exec(ctx, ul, "ip", "link", "set", port, "down"); err != nil {
		t.Fatal(err)
	}
	defer e.lab.Exec(context.Background(), ul, "ip", "link", "set", port, "up")
	src, _ := e.lab.Guest("h1g1")
	dst, _ := e.lab.Guest("h2g1")
	go func() {
		// The controller dies under this request: its answer does not matter.
		data, _ := json.Marshal(trace.Request{Src: src.IP.String(), Dst: dst.IP.String()})
		hr, _ := http.NewRequestWithContext(ctx, http.MethodPost, e.api+trace.Path, bytes.NewReader(data))
		hr.Header.Set("Authorization", "Bearer "+traceToken)
		if resp, err := http.DefaultClient.Do(hr); err == nil {
			resp.Body.Close()
		}
	}()
	var installed time.Time
	poll(t, 10*time.Second, "the probe's flows on h1", func() (bool, string) {
		left, err := e.traceFlowsLeft(ctx)
		if err != nil {
			return false, err.Error()
		}
		installed = time.Now()
		return len(left["h1"]) > 0, fmt.Sprint(left)
	})
	e.current().kill(t)
	left, err := e.traceFlowsLeft(ctx)
	if err != nil || len(left) == 0 {
		t.Fatalf("right after SIGKILL no trace flow is left (%v): the kill came after the probe", err)
	}
	t.Logf("trace flows after SIGKILL: %v", left)
	took := e.waitNoTraceFlows(t, flowTimeout+5*time.Second)
	since := time.Since(installed)
	t.Logf("trace flows gone %v after the kill, %v after they were seen installed (hard timeout %v)", took.Round(10*time.Millisecond), since.Round(10*time.Millisecond), flowTimeout)
	if since < flowTimeout-time.Second {
		t.Errorf("flows gone %v after install, before their hard timeout %v: who removed them?", since, flowTimeout)
	}
}

// localPath and tunnelPath are the tables a packet from a guest, and
// one from a tunnel, passes on its way to l2 in the lab's pipeline:
// ingress, port_security, nat_external, classify, nat, nat_router
// (internal: NAT's router MAC), arp, then arp_responder and
// nat_router_arp for a guest's packet (from a tunnel, arp goes to l2).
var (
	localPath  = []uint8{0, 4, 8, 10, 20, 27, 30, 31, 35, 40}
	tunnelPath = []uint8{0, 4, 8, 10, 20, 27, 30, 40}
)

// checkVisits checks the visits' hosts (HOST<FROM) and stage tables,
// the first visit first (the source), the others in any order (copies
// of a flood arrive in any order).
func checkVisits(t *testing.T, res trace.Result, want []string, tables [][]uint8) {
	t.Helper()
	var got, exp []string
	for _, v := range res.Visits {
		var ts []uint8
		for _, h := range v.Hops {
			ts = append(ts, h.Table)
		}
		got = append(got, fmt.Sprint(v.Host, "<", v.From, ts))
	}
	for i, w := range want {
		exp = append(exp, fmt.Sprint(w, tables[i]))
	}
	if len(got) > 1 {
		slices.Sort(got[1:])
	}
	if len(exp) > 1 {
		slices.Sort(exp[1:])
	}
	if !slices.Equal(got, exp) {
		t.Fatalf("visits %v, want %v", got, exp)
	}
}

// hopAt returns v's hop at stage (the zero Hop when v did not pass it).
func hopAt(v trace.Visit, stage string) trace.Hop {
	for _, h := range v.Hops {
		if h.Stage == stage {
			return h
		}
	}
	return trace.Hop{}
}

// checkDecoded checks every hop names its flow: a cookie, an app, and
// the flow's match and actions.
func checkDecoded(t *testing.T, res trace.Result) {
	t.Helper()
	for _, v := range res.Visits {
		for _, h := range v.Hops {
			if h.Cookie == "" || !slices.Contains([]string{"baseline", "learning", "proxyarp", "portsec", "nat"}, h.App) || h.Actions == "" || h.Stage == "" {
				t.Errorf("%s table %d: hop %+v does not name an ovsmesh flow", v.Host, h.Table, h)
			}
		}
	}
}

// checkVerdicts checks the verdicts as KIND|HOST|PORTS (ports sorted,
// comma-separated).
func checkVerdicts(t *testing.T, res trace.Result, want []string) {
	t.Helper()
	var got []string
	for _, v := range res.Verdicts {
		var ports []int
		for _, p := range v.Ports {
			ports = append(ports, int(p.OFPort))
		}
		got = append(got, v.Kind+"|"+v.Host+"|"+portsText(ports...))
	}
	slices.Sort(got)
	want = slices.Clone(want)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("verdicts %v, want %v (%s)", got, want, res.Verdict)
	}
}

// portsText renders port numbers sorted, comma-separated.
func portsText(ports ...int) string {
	ports = slices.Clone(ports)
	slices.Sort(ports)
	var s []string
	for _, p := range ports {
		s = append(s, strconv.Itoa(p))
	}
	return strings.Join(s, ",")
}

// compareWithOfproto replays every visit of a probe with ofproto/trace
// on its host and checks OVS goes through the same tables, matching the
// same flows (priority and cookie), with the same first action at the
// visit's last stage.
func (e *env) compareWithOfproto(t *testing.T, ctx context.Context, res trace.Result) {
	t.Helper()
	for _, v := range res.Visits {
		hops, out, err := e.ofprotoTrace(ctx, v.Host, v.Flow)
		if err != nil {
			t.Errorf("%s: ofproto/trace %s: %v\n%s", v.Host, v.Flow, err, out)
			continue
		}
		n := len(v.Hops)
		if len(hops) < n {
			t.Errorf("%s: ofproto/trace passes %d tables, the probe %d:\n%s", v.Host, len(hops), n, out)
			continue
		}
		for i, h := range v.Hops {
			o := hops[i]
			if o.table != int(h.Table) || o.priority != int(h.Priority) || o.cookie != h.Cookie {
				t.Errorf("%s hop %d: probe table %d priority %d cookie %s; ofproto/trace table %d priority %d cookie %s\n%s",
					v.Host, i, h.Table, h.Priority, h.Cookie, o.table, o.priority, o.cookie, out)
			}
		}
		last, o := v.Hops[n-1], hops[n-1]
		first, _, _ := strings.Cut(last.Actions, ",")
		if len(o.actions) == 0 || o.actions[0] != first {
			t.Errorf("%s: the probe's last stage %s does %s; ofproto/trace: %v\n%s", v.Host, last.Stage, last.Actions, o.actions, out)
		}
		t.Logf("%s: ofproto/trace %s agrees with the probe on %d tables", v.Host, v.Flow, n)
	}
}

// waitNoTraceFlows polls every host until no trace flow is left, within
// timeout (3s when 0: the probe deletes them when it ends, without
// waiting), and returns how long it took.
func (e *env) waitNoTraceFlows(t *testing.T, timeout ...time.Duration) time.Duration {
	t.Helper()
	wait := 3 * time.Second
	if len(timeout) > 0 {
		wait = timeout[0]
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait+5*time.Second)
	defer cancel()
	return poll(t, wait, "no trace flow left on any host", func() (bool, string) {
		left, err := e.traceFlowsLeft(ctx)
		if err != nil {
			return false, err.Error()
		}
		return len(left) == 0, fmt.Sprint(left)
	})
}

// captureTagged starts tcpdump with filter in each guest and returns a
// function that stops the captures and returns, per guest, the packets
// that matched (none is what a probe must leave).
func (e *env) captureTagged(t *testing.T, guests []string, filter string) func() map[string]string {
	t.Helper()
	type capture struct {
		cmd *exec.Cmd
		out *bytes.Buffer
	}
	caps := map[string]capture{}
	for _, name := range guests {
		g, err := e.lab.Guest(name)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("ip", "netns", "exec", g.NS, "tcpdump", "-n", "-l", "-e", "-i", "eth0", filter)
		var out bytes.Buffer
		cmd.Stdout = &out
		stderr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatalf("tcpdump in %s: %v", name, err)
		}
		lines := lineReader(stderr)
		waitLine(t, lines, 5*time.Second, "listening on")
		go func() {
			for range lines {
			}
		}()
		caps[name] = capture{cmd, &out}
	}
	return func() map[string]string {
		got := map[string]string{}
		for name, c := range caps {
			c.cmd.Process.Signal(syscall.SIGINT)
			c.cmd.Wait()
			if s := strings.TrimSpace(c.out.String()); s != "" {
				got[name] = s
			}
		}
		return got
	}
}

// mustOFPort returns the ofport of interface name on host.
func (e *env) mustOFPort(t *testing.T, ctx context.Context, host, name string) int {
	t.Helper()
	p, err := e.ofport(ctx, host, name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func flowsPort(p int) flows.OFPort { return flows.OFPort(p) }

// macLow32 is the learning app's cookie object of a MAC.
func macLow32(mac []byte) uint32 { return binary.BigEndian.Uint32(mac[2:6]) }

// ipObject is the proxy ARP app's cookie object of an IPv4 address.
func ipObject(ip []byte) uint32 { return binary.BigEndian.Uint32(ip) }

func anyContains(list []string, sub string) bool {
	for _, s := range list {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// traceFlowsLeft returns, per host, the trace app's flows on its switch.
func (e *env) traceFlowsLeft(ctx context.Context) (map[string][]string, error) {
	left := map[string][]string{}
	for _, h := range e.hostNames() {
		fs, err := e.flowsOf(ctx, h)
		if err != nil {
			return nil, err
		}
		for _, f := range fs {
			if f.cookie.App() == trace.ID {
				left[h] = append(left[h], f.line)
			}
		}
	}
	return left, nil
}

// ofprotoHop is one table of `ovs-appctl ofproto/trace` output: the
// table, the rule's priority and cookie, and its action lines.
type ofprotoHop struct {
	table, priority int
	cookie          string
	actions         []string
}

var ofprotoRuleRE = regexp.MustCompile(`^\s*(\d+)\. (.*)priority (\d+)(?:, cookie (0x[0-9a-f]+))?$`)

// ofprotoTrace runs ofproto/trace on host for flow and parses the rules
// of the bridge's tables (the first bridge("br-int") block).
func (e *env) ofprotoTrace(ctx context.Context, host, flow string) ([]ofprotoHop, string, error) {
	out, err := e.lab.AppCtl(ctx, host, "ofproto/trace", lab.MeshBridge, flow)
	if err != nil {
		return nil, out, err
	}
	var hops []ofprotoHop
	bridges := 0
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "bridge(") {
			if bridges++; bridges > 1 {
				break // a tunnel's underlay bridge (br-phy)
			}
		}
		if strings.HasPrefix(line, "Final flow") || strings.HasPrefix(line, "Datapath actions") {
			break
		}
		if m := ofprotoRuleRE.FindStringSubmatch(line); m != nil {
			tbl, _ := strconv.Atoi(m[1])
			prio, _ := strconv.Atoi(m[3])
			cookie := m[4]
			if cookie == "" {
				cookie = "0x0"
			}
			hops = append(hops, ofprotoHop{table: tbl, priority: prio, cookie: cookie})
			continue
		}
		if s := strings.TrimSpace(line); s != "" && len(hops) > 0 && !strings.HasPrefix(s, "->") && !strings.HasPrefix(s, "bridge(") && !strings.HasPrefix(s, "---") {
			hops[len(hops)-1].actions = append(hops[len(hops)-1].actions, s)
		}
	}
	return hops, out, nil
}
