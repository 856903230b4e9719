package cbench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"sort"
	"sync"
	"time"
)

// Mode selects how many PACKET_INs each switch keeps outstanding.
type Mode string

const (
	// Latency keeps one PACKET_IN outstanding per switch: the next one is
	// sent only after a response arrives.
	Latency Mode = "latency"
	// Throughput keeps Config.Window PACKET_INs outstanding per switch;
	// every response frees one slot.
	Throughput Mode = "throughput"
)

// Config describes one benchmark run. Zero fields take the defaults shown.
type Config struct {
	// Controller is the controller's TCP address, host:port.
	Controller string
	// Switches is the number of emulated switches (16).
	Switches int
	// MACs is the number of MAC addresses in each switch's pool (1000).
	MACs int
	// Ports is the number of ports per switch, at least 2 (4). Host i of
	// the pool sits on port i%Ports+1.
	Ports int
	// Mode is Latency or Throughput (Latency).
	Mode Mode
	// Window is the number of outstanding PACKET_INs per switch in
	// Throughput mode (1000).
	Window int
	// Loops is the number of measured loops (5).
	Loops int
	// Duration is the length of one loop (5s).
	Duration time.Duration
	// Warmup is run before the first loop and not measured (2s).
	Warmup time.Duration
	// ConnectTimeout bounds connecting all switches and the handshake (10s).
	ConnectTimeout time.Duration
	// Settle is how long a switch waits after FEATURES_REPLY for another
	// controller message before it starts sending PACKET_INs anyway (200ms).
	Settle time.Duration
	// LossTimeout: when a switch has PACKET_INs outstanding and has neither
	// sent nor received anything for this long, they are counted as lost
	// and their slots freed (1s).
	LossTimeout time.Duration
	// DPIDBase: switch i (0-based) has datapath ID DPIDBase+i+1 (0).
	DPIDBase uint64
	// Table is the table_id the PACKET_INs report, the table whose miss
	// sent them (0). A controller that routes packet-ins by table needs
	// its own: ovsmesh's learning stage is table 10.
	Table uint8
	// ControllerPID, when above 0, is the controller's process ID on this
	// machine: its CPU time (user+system, from /proc/PID/stat) is
	// measured over the loops like the generator's (0: not measured).
	ControllerPID int
}

func (c *Config) setDefaults() {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.Switches, 16)
	def(&c.MACs, 1000)
	def(&c.Ports, 4)
	def(&c.Window, 1000)
	def(&c.Loops, 5)
	defDur(&c.Duration, 5*time.Second)
	defDur(&c.Warmup, 2*time.Second)
	defDur(&c.ConnectTimeout, 10*time.Second)
	defDur(&c.Settle, 200*time.Millisecond)
	defDur(&c.LossTimeout, time.Second)
	if c.Mode == "" {
		c.Mode = Latency
	}
}

func (c *Config) validate() error {
	switch {
	case c.Controller == "":
		return errors.New("no controller address")
	case c.Mode != Latency && c.Mode != Throughput:
		return fmt.Errorf("unknown mode %q (want latency or throughput)", c.Mode)
	case c.Switches < 1 || c.Switches > 65535:
		return fmt.Errorf("switches %d out of range 1..65535", c.Switches)
	case c.MACs < 2 || c.MACs > 1<<16:
		return fmt.Errorf("macs %d out of range 2..65536", c.MACs)
	case c.Ports < 2 || c.Ports > 255:
		return fmt.Errorf("ports %d out of range 2..255", c.Ports)
	case c.Window < 1 || c.Window > 100000:
		return fmt.Errorf("window %d out of range 1..100000", c.Window)
	case c.Loops < 1 || c.Duration <= 0 || c.Warmup < 0:
		return errors.New("need loops >= 1, duration > 0 and warmup >= 0")
	}
	return nil
}

