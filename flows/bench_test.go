package flows

import (
	"bytes"
	"testing"

	openflow "github.com/netrack/openflow"
	"github.com/netrack/openflow/ofp"
)

// The benchmarks compare ovsmesh's append encoders and slice decoders
// with netrack/openflow's reflection-based io.WriterTo/ReaderFrom path
// on the two hot messages:
//
//	go test ./flows -run '^$' -bench . -benchmem

func BenchmarkEncodeFlowMod(b *testing.B) {
	b.ReportAllocs()
	buf := make([]byte, 0, 256)
	m := AddFlow(flowKnownSrc)
	for i := 0; b.Loop(); i++ {
		var err error
		buf, err = Encode(buf[:0], uint32(i), m)
		if err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNetrackFlowMod(b *testing.B) {
	b.ReportAllocs()
	var buf bytes.Buffer
	fm := netrackFlowMod(AddFlow(flowKnownSrc))
	for i := 0; b.Loop(); i++ {
		buf.Reset()
		req := openflow.NewRequest(openflow.TypeFlowMod, fm)
		req.Header.Transaction = uint32(i)
		if _, err := req.WriteTo(&buf); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodePacketOut(b *testing.B) {
	b.ReportAllocs()
	buf := make([]byte, 0, 256)
	m := PacketOut{InPort: PortController, Actions: []Action{Output{Port: PortTable}}, Data: frame}
	for i := 0; b.Loop(); i++ {
		buf, _ = Encode(buf[:0], uint32(i), m)
	}
}

func BenchmarkNetrackPacketOut(b *testing.B) {
	b.ReportAllocs()
	var buf bytes.Buffer
	po := &ofp.PacketOut{
		Buffer: ofp.NoBuffer, InPort: ofp.PortController,
		Actions: ofp.Actions{&ofp.ActionOutput{Port: ofp.PortTable}}, Data: frame,
	}
	for i := 0; b.Loop(); i++ {
		buf.Reset()
		req := openflow.NewRequest(openflow.TypePacketOut, po)
		req.Header.Transaction = uint32(i)
		if _, err := req.WriteTo(&buf); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodePacketIn(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		pi, err := DecodePacketIn(packetInBody)
		if err != nil || pi.InPort != 3 {
			b.Fatal(pi, err)
		}
	}
}

func BenchmarkNetrackPacketIn(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		var pi ofp.PacketIn
		if _, err := pi.ReadFrom(bytes.NewReader(packetInBody)); err != nil {
			b.Fatal(err)
		}
		if f := pi.Match.Field(ofp.XMTypeInPort); f == nil || f.Value.UInt32() != 3 {
			b.Fatal("no in_port")
		}
	}
}

// BenchmarkEncodeFlowModPointer passes *FlowMod: the value receivers make
// the pointer a Message too, and a pointer in an interface needs no copy
// of the 200-byte FlowMod on the heap.
func BenchmarkEncodeFlowModPointer(b *testing.B) {
	b.ReportAllocs()
	buf := make([]byte, 0, 256)
	m := AddFlow(flowKnownSrc)
	for i := 0; b.Loop(); i++ {
		buf, _ = Encode(buf[:0], uint32(i), &m)
	}
}
