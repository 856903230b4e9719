package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ovsmesh/ovsmesh/lab"
)

func main() {
	var c config
	sizes := flag.String("hosts", "10,20,50", "comma-separated host counts, one lab each")
	flag.StringVar(&c.bin, "ovsmesh", "bin/ovsmesh", "ovsmesh binary")
	flag.StringVar(&c.tunnel, "tunnel", "vxlan", "vxlan or gre")
	flag.StringVar(&c.prefix, "prefix", "cvb", "lab prefix of namespace and link names")
	flag.IntVar(&c.slot, "slot", 202, "lab slot (management subnet 198.19.SLOT.0/24)")
	flag.StringVar(&c.pprof, "pprof", "", "address (127.0.0.1:PORT) where the controller serves net/http/pprof; saves profiles")
	flag.StringVar(&c.outDir, "out", "", "directory for controller logs and profiles (default: a new temp dir)")
	flag.DurationVar(&c.timeout, "timeout", 3*time.Minute, "give up on one size after this long")
	flag.BoolVar(&c.staticARP, "static-arp", false, "give the pinging guests permanent neighbour entries: time the data path without ARP")
	runs := flag.Int("runs", 1, "runs per size; the table shows each")
	flag.Parse()
	if err := bench(c, *sizes, *runs, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "convbench:", err)
		os.Exit(1)
	}
}

func bench(c config, sizes string, runs int, out io.Writer) error {
	if err := lab.CheckPrereqs(); err != nil {
		return err
	}
	var ns []int
	for _, s := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 2 {
			return fmt.Errorf("-hosts: %q is not a host count of at least 2", s)
		}
		ns = append(ns, n)
	}
	var err error
	if c.bin, err = filepath.Abs(c.bin); err != nil {
		return err
	}
	if c.outDir == "" {
		if c.outDir, err = os.MkdirTemp("", "convbench-out."); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(c.outDir, 0o755); err != nil {
		return err
	}
	fmt.Fprintf(out, "convbench: %s, %s tunnels, N hosts x 1 guest, userspace datapath; logs and profiles in %s\n", c.bin, c.tunnel, c.outDir)
	fmt.Fprintln(out, "| hosts | tunnel ports | tunnels complete (s) | pings complete (s) | controller CPU (s) | CPU per tunnel port (ms) | controller CPU at tunnels (s) | controller CPU in the next 5 s | OVS daemons' CPU at tunnels (s) | OVS daemons' CPU (s) | controller peak RSS (MB) | lab up (s) | load avg before |")
	fmt.Fprintln(out, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
	var all []result
	for _, n := range ns {
		for range runs {
			c.hosts = n
			r, err := runOnce(context.Background(), c)
			if err != nil {
				return fmt.Errorf("%d hosts: %w", n, err)
			}
			all = append(all, r)
			fmt.Fprintf(out, "| %d | %d | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.0f | %.1f | %s |\n", r.hosts, r.ports,
				r.tunnels.Seconds(), r.pings.Seconds(), r.ctlCPU.Seconds(), 1000*r.ctlCPU.Seconds()/float64(r.ports),
				r.ctlCPUTunnels.Seconds(), r.ctlCPUAfter.Seconds(), r.ovsCPUTunnels.Seconds(), r.ovsCPU.Seconds(), float64(r.rss)/(1<<20), r.labUp.Seconds(), r.load)
		}
	}
	if len(all) >= 2 {
		a, b := all[0], all[len(all)-1]
		fmt.Fprintf(out, "growth %d -> %d hosts: tunnel ports x%.1f, converged (max of tunnels, pings) x%.1f, controller CPU x%.1f, peak RSS x%.1f\n",
			a.hosts, b.hosts, float64(b.ports)/float64(a.ports), max(b.pings, b.tunnels).Seconds()/max(a.pings, a.tunnels).Seconds(),
			b.ctlCPU.Seconds()/max(a.ctlCPU.Seconds(), 0.01), float64(b.rss)/float64(a.rss))
	}
	return nil
}