// window is the number of outstanding PACKET_INs per switch.
func (c *Config) window() int {
	if c.Mode == Latency {
		return 1
	}
	return c.Window
}

// Loop is the measurement of one loop, summed over all switches.
type Loop struct {
	// Seconds is the measured length of the loop, in seconds.
	Seconds float64 `json:"seconds"`
	// Responses is the number of responses (PACKET_OUTs carrying a frame
	// the generator sent).
	Responses uint64 `json:"responses"`
	// ResponsesPerSec is Responses/Seconds, in responses/s.
	ResponsesPerSec float64 `json:"responses_per_sec"`
	// FlowModsPerSec is the rate of FLOW_MODs received, in flow-mods/s.
	FlowModsPerSec float64 `json:"flow_mods_per_sec"`
	// MinSwitchPerSec and MaxSwitchPerSec are the lowest and highest
	// per-switch rates, in responses/s.
	MinSwitchPerSec float64 `json:"min_switch_per_sec"`
	MaxSwitchPerSec float64 `json:"max_switch_per_sec"`
	// AvgRTTMicros is the mean time from sending a PACKET_IN to receiving
	// its response, in microseconds.
	AvgRTTMicros float64 `json:"avg_rtt_us"`
	// Lost is the number of PACKET_INs given up as unanswered.
	Lost uint64 `json:"lost"`
}

// Result is the outcome of Run. Rates are summed over switches; Min, Max,
// Median, Avg and Stdev are taken over the per-loop rates.
type Result struct {
	// Controller is the address benchmarked; Mode, Switches and MACs
	// repeat the configuration (MACs per switch).
	Controller      string  `json:"controller"`
	Mode            Mode    `json:"mode"`
	Switches        int     `json:"switches"`
	MACs            int     `json:"macs"`
	Window          int     `json:"window"`            // outstanding PACKET_INs per switch
	LoopSeconds     float64 `json:"loop_seconds"`      // seconds
	WarmupSeconds   float64 `json:"warmup_seconds"`    // seconds
	Loops           []Loop  `json:"loops"`             // one per loop
	Min             float64 `json:"min"`               // responses/s, over loops
	Max             float64 `json:"max"`               // responses/s
	Median          float64 `json:"median"`            // responses/s
	Avg             float64 `json:"avg"`               // responses/s
	Stdev           float64 `json:"stdev"`             // responses/s
	FlowModsPerSec  float64 `json:"flow_mods_per_sec"` // flow-mods/s, over all loops
	AvgRTTMicros    float64 `json:"avg_rtt_us"`        // microseconds, over all loops
	Lost            uint64  `json:"lost"`              // PACKET_INs, whole run
	OtherPacketOuts uint64  `json:"other_packet_outs"` // PACKET_OUTs without our frame
	// GeneratorCPUPerResponse is the CPU time (user+system) the generator
	// process spent per response during the loops, in microseconds.
	GeneratorCPUPerResponse float64 `json:"generator_cpu_us_per_response"`
	// GeneratorCPUs is the generator's CPU time during the loops over
	// their length: the average number of cores it kept busy.
	GeneratorCPUs float64 `json:"generator_cpus"`
	// ControllerCPUPerResponse and ControllerCPUs are the same for the
	// controller process (all threads), measured only when
	// Config.ControllerPID is set; 0 otherwise.
	ControllerCPUPerResponse float64 `json:"controller_cpu_us_per_response"`
	ControllerCPUs           float64 `json:"controller_cpus"`
	// ControllerSysCPUPerResponse is the part of ControllerCPUPerResponse
	// spent in the kernel (system time), in microseconds.
	ControllerSysCPUPerResponse float64 `json:"controller_sys_us_per_response"`
	// ControllerPeakRSS is the controller's peak resident set size since it
	// started (VmHWM), in bytes, read at the end of the run; 0 unless
	// Config.ControllerPID is set.
	ControllerPeakRSS uint64 `json:"controller_peak_rss_bytes"`
	// MinSwitchResponses is the fewest responses any one switch received
	// during the measured loops: 0 means some switch went unanswered.
	MinSwitchResponses uint64 `json:"min_switch_responses"`
	Errors             uint64 `json:"of_errors"` // OFPT_ERRORs received
	FirstError         string `json:"first_error,omitempty"`
}

