package controller

import (
	"context"
	"fmt"

	"github.com/ovsmesh/ovsmesh/flows"
)

// GroupDesc fetches the switch's groups with their buckets (an
// OFPMP_GROUP_DESC multipart request, OpenFlow 1.3.5 §7.3.5.11), in the
// order the switch lists them. Apps call it outside their handlers (it
// waits for the reply): the trace app reads a flood group's buckets to
// follow a packet through it. It fails like FlowStats.
func (s *session) GroupDesc(ctx context.Context) ([]flows.GroupDesc, error) {
	parts, err := s.multipart(ctx, flows.GroupDescRequest{})
	if err != nil {
		return nil, fmt.Errorf("group desc of %s: %w", s.dpid.String(), err)
	}
	var out []flows.GroupDesc
	for _, body := range parts {
		gs, err := flows.DecodeGroupDesc(body)
		if err != nil {
			return nil, fmt.Errorf("group desc of %s: %w", s.dpid.String(), err)
		}
		out = append(out, gs...)
	}
	return out, nil
}
