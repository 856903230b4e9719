package lab_test

import (
	"context"
	"fmt"
	"time"

	"github.com/ovsmesh/ovsmesh/lab"
)

// A typical integration test: bring a lab up, start ovsmesh with the
// generated configuration, attach the guests once ovsmesh has made br-int,
// then ping across hosts while counting encapsulated ARP on the underlay.
func ExampleUp() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	l, err := lab.Up(ctx, lab.Options{Dir: "/tmp/example-lab", Prefix: "ex", Slot: 5, Hosts: 3, Guests: 2})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer l.Down(context.WithoutCancel(ctx))

	// Start the controller with l.Config() (or l.ConfigPath()) here.

	if err := l.AttachGuests(ctx); err != nil {
		fmt.Println(err)
		return
	}
	capt, err := l.StartCapture(ctx, l.UnderlayNS(), l.UnderlayPort("h3"), "udp port 4789 and udp[28:2] = 0x0806")
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := l.Ping(ctx, "h1g1", lab.GuestIP(3, 2), 3)
	arps, _ := capt.Stop()
	fmt.Println(res.OK(), err, arps)
}
