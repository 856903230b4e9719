// Command floodbench measures what a guest flooding the controller with
// new source MACs does to everyone else on its host (issue 14): with the
// packet-in meters on (the defaults), a new guest plugged into another
// port of the same host must still be learned and answered. It reports,
// with and without the flood in the same run, how long a new guest takes
// to be learned (its MAC in the MAC table and its IP in the ARP table,
// from its first ARP), the ARP answer latency it sees (p50 and p99), the
// flood's rate, the packet-ins that reached the controller and the
// controller's peak RSS.
//
// Run as root on a machine with Open vSwitch (make bench does):
//
//	go run ./test/floodbench -ovsmesh bin/ovsmesh
//
// The flood generator is this binary again, run inside the flooding
// guest's namespace (-flood-dev): an AF_PACKET socket sending minimal
// frames with random locally administered source MACs to another guest's
// MAC, as fast as one core can.
package main

import (
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ovsmesh/ovsmesh/lab"
	"github.com/prometheus/procfs"
)

func main() {
	bin := flag.String("ovsmesh", "bin/ovsmesh", "ovsmesh binary")
	trials := flag.Int("trials", 7, "new guests per phase")
	slot := flag.Int("slot", 239, "lab slot (management subnet 198.19.SLOT.0/24)")
	floodDev := flag.String("flood-dev", "", "internal: flood from this interface (run inside a guest namespace)")
	floodDst := flag.String("flood-dst", "", "internal: destination MAC of the flood")
	floodFor := flag.Duration("flood-for", 0, "internal: how long to flood")
	flag.Parse()
	if *floodDev != "" {
		if err := flood(*floodDev, *floodDst, *floodFor); err != nil {
			fmt.Fprintln(os.Stderr, "floodbench flood:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*bin, *trials, *slot); err != nil {
		fmt.Fprintln(os.Stderr, "floodbench:", err)
		os.Exit(1)
	}
}

// result is one phase's figures.
type result struct {
	learned []float64 // ms from a new guest's first ARP until its MAC and binding are known
	arping  []float64 // ms, every ARP answer the new guests got
}

func run(bin string, trials, slot int) (err error) {
	bin, err = filepath.Abs(bin)
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	l, down, err := lab.UpTemp(ctx, "floodbench", lab.Options{Prefix: "fbn", Hosts: 2, Guests: 2, Tunnel: "vxlan", Slot: slot})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, down()) }()
	ctl, err := l.StartController(bin, filepath.Join(l.Dir(), "ovsmesh.log"), "--log-level", "warn")
	if err != nil {
		return err
	}
	defer ctl.Stop()
	api := "http://" + l.Config().API.Listen
	if err := l.AttachGuests(ctx); err != nil {
		return err
	}
	if err := l.PingEveryPair(ctx, 30*time.Second); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	target, _ := l.Guest("h2g1")
	quiet, err := phase(ctx, l, api, target.IP, trials)
	if err != nil {
		return fmt.Errorf("without a flood: %w", err)
	}

	flooder, _ := l.Guest("h1g1")
	sink, _ := l.Guest("h1g2")
	pinsBefore, err := metric(api, "ovsmesh_packet_ins_total")
	if err != nil {
		return err
	}
	dur := time.Duration(trials+4) * 3 * time.Second
	gen := exec.CommandContext(ctx, "ip", "netns", "exec", flooder.NS, self, "-flood-dev", "eth0", "-flood-dst", sink.MAC.String(), "-flood-for", dur.String())
	var genOut strings.Builder
	gen.Stdout, gen.Stderr = &genOut, &genOut
	start := time.Now()
	if err := gen.Start(); err != nil {
		return err
	}
	loud, perr := phase(ctx, l, api, target.IP, trials)
	werr := gen.Wait()
	floodTime := time.Since(start)
	if perr != nil {
		return fmt.Errorf("during the flood: %w", perr)
	}
	if werr != nil {
		return fmt.Errorf("flood generator: %v: %s", werr, genOut.String())
	}
	pinsAfter, err := metric(api, "ovsmesh_packet_ins_total")
	if err != nil {
		return err
	}
	sent, _ := strconv.ParseFloat(strings.TrimSpace(genOut.String()), 64)
	rss, err := peakRSS(ctl.Cmd.Process.Pid)
	if err != nil {
		return err
	}

	fmt.Printf("Packet-in flood from one guest (h1g1: random source MACs at %.0f frames/s for %v) while %d new guests plug into h1\n",
		sent/floodTime.Seconds(), floodTime.Round(time.Second), trials)
	fmt.Printf("meters: the defaults (openflow.meters: switch 1000/s burst 250, port 200/s burst 100); max_macs_per_port 1024\n")
	fmt.Printf("packet-ins that reached the controller during the flood: %.0f (%.0f/s)\n", pinsAfter-pinsBefore, (pinsAfter-pinsBefore)/floodTime.Seconds())
	fmt.Printf("controller peak RSS over the run: %.1f MB\n\n", float64(rss)/1e6)
	fmt.Printf("%-44s %10s %10s %8s\n", "new guest on h1, arping h2g1", "no flood", "flood", "ratio")
	row := func(name string, a, b float64) { fmt.Printf("%-44s %10.3f %10.3f %8.2f\n", name, a, b, b/a) }
	row("learned (MAC and binding), p50 ms", pct(quiet.learned, 50), pct(loud.learned, 50))
	row("learned (MAC and binding), p99 ms", pct(quiet.learned, 99), pct(loud.learned, 99))
	row("ARP answer latency, p50 ms", pct(quiet.arping, 50), pct(loud.arping, 50))
	row("ARP answer latency, p99 ms", pct(quiet.arping, 99), pct(loud.arping, 99))
	return nil
}

