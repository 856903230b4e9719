package nat

import (
	"context"
	"fmt"
	"time"

	"github.com/ovsmesh/ovsmesh/apps"
	"github.com/ovsmesh/ovsmesh/controller"
	"github.com/ovsmesh/ovsmesh/flows"
)

// pollEvery is how often Run polls the NAT flows' counters for metrics.
const pollEvery = 10 * time.Second

// Counter is the packets and bytes a rule's or a path's flows counted.
type Counter struct {
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
}

// pathNames name the fixed flows whose counters are shown.
var pathNames = map[uint32]string{
	fixedOut:         "masquerade_out",
	fixedUnforwarded: "unforwarded_dropped",
	fixedOutside:     "outside_dropped",
	fixedInvalid:     "invalid_dropped",
}

// counters sums the NAT flows' counters of every connected mesh switch
// by cookie object. Switches that fail to answer are skipped and
// counted.
func (a *App) counters(ctx context.Context) map[uint32]Counter {
	a.mu.Lock()
	var sws []controller.Switch
	for _, c := range a.switches.All() {
		if c.State.ports.Host != "" {
			sws = append(sws, c.SW)
		}
	}
	a.mu.Unlock()
	out := map[uint32]Counter{}
	for _, sw := range sws {
		fs, err := apps.FlowStats(ctx, sw, flows.FlowStatsRequest{Table: flows.TableAll,
			Cookie: flows.NewCookie(0, ID, 0), CookieMask: flows.CookieAppMask})
		if err != nil {
			a.m.pollErrors.Inc()
			a.log.Debug("NAT flow stats failed", "dpid", sw.DPID().String(), "err", err)
			continue
		}
		for _, f := range fs {
			c := out[f.Cookie.Object()]
			c.Packets += f.Packets
			c.Bytes += f.Bytes
			out[f.Cookie.Object()] = c
		}
	}
	return out
}

// poll refreshes the packets and bytes metrics.
func (a *App) poll(ctx context.Context) {
	cs := a.counters(ctx)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.m.packets.Reset()
	a.m.bytes.Reset()
	set := func(name string, c Counter) {
		a.m.packets.WithLabelValues(name).Set(float64(c.Packets))
		a.m.bytes.WithLabelValues(name).Set(float64(c.Bytes))
	}
	for obj, name := range pathNames {
		set(name, cs[obj])
	}
	for k, f := range a.forwards {
		set(fmt.Sprintf("forward %s", k), cs[f.Rule.object()])
	}
	for k, r := range a.redirects {
		set(fmt.Sprintf("redirect %s", k), cs[r.Rule.object()])
	}
}
