package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/ovsmesh/ovsmesh/lab"
	"github.com/ovsmesh/ovsmesh/topo"
)

func main() {
	bin := flag.String("ovsmesh", "bin/ovsmesh", "ovsmesh binary")
	count := flag.Int("count", 100, "arpings per pair")
	tunnel := flag.String("tunnel", "vxlan", "vxlan or gre")
	slot := flag.Int("slot", 241, "lab slot (management subnet 198.19.SLOT.0/24)")
	flag.Parse()
	if err := run(*bin, *count, *tunnel, *slot); err != nil {
		fmt.Fprintln(os.Stderr, "arpbench:", err)
		os.Exit(1)
	}
}

type pair struct{ name, src, dst string }

var pairs = []pair{
	{"same host (h1g1 -> h1g2)", "h1g1", "h1g2"},
	{"across a tunnel (h1g1 -> h2g1)", "h1g1", "h2g1"},
}

func run(bin string, count int, tunnel string, slot int) (err error) {
	bin, err = filepath.Abs(bin)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	l, down, err := lab.UpTemp(ctx, "arpbench", lab.Options{Prefix: "abn" + tunnel[:2], Hosts: 3, Guests: 2, Tunnel: tunnel, Slot: slot})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, down()) }()

	// Phase 1: ovsmesh with proxy ARP.
	ctl, err := l.StartController(bin, filepath.Join(l.Dir(), "ovsmesh.log"), "--log-level", "warn")
	if err != nil {
		return err
	}
	defer ctl.Stop()
	if err := l.AttachGuests(ctx); err != nil {
		return err
	}
	if err := l.PingEveryPair(ctx, 30*time.Second); err != nil {
		return fmt.Errorf("ovsmesh warm-up: %w", err)
	}
	mesh, err := measure(ctx, l, count)
	if err != nil {
		return fmt.Errorf("ovsmesh: %w", err)
	}

	// Phase 2: the same lab under NORMAL, as a line h1-h2-h3.
	ctl.Stop()
	for _, h := range l.Hosts() {
		args := []string{"del-controller", lab.MeshBridge, "--", "set", "Bridge", lab.MeshBridge, "fail_mode=standalone"}
		if h.Name == "h1" || h.Name == "h3" {
			peer := map[string]string{"h1": "h3", "h3": "h1"}[h.Name]
			args = append(args, "--", "--if-exists", "del-port", lab.MeshBridge, topo.TunnelPortName(peer))
		}
		if _, err := l.VSCtl(ctx, h.Name, args...); err != nil {
			return err
		}
		if _, err := l.OFCtl(ctx, h.Name, "del-flows", lab.MeshBridge); err != nil {
			return err
		}
		if _, err := l.OFCtl(ctx, h.Name, "add-flow", lab.MeshBridge, "priority=0,actions=NORMAL"); err != nil {
			return err
		}
	}
	if err := l.PingEveryPair(ctx, 30*time.Second); err != nil {
		return fmt.Errorf("NORMAL warm-up: %w", err)
	}
	normal, err := measure(ctx, l, count)
	if err != nil {
		return fmt.Errorf("NORMAL: %w", err)
	}

	fmt.Printf("ARP answer latency, arping median of %d, %s lab of 3 hosts x 2 guests (userspace datapath)\n", count, tunnel)
	fmt.Printf("%-32s %14s %14s %8s\n", "pair", "ovsmesh (ms)", "NORMAL (ms)", "ratio")
	for i, p := range pairs {
		fmt.Printf("%-32s %14.3f %14.3f %8.2f\n", p.name, mesh[i], normal[i], mesh[i]/normal[i])
	}
	return nil
}

// measure returns, per pair, the median arping time in milliseconds.
func measure(ctx context.Context, l *lab.Lab, count int) ([]float64, error) {
	var out []float64
	for _, p := range pairs {
		src, err := l.Guest(p.src)
		if err != nil {
			return nil, err
		}
		dst, err := l.Guest(p.dst)
		if err != nil {
			return nil, err
		}
		ms, err := arping(ctx, src.NS, dst.IP, count)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.name, err)
		}
		out = append(out, ms)
	}
	return out, nil
}

// arping returns the median of count ARP answer times from ns, in
// milliseconds; fewer than 90% answers is an error.
func arping(ctx context.Context, ns string, ip netip.Addr, count int) (float64, error) {
	times, err := lab.ArpingNS(ctx, ns, ip, count, 20*time.Millisecond)
	if len(times) < count*9/10 {
		return 0, fmt.Errorf("arping %s: %d of %d replies: %v", ip, len(times), count, err)
	}
	slices.Sort(times)
	return times[len(times)/2], nil
}
