package controller

import (
	"context"
	"errors"
	"fmt"

	"github.com/ovsmesh/ovsmesh/flows"
)

// ErrNoSwitch is returned (wrapped, with the DPID) by requests for a
// switch that has no OpenFlow session.
var ErrNoSwitch = errors.New("no switch connected with that datapath ID")

// FlowStats fetches every flow of the switch dpid, in all tables, with
// an OFPMP_FLOW multipart request, and returns them in the order the
// switch listed them. It fails with ErrNoSwitch when dpid is not
// connected, with the switch's error when it refuses the request, and
// with ctx's error or errSessionEnded when no complete reply arrives.
func (c *Controller) FlowStats(ctx context.Context, dpid flows.DPID) ([]flows.FlowStats, error) {
	c.mu.Lock()
	s := c.sessions[dpid]
	c.mu.Unlock()
	if s == nil {
		return nil, fmt.Errorf("flow stats of %s: %w", dpid.String(), ErrNoSwitch)
	}
	return s.FlowStats(ctx, flows.FlowStatsRequest{Table: flows.TableAll})
}

// FlowStats fetches the switch's flows that req selects (a table or
// TableAll, a cookie under a mask) with an OFPMP_FLOW multipart request,
// in the order the switch lists them. Apps call it outside their
// handlers (it waits for the reply): to read a flow's counters, which
// OVS credits even for packets that took a datapath flow cached before
// the rule existed. It fails like Controller.FlowStats.
func (s *session) FlowStats(ctx context.Context, req flows.FlowStatsRequest) ([]flows.FlowStats, error) {
	parts, err := s.multipart(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("flow stats of %s: %w", s.dpid.String(), err)
	}
	var out []flows.FlowStats
	for _, body := range parts {
		entries, err := flows.DecodeFlowStats(body)
		if err != nil {
			return nil, fmt.Errorf("flow stats of %s: %w", s.dpid.String(), err)
		}
		out = append(out, entries...)
	}
	return out, nil
}
