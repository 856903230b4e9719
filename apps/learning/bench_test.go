package learning

import (
	"context"
	"testing"

	"github.com/ovsmesh/ovsmesh/flows"
)

// encodingSwitch implements controller.Switch by encoding what it is sent
// into one reused buffer, as a session does, so that a benchmark counts
// the encoding and nothing else.
type encodingSwitch struct {
	id    flows.DPID
	ports []flows.Port
	buf   []byte
}

func (s *encodingSwitch) DPID() flows.DPID    { return s.id }
func (s *encodingSwitch) Ports() []flows.Port { return s.ports }
func (s *encodingSwitch) Send(_ context.Context, msgs ...flows.Message) error {
	for _, m := range msgs {
		var err error
		if s.buf, err = flows.Encode(s.buf, 1, m); err != nil {
			return err
		}
	}
	return nil
}

// BenchmarkPacketInKnown measures the packet-in path of a MAC the app
// already knows on a standalone switch (the switch lost its flows): the
// steady state of test/cbench. Per op: decode, lookup, two flow-mods, a
// barrier and a packet-out, encoded.
// go test ./apps/learning -run '^$' -bench PacketInKnown -benchmem
func BenchmarkPacketInKnown(b *testing.B) {
	ctx := context.Background()
	sw := &encodingSwitch{id: 42, ports: []flows.Port{port(1, "p1"), port(2, "p2")}}
	a := New(Options{Generation: 1})
	if err := a.SwitchUp(ctx, sw); err != nil {
		b.Fatal(err)
	}
	pis := []*flows.PacketIn{packetIn(1, macA, macB), packetIn(2, macB, macA)}
	for _, pi := range pis {
		if err := a.PacketIn(ctx, sw, pi); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		sw.buf = sw.buf[:0]
		if err := a.PacketIn(ctx, sw, pis[i&1]); err != nil {
			b.Fatal(err)
		}
	}
}
