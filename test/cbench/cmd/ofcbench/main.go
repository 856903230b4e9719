package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/ovsmesh/ovsmesh/test/cbench"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "ofcbench:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("ofcbench", flag.ContinueOnError)
	var cfg cbench.Config
	var mode string
	fs.StringVar(&cfg.Controller, "controller", "127.0.0.1:6653", "controller TCP address `host:port`")
	fs.IntVar(&cfg.Switches, "switches", 16, "number of emulated switches")
	fs.IntVar(&cfg.MACs, "macs", 1000, "MAC addresses per switch")
	fs.IntVar(&cfg.Ports, "ports", 4, "ports per switch (>= 2)")
	fs.StringVar(&mode, "mode", "latency", "latency (1 outstanding packet-in per switch) or throughput (-window outstanding)")
	fs.IntVar(&cfg.Window, "window", 1000, "outstanding packet-ins per switch in throughput mode")
	fs.IntVar(&cfg.Loops, "loops", 5, "measured loops")
	fs.DurationVar(&cfg.Duration, "duration", 5*time.Second, "length of one loop")
	fs.DurationVar(&cfg.Warmup, "warmup", 2*time.Second, "unmeasured warm-up before the first loop")
	fs.DurationVar(&cfg.ConnectTimeout, "connect-timeout", 10*time.Second, "time allowed to connect and complete the handshake")
	fs.DurationVar(&cfg.LossTimeout, "loss-timeout", time.Second, "give up on outstanding packet-ins after this long without traffic")
	fs.Uint64Var(&cfg.DPIDBase, "dpid-base", 0, "switch i has datapath ID dpid-base+i")
	table := fs.Uint("table", 0, "table_id the packet-ins report (ovsmesh's learning stage: 10)")
	fs.IntVar(&cfg.ControllerPID, "controller-pid", 0, "measure the CPU time of the controller process `pid` too (0: don't)")
	jsonOut := fs.Bool("json", false, "print one JSON line instead of text")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the generator to `file`")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	cfg.Mode = cbench.Mode(mode)
	if *table > 254 {
		return fmt.Errorf("-table %d: want 0 to 254", *table)
	}
	cfg.Table = uint8(*table)

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := cbench.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if *jsonOut {
		b, err := json.Marshal(res)
		if err != nil {
			return fmt.Errorf("encode result: %w", err)
		}
		_, err = fmt.Fprintf(out, "%s\n", b)
		return err
	}
	printText(out, res)
	return nil
}

func printText(w io.Writer, r *cbench.Result) {
	fmt.Fprintf(w, "ofcbench: controller %s, %d switches x %d MACs, mode %s (window %d), %d loops x %gs, warm-up %gs\n",
		r.Controller, r.Switches, r.MACs, r.Mode, r.Window, len(r.Loops), r.LoopSeconds, r.WarmupSeconds)
	for i, l := range r.Loops {
		fmt.Fprintf(w, "loop %d: %10.0f responses/s  %10.0f flow-mods/s  per switch %.0f..%.0f/s  rtt %.0f us  lost %d\n",
			i+1, l.ResponsesPerSec, l.FlowModsPerSec, l.MinSwitchPerSec, l.MaxSwitchPerSec, l.AvgRTTMicros, l.Lost)
	}
	fmt.Fprintf(w, "RESULT: %d switches %d loops min/max/median/avg/stdev = %.0f/%.0f/%.0f/%.0f/%.0f responses/s\n",
		r.Switches, len(r.Loops), r.Min, r.Max, r.Median, r.Avg, r.Stdev)
	fmt.Fprintf(w, "flow-mods %.0f/s, avg rtt %.0f us, lost %d, other packet-outs %d, OpenFlow errors %d, generator cpu %.2f us/response\n",
		r.FlowModsPerSec, r.AvgRTTMicros, r.Lost, r.OtherPacketOuts, r.Errors, r.GeneratorCPUPerResponse)
	fmt.Fprintf(w, "cpu: generator %.2f cores", r.GeneratorCPUs)
	if r.ControllerCPUs > 0 {
		fmt.Fprintf(w, ", controller %.2f cores, %.2f us/response (system %.2f)", r.ControllerCPUs, r.ControllerCPUPerResponse, r.ControllerSysCPUPerResponse)
	}
	fmt.Fprintln(w)
	if r.ControllerPeakRSS > 0 {
		fmt.Fprintf(w, "controller peak rss %.1f MB, fewest responses to one switch %d\n", float64(r.ControllerPeakRSS)/1e6, r.MinSwitchResponses)
	}
	if r.FirstError != "" {
		fmt.Fprintf(w, "first error: %s\n", r.FirstError)
	}
}