type snapshot struct {
	at                 time.Time
	cpu                time.Duration // process user+system time
	ctrlCPU, ctrlSys   time.Duration // the controller's (user+system, system), if Config.ControllerPID is set
	resp, fm, rtt, lst []uint64
}

func takeSnapshot(sw []*emuSwitch, ctrlPID int) (snapshot, error) {
	s := snapshot{at: time.Now(), cpu: processCPU()}
	if ctrlPID > 0 {
		user, sys, err := pidCPU(ctrlPID)
		if err != nil {
			return s, err
		}
		s.ctrlCPU, s.ctrlSys = user+sys, sys
	}
	for _, x := range sw {
		s.resp = append(s.resp, x.responses.Load())
		s.fm = append(s.fm, x.flowMods.Load())
		s.rtt = append(s.rtt, x.rttSum.Load())
		s.lst = append(s.lst, x.lost.Load())
	}
	return s, nil
}

// loopBetween computes the loop measured between snapshots a and b.
func loopBetween(a, b snapshot) Loop {
	secs := b.at.Sub(a.at).Seconds()
	l := Loop{Seconds: secs, MinSwitchPerSec: math.Inf(1)}
	var fm, rtt uint64
	for i := range a.resp {
		d := b.resp[i] - a.resp[i]
		l.Responses += d
		fm += b.fm[i] - a.fm[i]
		rtt += b.rtt[i] - a.rtt[i]
		l.Lost += b.lst[i] - a.lst[i]
		r := float64(d) / secs
		l.MinSwitchPerSec = math.Min(l.MinSwitchPerSec, r)
		l.MaxSwitchPerSec = math.Max(l.MaxSwitchPerSec, r)
	}
	l.ResponsesPerSec = float64(l.Responses) / secs
	l.FlowModsPerSec = float64(fm) / secs
	if l.Responses > 0 {
		l.AvgRTTMicros = float64(rtt) / float64(l.Responses) / 1e3
	}
	return l
}

// dial connects to addr, retrying until ctx is done so that a controller
// that is still starting up can be benchmarked.
func dial(ctx context.Context, addr string) (net.Conn, error) {
	var d net.Dialer
	for {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			return c, nil
		}
		t := time.NewTimer(50 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("connect %s: %w", addr, err)
		case <-t.C:
		}
	}
}

