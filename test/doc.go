// Package test is ovsmesh's integration suite on real Open vSwitch: each
// test brings up a lab (package lab: one network namespace per host, each
// with its own ovsdb-server and userspace ovs-vswitchd, guests in their own
// namespaces), starts the ovsmesh binary named by $OVSMESH_BIN against the
// lab's generated configuration, and checks the mesh end to end: the OVSDB
// state ovsmesh writes (bridge, controller, tunnels, repair, reload,
// unreachable hosts), guest-to-guest reachability on GRE and VXLAN (also
// behind a Linux bridge), packet-in quiescence, split-horizon flooding
// without loops, late and moved guests, a controller crash during traffic
// and the restart's cookie generation, and ofproto/trace. The topology
// page is driven in headless chromium (chromedp): on a lab with iperf3
// traffic, and at 100 hosts × 10,000 guests from fakes on loopback;
// screenshots go to $OVSMESH_ARTIFACTS (default /tmp/ovsmesh-artifacts),
// and to docs/topology.png with OVSMESH_UPDATE_SCREENSHOT=1 (`make
// screenshot`).
//
// The tests carry the build tag "integration" and need root and OVS:
//
//	make build
//	OVSMESH_BIN=$PWD/bin/ovsmesh go test -tags integration -p 1 -count=1 -timeout 15m -v ./test/
//
// (that is `make integration`). They skip with a message when the
// prerequisites or $OVSMESH_BIN are missing. Every lab uses its own
// namespace prefix and management slot, and is torn down, with the
// controller stopped by its pid, even when a test fails. On failure a test
// logs the controller's log tail and every host's flows, groups and
// `ovs-vsctl show`.
package test
