package main

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/ovsmesh/ovsmesh/apps"
	"github.com/ovsmesh/ovsmesh/apps/learning"
	"github.com/ovsmesh/ovsmesh/config"
	"github.com/ovsmesh/ovsmesh/controller"
	"github.com/ovsmesh/ovsmesh/test/cbench"
	"github.com/ovsmesh/ovsmesh/topo"
)

// BenchmarkPacketInPersistence runs the cbench generator (16 switches ×
// 1000 MACs) against an in-process controller with the learning app,
// with the MAC table memory-only and journalled to a state file, to
// show what persistence costs the packet-in path. b.N is the measured
// time in milliseconds:
//
//	go test ./cmd/ovsmesh -run '^$' -bench PacketInPersistence -benchtime 3000x
func BenchmarkPacketInPersistence(b *testing.B) {
	for _, mode := range []cbench.Mode{cbench.Latency, cbench.Throughput} {
		for _, persist := range []bool{false, true} {
			name := string(mode) + "/memory-only"
			if persist {
				name = string(mode) + "/journal"
			}
			b.Run(name, func(b *testing.B) {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				var st *topo.State
				if persist {
					s, err := topo.OpenStore(filepath.Join(b.TempDir(), "state.db"), time.Second)
					if err != nil {
						b.Fatal(err)
					}
					defer s.Close()
					st = topo.NewState(s, topo.StateOptions{})
					defer st.Close()
				}
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
				table := run.Registrations[0].App.(*learning.App).Table()
				ctl, err := controller.New(controller.Options{Listen: []string{"127.0.0.1:0"}, Generation: 1,
					Pipeline: reg.Pipeline(), Baseline: reg.Baseline(1, cfg)}, run.Registrations...)
				if err != nil {
					b.Fatal(err)
				}
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
				b.ReportMetric(float64(table.Len()), "macs")
			})
		}
	}
}
