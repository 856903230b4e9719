package proxyarp

import (
	"context"
	"testing"
)

// FuzzParse feeds arbitrary frames to the parser and the handler: no
// panic, a refused frame changes nothing, and an accepted one is a
// well-formed Ethernet/IPv4 ARP packet.
func FuzzParse(f *testing.F) {
	f.Add(request(macA, ipA, ipB))
	f.Add(reply(macB, ipB, macA, ipA))
	f.Add(garp(macC, ipC))
	f.Add([]byte{})
	f.Add(request(macA, ipA, ipB)[:30])
	p := newParser()
	a, sw := newMesh3(&testing.T{}, Options{})
	f.Fuzz(func(t *testing.T, frame []byte) {
		pk, reason := p.parse(frame)
		if reason == "" && (len(pk.SHA) != 6 || len(pk.THA) != 6 || !pk.SPA.Is4() || !pk.TPA.Is4() || (pk.Op != 1 && pk.Op != 2)) {
			t.Fatalf("accepted %x as %+v", frame, pk)
		}
		before := a.table.Len()
		if err := a.PacketIn(context.Background(), sw["h1"], pin(1, frame)); err != nil {
			t.Fatal(err)
		}
		if reason != "" && a.table.Len() != before {
			t.Fatalf("refused frame %x (%s) changed the table", frame, reason)
		}
		sw["h1"].Take()
	})
}
