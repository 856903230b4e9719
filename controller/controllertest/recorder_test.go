package controllertest

import (
	"context"
	"testing"

	"github.com/ovsmesh/ovsmesh/controller"
	"github.com/ovsmesh/ovsmesh/flows"
)

var _ controller.Switch = (*Recorder)(nil)

func TestRecorder(t *testing.T) {
	r := &Recorder{ID: 7, PortList: []flows.Port{{No: 1, Name: "p1"}}}
	r.Ports()[0].No = 9
	if r.Ports()[0].No != 1 {
		t.Errorf("Ports returned the recorder's own slice")
	}
	r.Send(context.Background(), flows.BarrierRequest{}, flows.AddFlow(flows.Flow{Table: flows.TableL2}))
	if got := r.Take(); len(got) != 2 || got[0] != "barrier" || got[1] != "add cookie=0x0, table=3, priority=0 actions=drop" {
		t.Errorf("Take() = %q", got)
	}
	if got := r.Raw(); len(got) != 0 {
		t.Errorf("Take did not clear: %v", got)
	}
}
