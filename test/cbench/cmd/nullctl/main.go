// Command nullctl runs cbench.ServeNull: an OpenFlow 1.3 endpoint that
// answers every PACKET_IN with a PACKET_OUT and does nothing else. In
// test/cbench/compare.sh it is the ceiling peer: what any controller can
// reach on this machine under the same ofcbench load.
//
// Usage: nullctl -listen 127.0.0.1:6653
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/ovsmesh/ovsmesh/test/cbench"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:6653", "TCP address host:port to listen on")
	flag.Parse()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "nullctl:", err)
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := cbench.ServeNull(ctx, ln); err != nil {
		fmt.Fprintln(os.Stderr, "nullctl:", err)
		os.Exit(1)
	}
}