// phase plugs trials new guests into h1, one at a time: each arpings
// target 20 times from its first frame; learned is when the API first
// shows its MAC and its binding.
func phase(ctx context.Context, l *lab.Lab, api string, target netip.Addr, trials int) (result, error) {
	var r result
	for i := 0; i < trials; i++ {
		g, err := l.AddGuest(ctx, "h1")
		if err != nil {
			return r, err
		}
		start := time.Now()
		done := make(chan []float64, 1)
		go func() { ms, _ := lab.ArpingNS(ctx, g.NS, target, 20, 50*time.Millisecond); done <- ms }()
		learned := time.Duration(-1)
		for deadline := start.Add(10 * time.Second); time.Now().Before(deadline); {
			if known(api, g) {
				learned = time.Since(start)
				break
			}
			time.Sleep(5 * time.Millisecond) // polling the API
		}
		times := <-done
		if err := l.RemoveGuest(ctx, g.Name); err != nil {
			return r, err
		}
		if learned < 0 {
			return r, fmt.Errorf("new guest %s not learned within 10 s", g.Name)
		}
		if len(times) < 10 {
			return r, fmt.Errorf("new guest %s: %d of 20 ARP answers", g.Name, len(times))
		}
		r.learned = append(r.learned, float64(learned.Microseconds())/1000)
		r.arping = append(r.arping, times...)
	}
	return r, nil
}

// known reports whether the API lists g's MAC and its binding.
func known(api string, g lab.Guest) bool {
	var macs []struct {
		MAC string `json:"mac"`
	}
	var arps []struct {
		IP  string `json:"ip"`
		MAC string `json:"mac"`
	}
	if getJSON(api+"/api/v1/macs", &macs) != nil || getJSON(api+"/api/v1/arp", &arps) != nil {
		return false
	}
	return slices.ContainsFunc(macs, func(m struct {
		MAC string `json:"mac"`
	}) bool {
		return m.MAC == g.MAC.String()
	}) && slices.ContainsFunc(arps, func(a struct {
		IP  string `json:"ip"`
		MAC string `json:"mac"`
	}) bool {
		return a.IP == g.IP.String() && a.MAC == g.MAC.String()
	})
}

func getJSON(url string, v any) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return lab.GetJSON(ctx, url, v)
}

// metric sums every series of a counter.
func metric(api, name string) (float64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sum, _, err := lab.MetricSum(ctx, api+"/metrics", name, nil)
	return sum, err
}

// pct returns the p-th percentile (nearest rank) of xs.
func pct(xs []float64, p int) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := (p*len(s)+99)/100 - 1
	return s[max(i, 0)]
}

// peakRSS reads a process's peak resident set (VmHWM) in bytes.
func peakRSS(pid int) (uint64, error) {
	p, err := procfs.NewProc(pid)
	if err != nil {
		return 0, fmt.Errorf("rss of pid %d: %w", pid, err)
	}
	st, err := p.NewStatus()
	if err != nil {
		return 0, fmt.Errorf("rss of pid %d: %w", pid, err)
	}
	return st.VmHWM, nil
}

// flood sends frames from dev with random source MACs to dst for d and
// prints how many it sent.
func flood(dev, dst string, d time.Duration) error {
	ifi, err := net.InterfaceByName(dev)
	if err != nil {
		return err
	}
	dmac, err := net.ParseMAC(dst)
	if err != nil {
		return err
	}
	proto := uint16(0x0003) // ETH_P_ALL, network order below
	fd, err := syscall.Socket(syscall.AF_PACKET, syscall.SOCK_RAW, int(proto>>8|proto<<8))
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	addr := &syscall.SockaddrLinklayer{Ifindex: ifi.Index, Halen: 6}
	copy(addr.Addr[:], dmac)
	frame := make([]byte, 60)
	copy(frame, dmac)
	binary.BigEndian.PutUint16(frame[12:], 0x88b5) // IEEE local experimental ethertype
	var sent uint64
	end := time.Now().Add(d)
	for i := 0; ; i++ {
		if i%1024 == 0 && time.Now().After(end) {
			break
		}
		r := rand.Uint64()
		frame[6] = byte(r)&0xfc | 0x02 // unicast, locally administered
		binary.BigEndian.PutUint32(frame[7:], uint32(r>>8))
		frame[11] = byte(r >> 40)
		if err := syscall.Sendto(fd, frame, 0, addr); err == nil {
			sent++
		}
	}
	fmt.Println(sent)
	return nil
}
