package api

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/ovsmesh/ovsmesh/controller"
	"github.com/ovsmesh/ovsmesh/flows"
)

// TopologyOptions configures a TopologyServer.
type TopologyOptions struct {
	// Interval is how often every connected switch's port counters are
	// sampled; default 2 s. A switch's request is given up after one
	// interval.
	Interval time.Duration
	// Parallel bounds how many switches are asked at once; default 8.
	Parallel int
	// GuestSample is how many guest MACs are listed per host; default 3.
	GuestSample int
	// NATGateway, if set, names the NAT gateway host.
	NATGateway func() string
	// Trace, if set, returns the hops of the last traced packet.
	Trace func() []TraceHop
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger gets failed samples at debug level; nil discards.
	Logger *slog.Logger
}

// TopologyServer serves GET /api/v1/topology and runs the port-stats
// sampler whose rates it reports. Mount it through Sources.Topology and
// run Run for as long as the API serves.
type TopologyServer struct {
	src     TopologySource
	opts    TopologyOptions
	sampler *sampler
}

// NewTopologyServer returns a TopologyServer reading src; it samples
// nothing until Run.
func NewTopologyServer(src TopologySource, o TopologyOptions) *TopologyServer {
	if o.Interval <= 0 {
		o.Interval = 2 * time.Second
	}
	if o.Parallel <= 0 {
		o.Parallel = 8
	}
	if o.GuestSample <= 0 {
		o.GuestSample = 3
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &TopologyServer{src: src, opts: o, sampler: newSampler()}
}

// Run samples the port counters of every connected switch once per
// interval, at most Parallel switches at a time, until ctx is done. A
// round that takes longer than the interval delays the next one; a
// switch that fails to answer keeps its previous sample.
func (t *TopologyServer) Run(ctx context.Context) {
	tick := time.NewTicker(t.opts.Interval)
	defer tick.Stop()
	for {
		t.sample(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// sample runs one round over the connected switches.
func (t *TopologyServer) sample(ctx context.Context) {
	sws := t.src.Switches()
	keep := make(map[flows.DPID]bool, len(sws))
	work := make(chan controller.SwitchInfo)
	var wg sync.WaitGroup
	for range min(t.opts.Parallel, len(sws)) {
		wg.Go(func() {
			for sw := range work {
				rctx, cancel := context.WithTimeout(ctx, t.opts.Interval)
				stats, err := t.src.PortStats(rctx, sw.DPID)
				cancel()
				if err != nil {
					t.opts.Logger.Debug("port stats sample failed", "dpid", sw.DPID.String(), "err", err)
					continue
				}
				t.sampler.record(sw.DPID, sw.Since, t.opts.Now(), stats)
			}
		})
	}
	for _, sw := range sws {
		keep[sw.DPID] = true
		select {
		case work <- sw:
		case <-ctx.Done():
		}
	}
	close(work)
	wg.Wait()
	t.sampler.retain(keep)
}

// ServeHTTP answers GET /api/v1/topology with compact JSON, gzipped
// when the client accepts it (the answer for 100 hosts is a few hundred
// kilobytes, mostly tunnel edges).
func (t *TopologyServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body := buildTopology(t.src, t.sampler, t.opts, t.opts.Now())
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Add("Vary", "Accept-Encoding")
	var out io.Writer = w
	if acceptsGzip(r) {
		w.Header().Set("Content-Encoding", "gzip")
		zw, _ := gzip.NewWriterLevel(w, gzip.BestSpeed)
		defer zw.Close()
		out = zw
	}
	w.WriteHeader(http.StatusOK)
	json.NewEncoder(out).Encode(body)
}

// acceptsGzip reports whether r's Accept-Encoding lists gzip.
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		name, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(name), "gzip") && strings.ReplaceAll(q, " ", "") != "q=0" {
			return true
		}
	}
	return false
}
