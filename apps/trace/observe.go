package trace

import (
	"context"
	"fmt"
	"time"

	"github.com/ovsmesh/ovsmesh/controller"
	"github.com/ovsmesh/ovsmesh/flows"
)

// cookie returns the cookie of probe seq's flow in table t: the probe's
// number (24 bits) and the table in the object, so the app drops
// packet-ins of other probes and one delete removes a probe's flows.
func (a *App) cookie(seq uint32, t flows.TableID) flows.Cookie {
	return flows.NewCookie(a.opts.Generation, ID, seq<<8|uint32(t))
}

// probeMask selects a probe's flows by cookie, whatever their
// generation and table: the app byte and the probe's number.
const probeMask = flows.CookieAppMask | 0xffffff00

// observeFlows returns probe seq's temporary flows for one switch: in
// every stage, at the top priority, a tagged packet whose stage bit is
// clear goes to the controller and stops there. The hard timeout removes
// them even if nobody else does.
func (a *App) observeFlows(seq uint32, arp bool) []flows.Message {
	var msgs []flows.Message
	for _, s := range a.stages {
		msgs = append(msgs, flows.AddFlow(flows.Flow{Table: s.Table, Priority: PrioObserve, Cookie: a.cookie(seq, s.Table),
			HardTimeout: uint16(a.opts.Config.FlowTimeout / time.Second),
			Match:       tagMatch(arp, a.bit[s.Table]), Actions: []flows.Action{flows.ToController}}))
	}
	return msgs
}

// install puts probe seq's flows on every switch in sws and checks they
// are there (the flow-stats reply comes after the flow-mods: OVS handles
// a connection's messages in order). It returns the switches that have
// them, and a warning for each that does not.
func (a *App) install(ctx context.Context, seq uint32, arp bool, sws []controller.Switch) ([]controller.Switch, []string) {
	var ok []controller.Switch
	var warnings []string
	msgs := a.observeFlows(seq, arp)
	for _, sw := range sws {
		if err := sw.Send(ctx, msgs...); err != nil {
			warnings = append(warnings, fmt.Sprintf("%s: installing the trace flows failed: %v", a.hostName(sw.DPID()), err))
			continue
		}
		ok = append(ok, sw)
	}
	var verified []controller.Switch
	for _, sw := range ok {
		st, isStatser := sw.(flowStatser)
		if !isStatser {
			verified = append(verified, sw)
			continue
		}
		fs, err := st.FlowStats(ctx, flows.FlowStatsRequest{Table: flows.TableAll, Cookie: a.cookie(seq, 0), CookieMask: probeMask})
		switch {
		case err != nil:
			warnings = append(warnings, fmt.Sprintf("%s: checking the trace flows failed: %v", a.hostName(sw.DPID()), err))
		case len(fs) != len(msgs):
			warnings = append(warnings, fmt.Sprintf("%s: %d of %d trace flows installed: the switch refused some (see the controller's log)",
				a.hostName(sw.DPID()), len(fs), len(msgs)))
		default:
			verified = append(verified, sw)
		}
	}
	return verified, warnings
}

// remove deletes probe seq's flows from every switch in sws. It does not
// wait: a switch that misses the delete loses them at their hard
// timeout.
func (a *App) remove(seq uint32, sws []controller.Switch) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	for _, sw := range sws {
		if err := sw.Send(ctx, flows.DeleteByCookie(a.cookie(seq, 0), probeMask)); err != nil {
			a.log.Debug("removing the trace flows failed; their hard timeout removes them", "dpid", sw.DPID().String(), "err", err)
		}
	}
}
