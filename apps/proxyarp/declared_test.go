package proxyarp

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ovsmesh/ovsmesh/controller/controllertest"
	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/topo"
)

// TestDeclaredBindingsAreStatic: a binding port security declares
// replaces a learned one of another MAC at once, on every host; a claim
// of it by anyone else is refused without verification (no probe, no
// watch: the claimant is held off); it never ages; it goes when the
// declaration goes; a configured static binding of the same IP wins.
func TestDeclaredBindingsAreStatic(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	clk := newClock()
	decl := topo.NewDeclaredTable()
	decl.Put(topo.DeclaredBinding{IP: ipB, MAC: macB, Host: "h2", Port: "g1", Source: "ovsdb"})
	decl.Put(topo.DeclaredBinding{IP: ipS, MAC: macC, Host: "h3", Port: "g2", Source: "api"}) // the file's static wins
	a, sw := newMesh3(t, Options{Clock: clk, Declared: decl, Static: []Static{{IP: ipS, MAC: macS}}})
	if b, ok := a.table.Get(ipB); !ok || !b.Static || b.MAC.String() != macB.String() {
		t.Fatalf("declared binding at start: %+v %v", b, ok)
	}
	if b, _ := a.table.Get(ipS); b.MAC.String() != macS.String() {
		t.Errorf("the file's static binding of %s lost to a declared one: %+v", ipS, b)
	}
	// A learned A; then A's IP is declared for another MAC (C), while Run follows.
	a.PacketIn(ctx, sw["h1"], pin(1, garp(macA, ipA)))
	go a.Run(ctx)
	for _, r := range sw {
		r.Take()
	}
	// A learned C at 10.0.3.2 declared with its own MAC: static in its
	// place, no flow touched.
	a.PacketIn(ctx, sw["h3"], pin(2, garp(macC, ipC)))
	for _, r := range sw {
		r.Take()
	}
	decl.Put(topo.DeclaredBinding{IP: ipC, MAC: macC, Host: "h3", Port: "g2", Source: "ovsdb"})
	deadline := time.Now().Add(5 * time.Second)
	for {
		a.mu.Lock()
		b, _ := a.table.Get(ipC)
		a.mu.Unlock()
		if b.Static {
			if b.OFPort != 2 || b.Host != "h3" {
				t.Errorf("a learned binding declared with its MAC lost its place: %+v", b)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the learned binding of %s did not become static: %+v", ipC, b)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := controllertest.TakeAll(sw); got != "" {
		t.Errorf("making a learned binding static sent:\n%s", got)
	}
	decl.Put(topo.DeclaredBinding{IP: ipA, MAC: macC, Host: "h3", Port: "g2", Source: "config"})
	deadline = time.Now().Add(5 * time.Second)
	for {
		a.mu.Lock()
		b, _ := a.table.Get(ipA)
		a.mu.Unlock()
		if b.Static && b.MAC.String() == macC.String() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the declared binding did not replace the learned one: %+v", b)
		}
		time.Sleep(5 * time.Millisecond)
	}
	for h, r := range sw {
		if got := strings.Join(r.Take(), "\n"); !strings.Contains(got, "arp_tpa=10.0.1.1,arp_op=1 actions=move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[],set_field:02:00:00:00:03:02->eth_src") {
			t.Errorf("%s does not answer %s with the declared MAC:\n%s", h, ipA, got)
		}
	}
	// A claims it back: refused at once, held off, nobody probed.
	a.PacketIn(ctx, sw["h1"], held(1, ipA, garp(macA, ipA)))
	got := strings.Join(sw["h1"].Take(), "\n")
	a.mu.Lock()
	pending := len(a.pending)
	a.mu.Unlock()
	if !strings.Contains(got, "priority=250") || strings.Contains(got, "priority=260") || pending != 0 {
		t.Errorf("the claim of a declared binding was not refused outright (hold, no watch):\n%s", got)
	}
	// Never aged: the owner's known-sender flow idling out keeps it.
	a.table.Put(topo.ARPBinding{IP: ipA, MAC: macC, Static: true, Host: "h3", DPID: sw["h3"].ID, OFPort: 2})
	sf := a.plan.senderFlow(topo.ARPBinding{IP: ipA, MAC: macC, DPID: sw["h3"].ID, OFPort: 2})
	fr := &flows.FlowRemoved{Cookie: sf.Cookie, Table: sf.Table, Priority: sf.Priority, Reason: flows.RemovedIdleTimeout, Match: sf.Match}
	if err := a.FlowRemoved(ctx, sw["h3"], fr); err != nil {
		t.Fatal(err)
	}
	if b, ok := a.table.Get(ipA); !ok || !b.Static {
		t.Errorf("a declared binding aged out: %+v %v", b, ok)
	}
	// Undeclared: gone everywhere.
	decl.Delete(ipA)
	deadline = time.Now().Add(5 * time.Second)
	for {
		a.mu.Lock()
		_, ok := a.table.Get(ipA)
		a.mu.Unlock()
		if !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the binding stayed after its declaration went")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
