package portsec

import (
	"context"

	"github.com/ovsmesh/ovsmesh/apps"
	"github.com/ovsmesh/ovsmesh/controller"
	"github.com/ovsmesh/ovsmesh/flows"
)

// counters sums the packets of the port_security flows of every
// connected mesh switch by cookie object (kind and port id). Switches
// that fail to answer are skipped and counted.
func (a *App) counters(ctx context.Context) map[uint32]uint64 {
	a.mu.Lock()
	var sws []controller.Switch
	for _, c := range a.switches.All() {
		sws = append(sws, c.SW)
	}
	a.mu.Unlock()
	out := map[uint32]uint64{}
	for _, sw := range sws {
		fs, err := apps.FlowStats(ctx, sw, flows.FlowStatsRequest{Table: TablePortSecurity,
			Cookie: flows.NewCookie(0, ID, 0), CookieMask: flows.CookieAppMask})
		if err != nil {
			a.m.pollErrors.Inc()
			a.log.Debug("port security flow stats failed", "dpid", sw.DPID().String(), "err", err)
			continue
		}
		for _, f := range fs {
			out[f.Cookie.Object()] += f.Packets
		}
	}
	return out
}

// byReason adds counters up by kind, over every port.
func byReason(cs map[uint32]uint64) map[string]uint64 {
	out := map[string]uint64{}
	for k := kindAllow; k <= kindClaim; k++ {
		out[reasons[k]] = 0
	}
	for obj, n := range cs {
		if k := obj >> 24; k != kindPass && int(k) < len(reasons) {
			out[reasons[k]] += n
		}
	}
	return out
}

// ofPort adds up the counters of port id by kind.
func ofPort(cs map[uint32]uint64, id uint32) map[string]uint64 {
	out := map[string]uint64{}
	for k := kindAllow; k <= kindClaim; k++ {
		out[reasons[k]] = cs[objectOf(k, id)]
	}
	return out
}

// poll refreshes the packets metric.
func (a *App) poll(ctx context.Context) {
	for reason, n := range byReason(a.counters(ctx)) {
		a.m.packets.WithLabelValues(reason).Set(float64(n))
	}
}
