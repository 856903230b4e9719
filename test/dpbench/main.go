//go:build linux

package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/ovsmesh/ovsmesh/lab"
)

// options are dpbench's flags.
type options struct {
	bin     string
	slot    int
	tunnel  string
	rounds  int
	keep    bool
	verbose bool

	trials         int
	testcontroller bool

	setupsWindow   int
	setupsDuration time.Duration
	packetInRate   int

	steadyRuns int
	steadyTime time.Duration
	rttCount   int

	moves   int
	moveGap time.Duration

	hosts        int
	convergeRuns int
}

// progress prints a timestamped line to stderr with -v.
func (o options) progress(format string, args ...any) {
	if o.verbose {
		fmt.Fprintf(os.Stderr, "%s dpbench: %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
	}
}

// tunnelOr returns -tunnel, or def when it is unset.
func (o options) tunnelOr(def string) string {
	if o.tunnel != "" {
		return o.tunnel
	}
	return def
}

// benchmark is one measurement family.
type benchmark struct {
	name string
	// slot is added to -slot for the benchmark's lab.
	slot int
	run  func(ctx context.Context, o options, slot int) ([]row, error)
}

var benchmarks = []benchmark{
	{"firstping", 0, runFirstPing},
	{"setups", 1, runSetups},
	{"steady", 2, runSteady},
	{"move", 3, runMove},
	{"converge", 4, runConverge},
}

func main() {
	var o options
	names := flag.String("bench", "firstping,setups,steady,move,converge", "comma-separated benchmarks to run, in order")
	flag.StringVar(&o.bin, "ovsmesh", "bin/ovsmesh", "ovsmesh binary")
	flag.IntVar(&o.slot, "slot", 190, "first lab slot; benchmark i uses slot+i (management subnet 198.19.SLOT.0/24)")
	flag.StringVar(&o.tunnel, "tunnel", "", "tunnel type for every lab (default: gre, and vxlan for converge, as `ovsmesh lab up`)")
	flag.IntVar(&o.rounds, "rounds", 3, "firstping, setups, steady: rounds; each round runs every peer once, in reverse order every other round")
	flag.BoolVar(&o.keep, "keep", false, "keep each lab's directory (controller and OVS logs) after tearing it down")
	flag.BoolVar(&o.verbose, "v", false, "print progress to stderr")
	flag.IntVar(&o.trials, "trials", 7, "firstping: cold first pings per peer per round")
	flag.BoolVar(&o.testcontroller, "testcontroller", true, "firstping: also measure ovs-testcontroller (a reference, not the target's peer)")
	flag.IntVar(&o.setupsWindow, "setups-window", 64, "setups: new source MACs outstanding at most (sent, not yet delivered)")
	flag.DurationVar(&o.setupsDuration, "setups-duration", 5*time.Second, "setups: how long the sender runs per phase")
	flag.IntVar(&o.packetInRate, "packet-in-rate", 0, "setups: ovsmesh's openflow.packet_in_rate (0: no limit, as ovs-testcontroller's Controller row; ovsmesh's default is 1000)")
	flag.IntVar(&o.steadyRuns, "steady-runs", 3, "steady: iperf3 runs per peer per round")
	flag.DurationVar(&o.steadyTime, "steady-time", 5*time.Second, "steady: length of each iperf3 run")
	flag.IntVar(&o.rttCount, "rtt-count", 300, "steady: pings (ping -i 0.01) per peer per round")
	flag.IntVar(&o.moves, "moves", 10, "move: host moves")
	flag.DurationVar(&o.moveGap, "move-gap", 3500*time.Millisecond, "move: least time between two moves (learning damps a MAC that moves 4 times in 10s)")
	flag.IntVar(&o.hosts, "hosts", 20, "converge: lab hosts (one guest each)")
	flag.IntVar(&o.convergeRuns, "converge-runs", 3, "converge: cold starts (br-int deleted on every host in between)")
	flag.Parse()
	if err := run(o, *names); err != nil {
		fmt.Fprintln(os.Stderr, "dpbench:", err)
		os.Exit(1)
	}
}

func run(o options, names string) error {
	if err := lab.CheckPrereqs(); err != nil {
		return err
	}
	bin, err := filepath.Abs(o.bin)
	if err != nil {
		return err
	}
	if fi, err := os.Stat(bin); err != nil || fi.IsDir() {
		return fmt.Errorf("ovsmesh binary %s: not a file (run make build)", bin)
	}
	o.bin = bin
	var todo []benchmark
	for _, n := range strings.Split(names, ",") {
		i := -1
		for j, b := range benchmarks {
			if b.name == strings.TrimSpace(n) {
				i = j
			}
		}
		if i < 0 {
			return fmt.Errorf("-bench: unknown benchmark %q (want firstping, setups, steady, move, converge)", n)
		}
		todo = append(todo, benchmarks[i])
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var all []row
	var failed []string
	for _, b := range todo {
		fmt.Printf("\n== dpbench %s (load average before: %s, %s)\n", b.name, loadAvg(), time.Now().Format(time.RFC3339))
		rows, err := b.run(ctx, o, o.slot+b.slot)
		if err != nil {
			fmt.Printf("%s: FAILED: %v\n", b.name, err)
			failed = append(failed, b.name)
			if ctx.Err() != nil {
				break
			}
			continue
		}
		printRows(os.Stdout, rows)
		all = append(all, rows...)
	}
	fmt.Printf("\n== dpbench summary (load average after: %s)\n", loadAvg())
	printRows(os.Stdout, all)
	if len(failed) > 0 {
		return fmt.Errorf("failed: %s", strings.Join(failed, ", "))
	}
	return nil
}
