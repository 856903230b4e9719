// Command natbench measures the NAT gateway (issue 12) against the same
// path routed without NAT, in the same run: a guest on h1 sends through
// the tunnel to the gateway h2, which sends it out of its external port
// to a server in the outside namespace. Two figures, each a ratio:
//
//   - iperf3 TCP throughput guest -> outside (target: NAT >= 0.95 x the
//     routed path);
//   - new TCP connections per second through the gateway (each
//     connection is opened and reset at once by 8 workers).
//
// The routed peer is ovsmesh's own pipeline with, on the gateway, two
// extra flows (cookie 0, priority 400) that forward the client's packets
// between the tunnel and the external port with the same Ethernet
// rewrites and dec_ttl as the NAT path, but no conntrack; the outside
// namespace routes the client's address back to the gateway. Phases
// alternate, NAT first.
//
// Run as root on a machine with Open vSwitch (make bench does):
//
//	go run ./test/natbench -ovsmesh bin/ovsmesh
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ovsmesh/ovsmesh/lab"
	"github.com/ovsmesh/ovsmesh/topo"
)

func main() {
	bin := flag.String("ovsmesh", "bin/ovsmesh", "ovsmesh binary")
	rounds := flag.Int("rounds", 7, "phases per peer (the median is reported; single phases swing by 2x on a 2-core machine)")
	secs := flag.Int("seconds", 5, "seconds per iperf3 run and per connection burst")
	slot := flag.Int("slot", 234, "lab slot (management subnet 198.19.SLOT.0/24)")
	connServer := flag.String("conn-server", "", "internal: accept and close TCP connections on this address")
	connClient := flag.String("conn-client", "", "internal: open and reset TCP connections to this address")
	connFor := flag.Duration("conn-for", 0, "internal: how long to connect")
	flag.Parse()
	var err error
	switch {
	case *connServer != "":
		err = serveConns(*connServer)
	case *connClient != "":
		err = openConns(*connClient, *connFor)
	default:
		err = run(*bin, *rounds, *secs, *slot)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "natbench:", err)
		os.Exit(1)
	}
}

type figures struct{ mbps, conns []float64 }

func run(bin string, rounds, secs, slot int) (err error) {
	bin, err = filepath.Abs(bin)
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	l, down, err := lab.UpTemp(ctx, "natbench", lab.Options{Prefix: "nbn", Hosts: 2, Guests: 1, Tunnel: "vxlan", Slot: slot, Outside: true})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, down()) }()
	ctl, err := l.StartController(bin, filepath.Join(l.Dir(), "ovsmesh.log"), "--log-level", "warn")
	if err != nil {
		return err
	}
	defer ctl.Stop()
	if err := l.AttachGuests(ctx); err != nil {
		return err
	}
	api := "http://" + l.Config().API.Listen
	gw := l.Gateway()
	client, _ := l.Guest("h1g1")
	far := lab.NATFarIP.String()
	st, err := waitNAT(ctx, l, api, client.Name)
	if err != nil {
		return err
	}
	out := l.OutsideNS()
	for _, args := range [][]string{
		{"iperf3", "-s", "-B", far, "-p", "5201"},
		{self, "-conn-server", far + ":7100"},
	} {
		srv := exec.Command("ip", append([]string{"netns", "exec", out}, args...)...)
		if err := srv.Start(); err != nil {
			return err
		}
		defer func() { _ = srv.Process.Kill(); _ = srv.Wait() }()
	}
	tun, err := l.VSCtl(ctx, gw, "get", "Interface", topo.TunnelPortName("h1"), "ofport")
	if err != nil {
		return err
	}
	routed := []string{
		fmt.Sprintf("table=27,priority=400,ip,dl_dst=%s,nw_src=%s,nw_dst=%s,actions=set_field:%s->eth_src,set_field:%s->eth_dst,dec_ttl,output:%d",
			st.RouterMAC, client.IP, far, st.External.MAC, st.NextHop.MAC, st.External.OFPort),
		fmt.Sprintf("table=8,priority=400,ip,in_port=%d,nw_src=%s,nw_dst=%s,actions=set_field:%s->eth_src,set_field:%s->eth_dst,dec_ttl,output:%s",
			st.External.OFPort, far, client.IP, st.RouterMAC, client.MAC, strings.TrimSpace(tun)),
	}
	res := map[string]*figures{"nat": {}, "routed": {}}
	for r := 0; r < rounds; r++ {
		for _, peer := range []string{"nat", "routed"} {
			if peer == "routed" {
				if err := setRouted(ctx, l, gw, out, client.IP.String(), routed, true); err != nil {
					return err
				}
			}
			mbps, err := iperf(ctx, l, client.NS, far, secs)
			if err != nil {
				return fmt.Errorf("%s: %w", peer, err)
			}
			conns, err := connBurst(ctx, l, self, client.NS, far+":7100", secs)
			if err != nil {
				return fmt.Errorf("%s: %w", peer, err)
			}
			if peer == "routed" {
				if err := setRouted(ctx, l, gw, out, client.IP.String(), routed, false); err != nil {
					return err
				}
			}
			res[peer].mbps = append(res[peer].mbps, mbps)
			res[peer].conns = append(res[peer].conns, conns)
			fmt.Fprintf(os.Stderr, "round %d %-6s %8.0f Mb/s %8.0f conn/s\n", r+1, peer, mbps, conns)
		}
	}
	n, p := res["nat"], res["routed"]
	fmt.Printf("NAT gateway against the same path routed without NAT, %d rounds each, alternated (vxlan, userspace datapath)\n", rounds)
	fmt.Printf("guest h1g1 -> tunnel -> gateway h2 -> ext0 -> outside server %s\n", far)
	fmt.Printf("%-36s %10s %10s %8s %s\n", "median", "NAT", "routed", "ratio", "target")
	fmt.Printf("%-36s %10.0f %10.0f %8.2f %s\n", "iperf3 TCP throughput (Mb/s)", median(n.mbps), median(p.mbps), median(n.mbps)/median(p.mbps), ">= 0.95")
	fmt.Printf("%-36s %10.0f %10.0f %8.2f %s\n", "new TCP connections (conn/s)", median(n.conns), median(p.conns), median(n.conns)/median(p.conns), "reported")
	return nil
}

