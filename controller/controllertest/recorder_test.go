package controllertest

import (
	"context"
	"os"
	"path/filepath"
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
	r.Send(context.Background(), flows.BarrierRequest{}, flows.AddFlow(flows.Flow{Table: 3}))
	if got := r.Take(); len(got) != 2 || got[0] != "barrier" || got[1] != "add cookie=0x0, table=3, priority=0 actions=drop" {
		t.Errorf("Take() = %q", got)
	}
	if got := r.Raw(); len(got) != 0 {
		t.Errorf("Take did not clear: %v", got)
	}
}

func TestTakeAll(t *testing.T) {
	ctx := context.Background()
	a, b := &Recorder{}, &Recorder{}
	b.Send(ctx, flows.BarrierRequest{})
	a.Send(ctx, flows.BarrierRequest{}, flows.BarrierRequest{})
	recs := map[string]*Recorder{"h2": b, "h1": a}
	if got, want := TakeAll(recs), "[h1] barrier\n[h1] barrier\n[h2] barrier\n"; got != want {
		t.Errorf("TakeAll = %q, want %q", got, want)
	}
	if got := TakeAll(recs); got != "" {
		t.Errorf("TakeAll did not clear: %q", got)
	}
}

func TestGolden(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.flows")
	Golden(t, path, "add flow\n", true) // writes, then matches
	if b, err := os.ReadFile(path); err != nil || string(b) != "add flow\n" {
		t.Fatalf("golden file %q, %v", b, err)
	}
	Golden(t, path, "add flow\n", false)
}

func TestRecorderChecksPipeline(t *testing.T) {
	p, err := flows.NewPipeline([]flows.Stage{{Table: 0, Name: "a", Next: []flows.TableID{2}}, {Table: 2, Name: "b"}, {Table: 3, Name: "c"}})
	if err != nil {
		t.Fatal(err)
	}
	r := &Recorder{Pipeline: p}
	if err := r.Send(context.Background(), flows.AddFlow(flows.Flow{Table: 0, Goto: 3})); err == nil {
		t.Error("a goto to an undeclared successor was accepted")
	}
	if err := r.Send(context.Background(), flows.AddFlow(flows.Flow{Table: 0, Goto: 2})); err != nil {
		t.Errorf("a declared goto was refused: %v", err)
	}
	if got := r.Take(); len(got) != 1 {
		t.Errorf("recorded %q, want the declared flow only", got)
	}
}
