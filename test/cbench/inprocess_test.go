package cbench_test

import (
	"context"
	"testing"
	"time"

	"github.com/ovsmesh/ovsmesh/apps"
	"github.com/ovsmesh/ovsmesh/apps/learning"
	"github.com/ovsmesh/ovsmesh/config"
	"github.com/ovsmesh/ovsmesh/controller"
	"github.com/ovsmesh/ovsmesh/test/cbench"
	"github.com/ovsmesh/ovsmesh/topo"
)

// BenchmarkInProcess runs the generator against an in-process ovsmesh
// controller with the learning app, for profiling the packet-in path
// (go test ./test/cbench -run '^$' -bench InProcess -cpuprofile cpu.out).
// The comparison with ovs-testcontroller is test/cbench/compare.sh.
func BenchmarkInProcess(b *testing.B) {
	for _, mode := range []cbench.Mode{cbench.Latency, cbench.Throughput} {
		b.Run(string(mode), func(b *testing.B) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			ctl := inProcess(b, nil)
			if err := ctl.Listen(); err != nil {
				b.Fatal(err)
			}
			go ctl.Serve(ctx)
			b.ResetTimer()
			res, err := cbench.Run(ctx, cbench.Config{Controller: ctl.Addrs()[0].String(), Mode: mode,
				Loops: 1, Duration: time.Duration(b.N) * time.Millisecond, Warmup: time.Second, Table: 10})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(res.Median, "responses/s")
		})
	}
}

// inProcess assembles a controller with the learning app alone, as the
// registry composes it, its MAC table in st (nil: memory only).
func inProcess(b testing.TB, st *topo.State) *controller.Controller {
	b.Helper()
	reg, err := apps.NewRegistry(learning.Spec)
	if err != nil {
		b.Fatal(err)
	}
	cfg, err := config.Parse(nil, reg.Sections()...)
	if err != nil {
		b.Fatal(err)
	}
	run, err := reg.Start(cfg, apps.Env{Generation: 1, State: st})
	if err != nil {
		b.Fatal(err)
	}
	ctl, err := controller.New(controller.Options{Listen: []string{"127.0.0.1:0"}, Generation: 1,
		Pipeline: reg.Pipeline(), Baseline: reg.Baseline(1, cfg)}, run.Registrations...)
	if err != nil {
		b.Fatal(err)
	}
	return ctl
}
