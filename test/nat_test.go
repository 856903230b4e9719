//go:build integration

package test

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ovsmesh/ovsmesh/apps/nat"
	"github.com/ovsmesh/ovsmesh/lab"
)

// natServer is a TCP and UDP server answering each connection or
// datagram with "PROTO from IP:PORT": what a server behind NAT sees.
const natServer = `import socket, sys, threading
host, port = sys.argv[1], int(sys.argv[2])
def tcp():
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind((host, port)); s.listen(64)
    while True:
        c, a = s.accept(); c.sendall(("tcp from %s:%d\n" % a).encode()); c.close()
def udp():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((host, port))
    while True:
        d, a = s.recvfrom(2048); s.sendto(("udp from %s:%d\n" % a).encode(), a)
threading.Thread(target=tcp, daemon=True).start()
print("ready", flush=True)
udp()
`

// natClient connects once and prints the server's line, or "ERR" and
// the exception (ConnectionRefusedError for an ICMP port unreachable,
// TimeoutError for silence).
const natClient = `import socket, sys
proto, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
try:
    if proto == "tcp":
        s = socket.create_connection((host, port), timeout=2); print(s.recv(200).decode().strip())
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2); s.connect((host, port)); s.send(b"x"); print(s.recv(200).decode().strip())
except Exception as e:
    print("ERR", type(e).__name__)
`

const natToken = "nat-test-token-0123456789"

// natEnv is a NAT lab: the env, the scripts and the gateway's name.
type natEnv struct {
	*env
	server, client string
	gateway        string
	tokenFile      string
}

// TestNAT shows issue 12 on a real lab: three hosts, the gateway (h3)
// with a guest of its own and an "outside" namespace on its external
// port. Guests on every host reach the outside by TCP, UDP and ICMP and
// are seen as the external IP; a closed outside port's ICMP error comes
// back; the outside reaches a guest through a forward and the guest
// sees the client; guests use the forward through the external IP
// (hairpin); a redirect serves its to_port to clients on every host;
// forwards added and deleted at runtime work within 1 s and change only
// their own flows; and a controller SIGKILL during a NAT'd TCP stream
// loses no byte, never stalls and leaves no stale flow.
func TestNAT(t *testing.T) {
	e := newNATEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out := e.lab.OutsideNS()
	far := lab.NATFarIP.String()
	ext := lab.NATExternalIP.Addr().String()
	e.serve(t, out, far, 7000)
	e.serve(t, e.guestNS(t, "h2g1"), "0.0.0.0", 80)
	e.serve(t, e.guestNS(t, "h2g1"), "0.0.0.0", 53)
	e.serve(t, e.guestNS(t, "h1g2"), "0.0.0.0", 25)
	clients := []string{"h1g1", "h2g2", "h3g1"} // one guest per host, h3 the gateway

	t.Run("masquerade", func(t *testing.T) {
		for _, g := range clients {
			if ok, out := e.ping(ctx, g, lab.NATFarIP, 3); !ok {
				t.Errorf("%s cannot ping the outside %s: %s", g, far, out)
			}
			for _, proto := range []string{"tcp", "udp"} {
				got := e.connect(ctx, t, e.guestNS(t, g), proto, far, 7000)
				if !strings.HasPrefix(got, proto+" from "+ext+":") {
					t.Errorf("%s %s to the outside: the server saw %q, want %s from the external IP %s", g, proto, got, proto, ext)
				}
			}
			if got := e.connect(ctx, t, e.guestNS(t, g), "udp", far, 7001); got != "ERR ConnectionRefusedError" {
				t.Errorf("%s udp to a closed outside port: %q, want the ICMP port unreachable (ConnectionRefusedError)", g, got)
			}
		}
	})
	t.Run("forward", func(t *testing.T) {
		for _, proto := range []string{"tcp", "udp"} {
			port := map[string]int{"tcp": 8080, "udp": 5353}[proto]
			got := e.connect(ctx, t, out, proto, ext, port)
			if want := proto + " from " + lab.NATNextHop.String() + ":"; !strings.HasPrefix(got, want) {
				t.Errorf("outside to %s %s:%d: %q, want the guest to see the client (%q)", proto, ext, port, got, want)
			}
		}
		before := e.natPath(t, "unforwarded_dropped")
		pins := e.metricSum(t, "ovsmesh_packet_ins_total")
		if got := e.connect(ctx, t, out, "tcp", ext, 9999); got != "ERR TimeoutError" {
			t.Errorf("outside to a port with no forward: %q, want silence (dropped)", got)
		}
		if after := e.natPath(t, "unforwarded_dropped"); after <= before {
			t.Errorf("unforwarded_dropped %d -> %d: the drop was not counted", before, after)
		}
		if d := e.metricSum(t, "ovsmesh_packet_ins_total") - pins; d != 0 {
			t.Errorf("%v packet-ins while the outside knocked on a closed port: want none", d)
		}
	})
	t.Run("hairpin", func(t *testing.T) {
		for _, g := range clients {
			got := e.connect(ctx, t, e.guestNS(t, g), "tcp", ext, 8080)
			if !strings.HasPrefix(got, "tcp from "+ext+":") {
				t.Errorf("%s to the forward through the external IP: %q, want it served (seen from the external IP)", g, got)
			}
		}
	})
	t.Run("redirect", func(t *testing.T) {
		target, _ := e.lab.Guest("h1g2")
		for _, g := range clients {
			src, _ := e.lab.Guest(g)
			got := e.connect(ctx, t, src.NS, "tcp", target.IP.String(), 80)
			if want := "tcp from " + src.IP.String() + ":"; !strings.HasPrefix(got, want) {
				t.Errorf("%s to %s:80: %q, want port 25's server (%q)", g, target.IP, got, want)
			}
		}
	})
	t.Run("runtime-forward", func(t *testing.T) { e.runtimeForward(ctx, t) })
	t.Run("restart-during-stream", func(t *testing.T) { e.restartDuringStream(ctx, t) })
}

