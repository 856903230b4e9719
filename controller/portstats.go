package controller

import (
	"context"
	"fmt"

	"github.com/ovsmesh/ovsmesh/flows"
)

// PortStats fetches the counters of every port of the switch dpid with
// an OFPMP_PORT_STATS multipart request (OpenFlow 1.3.5 §7.3.5.6), in
// the order the switch listed them. Counters are totals (packets,
// bytes) since each port was added. It fails with ErrNoSwitch when dpid
// is not connected, with the switch's error when it refuses the
// request, and with ctx's error or errSessionEnded when no complete
// reply arrives.
func (c *Controller) PortStats(ctx context.Context, dpid flows.DPID) ([]flows.PortStats, error) {
	c.mu.Lock()
	s := c.sessions[dpid]
	c.mu.Unlock()
	if s == nil {
		return nil, fmt.Errorf("port stats of %s: %w", dpid.String(), ErrNoSwitch)
	}
	parts, err := s.multipart(ctx, flows.PortStatsRequest{Port: flows.PortAny})
	if err != nil {
		return nil, fmt.Errorf("port stats of %s: %w", dpid.String(), err)
	}
	var out []flows.PortStats
	for _, body := range parts {
		entries, err := flows.DecodePortStats(body)
		if err != nil {
			return nil, fmt.Errorf("port stats of %s: %w", dpid.String(), err)
		}
		out = append(out, entries...)
	}
	return out, nil
}