// natStatus is the part of GET /api/v1/nat the bench needs.
type natStatus struct {
	RouterMAC string `json:"router_mac"`
	External  struct {
		Up     bool   `json:"up"`
		OFPort uint32 `json:"ofport"`
		MAC    string `json:"mac"`
	} `json:"external"`
	NextHop struct {
		MAC   string `json:"mac"`
		State string `json:"state"`
	} `json:"next_hop"`
}

// waitNAT waits until the gateway's external port is up, its next hop
// resolved and the client pings the outside.
func waitNAT(ctx context.Context, l *lab.Lab, api, client string) (natStatus, error) {
	var st natStatus
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if err := lab.GetJSON(ctx, api+"/api/v1/nat", &st); err == nil && st.External.Up && st.NextHop.State == "resolved" {
			if r, err := l.Ping(ctx, client, lab.NATFarIP, 1); err == nil && r.OK() {
				return st, nil
			}
		}
		time.Sleep(200 * time.Millisecond) // polling the controller
	}
	return st, fmt.Errorf("NAT not ready within 60 s: %+v", st)
}

// setRouted adds (or removes) the routed peer's flows on the gateway and
// the outside's route back to the client.
func setRouted(ctx context.Context, l *lab.Lab, gw, out, client string, flows []string, on bool) error {
	for _, f := range flows {
		var err error
		if on {
			_, err = l.OFCtl(ctx, gw, "add-flow", lab.MeshBridge, f)
		} else {
			match, _, _ := strings.Cut(f, ",actions=")
			_, err = l.OFCtl(ctx, gw, "--strict", "del-flows", lab.MeshBridge, match)
		}
		if err != nil {
			return err
		}
	}
	verb := "add"
	if !on {
		verb = "del"
	}
	_, err := l.Exec(ctx, out, "ip", "route", verb, client+"/32", "via", lab.NATExternalIP.Addr().String())
	return err
}

// iperf returns the receiver's throughput in Mb/s of a secs-long iperf3
// run from ns to far.
func iperf(ctx context.Context, l *lab.Lab, ns, far string, secs int) (float64, error) {
	text, err := l.Exec(ctx, ns, "iperf3", "-c", far, "-p", "5201", "-t", strconv.Itoa(secs), "-J")
	if err != nil {
		return 0, fmt.Errorf("iperf3: %w: %s", err, text)
	}
	var r struct {
		End struct {
			SumReceived struct {
				BitsPerSecond float64 `json:"bits_per_second"`
			} `json:"sum_received"`
		} `json:"end"`
	}
	if err := json.Unmarshal([]byte(text), &r); err != nil {
		return 0, fmt.Errorf("iperf3 output: %w", err)
	}
	return r.End.SumReceived.BitsPerSecond / 1e6, nil
}

// connBurst runs the connection client in ns for secs and returns the
// connections per second it completed.
func connBurst(ctx context.Context, l *lab.Lab, self, ns, addr string, secs int) (float64, error) {
	text, err := l.Exec(ctx, ns, self, "-conn-client", addr, "-conn-for", fmt.Sprintf("%ds", secs))
	if err != nil {
		return 0, fmt.Errorf("connection client: %w: %s", err, text)
	}
	n, err := strconv.ParseFloat(strings.TrimSpace(text), 64)
	if err != nil {
		return 0, fmt.Errorf("connection client printed %q", text)
	}
	return n / float64(secs), nil
}

// serveConns accepts connections on addr and closes each at once.
func serveConns(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		c.Close()
	}
}

// openConns opens TCP connections to addr from 8 workers for d, each
// closed with a reset (SO_LINGER 0, no TIME_WAIT to exhaust the
// client's ports), and prints how many completed.
func openConns(addr string, d time.Duration) error {
	var n atomic.Int64
	var wg sync.WaitGroup
	end := time.Now().Add(d)
	for range 8 {
		wg.Go(func() {
			for time.Now().Before(end) {
				c, err := net.DialTimeout("tcp", addr, time.Second)
				if err != nil {
					continue
				}
				n.Add(1)
				_ = c.(*net.TCPConn).SetLinger(0)
				c.Close()
			}
		})
	}
	wg.Wait()
	fmt.Println(n.Load())
	return nil
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}