// newNATEnv brings up the lab, configures NAT with one forward of each
// protocol to h2g1 and a redirect on h1g2, and waits for a working mesh.
func newNATEnv(t *testing.T) *natEnv {
	e := &natEnv{env: newEnv(t, lab.Options{Prefix: "itnat", Slot: 237, Hosts: 3, Guests: 2, Tunnel: "vxlan", Outside: true})}
	dir := t.TempDir()
	e.server, e.client = filepath.Join(dir, "server.py"), filepath.Join(dir, "client.py")
	e.tokenFile = filepath.Join(dir, "api.token")
	for path, body := range map[string]string{e.server: natServer, e.client: natClient, e.tokenFile: natToken + "\n"} {
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	hosts := e.hostNames()
	e.gateway = hosts[len(hosts)-1]
	h2g1, _ := e.lab.Guest("h2g1")
	h1g2, _ := e.lab.Guest("h1g2")
	nc := nat.DefaultConfig()
	nc.Gateway = e.gateway
	nc.External = nat.External{Port: lab.NATExternalPort, IP: lab.NATExternalIP, NextHop: lab.NATNextHop}
	nc.RouterIP = lab.NATRouterIP
	nc.Inside = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")} // the lab's guests
	nc.Forwards = []nat.Forward{
		{Proto: "tcp", Port: 8080, To: h2g1.IP.String() + ":80"},
		{Proto: "udp", Port: 5353, To: h2g1.IP.String() + ":53"},
	}
	nc.Redirects = []nat.Redirect{{Proto: "tcp", IP: h1g2.IP, Port: 80, ToPort: 25}}
	cfg := e.cfg.WithSection("nat", &nc)
	cfg.API.TokenFile = e.tokenFile
	e.writeConfig(t, cfg)
	c := e.startController(t)
	e.waitMesh(t, meshDeadline-time.Since(c.started), hosts, hosts)
	attach(t, e.env)
	e.waitConnected(t, 30*time.Second, hosts...)
	e.pingAll(t, e.guestNames())
	e.waitBindings(t, e.guestNames())
	poll(t, 10*time.Second, "the next hop resolved and the external port up", func() (bool, string) {
		st, err := e.natStatus()
		if err != nil {
			return false, err.Error()
		}
		return st.External.Up && st.NextHop.State == "resolved", fmt.Sprintf("%+v %+v", st.External, st.NextHop)
	})
	return e
}

// guestNS returns a guest's namespace.
func (e *natEnv) guestNS(t *testing.T, name string) string {
	t.Helper()
	g, err := e.lab.Guest(name)
	if err != nil {
		t.Fatal(err)
	}
	return g.NS
}

// serve runs the test server in ns on addr:port until the test ends,
// killed by pid.
func (e *natEnv) serve(t *testing.T, ns, addr string, port int) {
	t.Helper()
	cmd := exec.Command("ip", "netns", "exec", ns, "python3", e.server, addr, fmt.Sprint(port))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("server in %s: %v", ns, err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	waitLine(t, lineReader(stdout), 10*time.Second, "ready")
}

// connect runs the test client in ns and returns its line.
func (e *natEnv) connect(ctx context.Context, t *testing.T, ns, proto, host string, port int) string {
	t.Helper()
	out, err := e.lab.Exec(ctx, ns, "python3", e.client, proto, host, fmt.Sprint(port))
	if err != nil {
		return "ERR " + err.Error()
	}
	return strings.TrimSpace(out)
}

// natStatus reads GET /api/v1/nat.
func (e *natEnv) natStatus() (nat.Status, error) {
	var st nat.Status
	err := e.getJSON("/api/v1/nat", &st)
	return st, err
}

// natPath returns the packets counted by one of the fixed NAT paths.
func (e *natEnv) natPath(t *testing.T, name string) uint64 {
	t.Helper()
	st, err := e.natStatus()
	if err != nil {
		t.Fatal(err)
	}
	return st.Paths[name].Packets
}

// natCall makes a changing API call with the bearer token (the test
// talks to the API over the management address, not loopback).
func (e *natEnv) natCall(t *testing.T, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, e.api+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+natToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// gatewayFlows returns the gateway's flows as "table,priority,match
// actions" lines with cookies and counters left out, sorted.
func (e *natEnv) gatewayFlows(ctx context.Context, t *testing.T) []string {
	t.Helper()
	keys, err := e.flowKeys(ctx, e.gateway)
	if err != nil {
		t.Fatal(err)
	}
	return slices.Sorted(maps.Keys(keys))
}

// diff returns the lines only in a ("-") and only in b ("+").
func diff(a, b []string) []string {
	var out []string
	for _, l := range a {
		if !slices.Contains(b, l) {
			out = append(out, "- "+l)
		}
	}
	for _, l := range b {
		if !slices.Contains(a, l) {
			out = append(out, "+ "+l)
		}
	}
	return out
}

// runtimeForward adds a forward through the API and sees it work within
// a second, with one flow added on the gateway and nothing else changed
// anywhere; then deletes it, with the same checks.
func (e *natEnv) runtimeForward(ctx context.Context, t *testing.T) {
	out, ext := e.lab.OutsideNS(), lab.NATExternalIP.Addr().String()
	h2g1, _ := e.lab.Guest("h2g1")
	others := map[string][]string{}
	for _, h := range e.hostNames() {
		if h != e.gateway {
			keys, err := e.flowKeys(ctx, h)
			if err != nil {
				t.Fatal(err)
			}
			others[h] = slices.Sorted(maps.Keys(keys))
		}
	}
	before := e.gatewayFlows(ctx, t)
	if got := e.connect(ctx, t, out, "tcp", ext, 9090); got != "ERR TimeoutError" {
		t.Fatalf("before the forward: %q, want silence", got)
	}
	start := time.Now()
	code, body := e.natCall(t, "POST", "/api/v1/nat/forwards", fmt.Sprintf(`{"proto":"tcp","port":9090,"to":"%s:80"}`, h2g1.IP))
	if code != http.StatusCreated {
		t.Fatalf("POST forward: %d %s", code, body)
	}
	poll(t, time.Second, "the new forward serving the outside", func() (bool, string) {
		got := e.connect(ctx, t, out, "tcp", ext, 9090)
		return strings.HasPrefix(got, "tcp from "), got
	})
	t.Logf("forward tcp/9090 added through the API: served %v after the POST", time.Since(start).Round(time.Millisecond))
	added := diff(before, e.gatewayFlows(ctx, t))
	if len(added) != 1 || !strings.HasPrefix(added[0], "+ table=23,priority=200,") || !strings.Contains(added[0], "tp_dst=9090") {
		t.Errorf("the gateway's flow dump changed by %q, want one added flow of the forward", added)
	}
	for h, keys := range others {
		now, err := e.flowKeys(ctx, h)
		if err != nil {
			t.Fatal(err)
		}
		if d := diff(keys, slices.Sorted(maps.Keys(now))); len(d) != 0 {
			t.Errorf("%s's flows changed by %q when a forward was added", h, d)
		}
	}
	code, body = e.natCall(t, "DELETE", "/api/v1/nat/forwards?proto=tcp&port=9090", "")
	if code != http.StatusOK {
		t.Fatalf("DELETE forward: %d %s", code, body)
	}
	start = time.Now()
	took := poll(t, time.Second, "the deleted forward's flow gone from the gateway", func() (bool, string) {
		d := diff(before, e.gatewayFlows(ctx, t))
		return len(d) == 0, strings.Join(d, "; ")
	})
	if got := e.connect(ctx, t, out, "tcp", ext, 9090); got != "ERR TimeoutError" {
		t.Errorf("after the delete: %q, want silence (dropped)", got)
	}
	t.Logf("forward tcp/9090 deleted through the API: its flow gone %v after the DELETE (the gateway's flows as before the add), and the outside refused again", took.Round(time.Millisecond))
	code, body = e.natCall(t, "POST", "/api/v1/nat/forwards", `{"proto":"tcp","port":70000,"to":"10.0.2.1:80"}`)
	if code != http.StatusBadRequest || !strings.Contains(body, "port: 70000: want 1 to 65535") {
		t.Errorf("a bad forward: %d %s, want 400 naming the port", code, body)
	}
}

// streamSink accepts one TCP connection, counts the bytes until the
// sender's FIN, answers with the count and exits.
const streamSink = `import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(1)
print("ready", flush=True)
c, _ = s.accept(); n = 0
while True:
    b = c.recv(1 << 20)
    if not b: break
    n += len(b)
c.sendall(b"%d\n" % n); c.close()
`

// streamSender sends TOTAL bytes paced at RATE bytes/s in 64 KiB
// writes, closes its side and prints the bytes sent, the count the sink
// answers and the longest time one write took (a stall of the path shows
// there once the socket buffer is full).
const streamSender = `import socket, sys, time
host, port, total, rate = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
s = socket.create_connection((host, port), timeout=30)
chunk = b"x" * 65536; sent = 0; worst = 0.0; start = time.monotonic()
while sent < total:
    t = time.monotonic(); s.sendall(chunk[:min(len(chunk), total - sent)]); worst = max(worst, time.monotonic() - t)
    sent += min(len(chunk), total - sent)
    ahead = sent / rate - (time.monotonic() - start)
    if ahead > 0: time.sleep(ahead)
s.shutdown(socket.SHUT_WR)
print(sent, int(s.makefile().readline()), "%.3f" % worst, flush=True)
`

// restartDuringStream sends 200 MB over TCP from a guest to the outside
// through NAT at 25 MB/s (8 s), SIGKILLs the controller in the middle
// and starts a new one: the sink counts every byte sent (0 lost, counted
// by the sink itself up to the sender's FIN, not by a tool that stops
// counting with data in flight), no write waited more than 1 s (the
// conntrack state and the NAT flows stayed in the datapath), and only
// the new generation's flows remain.
func (e *natEnv) restartDuringStream(ctx context.Context, t *testing.T) {
	out := e.lab.OutsideNS()
	far := lab.NATFarIP.String()
	dir := t.TempDir()
	sink, sender := filepath.Join(dir, "sink.py"), filepath.Join(dir, "sender.py")
	for path, body := range map[string]string{sink: streamSink, sender: streamSender} {
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	srv := exec.Command("ip", "netns", "exec", out, "python3", sink, far, "5201")
	stdout, err := srv.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Process.Kill(); srv.Wait() })
	waitLine(t, lineReader(stdout), 10*time.Second, "ready")
	const total = 200_000_000
	g, _ := e.lab.Guest("h1g1")
	cli := exec.CommandContext(ctx, "ip", "netns", "exec", g.NS, "python3", sender, far, "5201", fmt.Sprint(total), "25e6")
	var res strings.Builder
	cli.Stdout, cli.Stderr = &res, &res
	if err := cli.Start(); err != nil {
		t.Fatal(err)
	}
	old := e.current()
	oldGen := old.generation(t)
	poll(t, 5*time.Second, "the stream flowing through the gateway", func() (bool, string) {
		return e.natPath(t, "masquerade_out") > 1000, "masquerade_out counters"
	})
	old.kill(t)
	c := e.startController(t)
	gen := c.generation(t)
	if err := cli.Wait(); err != nil {
		t.Fatalf("stream across a controller SIGKILL: %v\n%s", err, res.String())
	}
	var sent, received int
	var worst float64
	if _, err := fmt.Sscan(res.String(), &sent, &received, &worst); err != nil {
		t.Fatalf("sender's report %q: %v", res.String(), err)
	}
	if sent != total || received != sent {
		t.Errorf("TCP through NAT across a controller SIGKILL: sent %d bytes, the outside received %d", sent, received)
	}
	if worst > 1 {
		t.Errorf("TCP through NAT across a controller SIGKILL: a write waited %.3f s (the path stalled)", worst)
	}
	t.Logf("TCP through NAT across a controller SIGKILL (generation %d -> %d): %d bytes sent, %d received by the outside, longest write %.3f s",
		oldGen, gen, sent, received, worst)
	hosts := e.hostNames()
	e.waitConnected(t, 40*time.Second, hosts...)
	took := poll(t, 20*time.Second, "only the new generation's flows on every host", func() (bool, string) {
		var probs []string
		for _, h := range hosts {
			fs, err := e.flowsOf(ctx, h)
			if err != nil {
				return false, err.Error()
			}
			probs = append(probs, flowProblems(h, fs, uint16(gen))...)
		}
		return len(probs) == 0, strings.Join(probs, "; ")
	})
	t.Logf("after the restart: only generation %d flows (%v)", gen, took.Round(time.Millisecond))
	st, err := e.natStatus()
	if err != nil || len(st.Forwards) != 2 || st.NextHop.State != "resolved" {
		t.Errorf("NAT after the restart: %+v, %v", st, err)
	}
}
