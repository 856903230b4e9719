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
	parts, err := s.multipart(ctx, flows.FlowStatsRequest{Table: flows.TableAll})
	if err != nil {
		return nil, fmt.Errorf("flow stats of %s: %w", dpid.String(), err)
	}
	var out []flows.FlowStats
	for _, body := range parts {
		entries, err := flows.DecodeFlowStats(body)
		if err != nil {
			return nil, fmt.Errorf("flow stats of %s: %w", dpid.String(), err)
		}
		out = append(out, entries...)
	}
	return out, nil
}