// Run connects cfg.Switches emulated switches to cfg.Controller, waits until
// all of them completed the handshake, runs the warm-up and then cfg.Loops
// measured loops. It fails if a connection breaks or ctx is done.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("cbench config: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var sw []*emuSwitch
	defer func() {
		cancel()
		for _, s := range sw {
			s.conn.Close()
		}
		wg.Wait()
	}()

	base := time.Now()
	cctx, ccancel := context.WithTimeout(ctx, cfg.ConnectTimeout)
	defer ccancel()
	errc := make(chan error, 2*cfg.Switches)
	for i := 0; i < cfg.Switches; i++ {
		c, err := dial(cctx, cfg.Controller)
		if err != nil {
			return nil, fmt.Errorf("switch %d: %w", i+1, err)
		}
		s := newSwitch(i, &cfg, c, base)
		sw = append(sw, s)
		wg.Add(2)
		go func() {
			defer wg.Done()
			if err := s.readLoop(); err != nil && ctx.Err() == nil {
				errc <- err
			}
		}()
		go func() {
			defer wg.Done()
			if err := s.writeLoop(ctx); err != nil && ctx.Err() == nil {
				errc <- err
			}
		}()
	}
	for _, s := range sw {
		select {
		case <-s.ready:
		case err := <-errc:
			return nil, err
		case <-cctx.Done():
			return nil, fmt.Errorf("switch %d: no FEATURES_REQUEST from %s within %v: %w",
				s.idx+1, cfg.Controller, cfg.ConnectTimeout, cctx.Err())
		}
	}

	wait := func(d time.Duration) error {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return nil
		case err := <-errc:
			return err
		case <-ctx.Done():
			return fmt.Errorf("cbench run: %w", ctx.Err())
		}
	}
	if err := wait(cfg.Warmup); err != nil {
		return nil, err
	}
	res := &Result{
		Controller:    cfg.Controller,
		Mode:          cfg.Mode,
		Switches:      cfg.Switches,
		MACs:          cfg.MACs,
		Window:        cfg.window(),
		LoopSeconds:   cfg.Duration.Seconds(),
		WarmupSeconds: cfg.Warmup.Seconds(),
	}
	first, err := takeSnapshot(sw, cfg.ControllerPID)
	if err != nil {
		return nil, err
	}
	prev := first
	for i := 0; i < cfg.Loops; i++ {
		if err := wait(cfg.Duration); err != nil {
			return nil, err
		}
		cur, err := takeSnapshot(sw, cfg.ControllerPID)
		if err != nil {
			return nil, err
		}
		res.Loops = append(res.Loops, loopBetween(prev, cur))
		prev = cur
	}
	all := loopBetween(first, prev)
	res.FlowModsPerSec = all.FlowModsPerSec
	res.AvgRTTMicros = all.AvgRTTMicros
	if all.Responses > 0 {
		res.GeneratorCPUPerResponse = float64(prev.cpu-first.cpu) / float64(time.Microsecond) / float64(all.Responses)
		res.ControllerCPUPerResponse = float64(prev.ctrlCPU-first.ctrlCPU) / float64(time.Microsecond) / float64(all.Responses)
		res.ControllerSysCPUPerResponse = float64(prev.ctrlSys-first.ctrlSys) / float64(time.Microsecond) / float64(all.Responses)
	}
	if all.Seconds > 0 {
		res.GeneratorCPUs = (prev.cpu - first.cpu).Seconds() / all.Seconds
		res.ControllerCPUs = (prev.ctrlCPU - first.ctrlCPU).Seconds() / all.Seconds
	}
	if cfg.ControllerPID > 0 {
		if res.ControllerPeakRSS, err = pidPeakRSS(cfg.ControllerPID); err != nil {
			return nil, err
		}
	}
	res.MinSwitchResponses = math.MaxUint64
	for i := range prev.resp {
		res.MinSwitchResponses = min(res.MinSwitchResponses, prev.resp[i]-first.resp[i])
	}
	for _, s := range sw {
		res.Lost += s.lost.Load()
		res.OtherPacketOuts += s.otherPOs.Load()
		res.Errors += s.ofErrors.Load()
		if e := s.firstErr.Load(); e != nil && res.FirstError == "" {
			res.FirstError = *e
		}
	}
	res.summarize()
	return res, nil
}

// summarize fills Min, Max, Median, Avg and Stdev from Loops.
func (r *Result) summarize() {
	v := make([]float64, len(r.Loops))
	for i, l := range r.Loops {
		v[i] = l.ResponsesPerSec
	}
	if len(v) == 0 {
		return
	}
	sort.Float64s(v)
	r.Min, r.Max = v[0], v[len(v)-1]
	if n := len(v); n%2 == 1 {
		r.Median = v[n/2]
	} else {
		r.Median = (v[n/2-1] + v[n/2]) / 2
	}
	var s, sq float64
	for _, x := range v {
		s += x
	}
	r.Avg = s / float64(len(v))
	for _, x := range v {
		sq += (x - r.Avg) * (x - r.Avg)
	}
	r.Stdev = math.Sqrt(sq / float64(len(v)))
}
