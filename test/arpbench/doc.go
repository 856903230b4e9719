// Command arpbench measures ARP answer latency on a lab of 3 hosts × 2
// guests: first with ovsmesh and proxy ARP (a warm table: the asking
// host's datapath answers), then, in the same run and the same lab, under
// OVS NORMAL (the request is flooded and the target guest's kernel
// answers). It prints the median of COUNT arpings per pair and the
// ratio ovsmesh/NORMAL.
//
// A full mesh of 3 hosts under NORMAL is a broadcast loop, so for the
// NORMAL phase the controller is stopped, the bridges are set to
// fail_mode=standalone with one flow "actions=NORMAL", and the h1–h3
// tunnel is removed: the hosts form a line h1–h2–h3. The measured pairs
// (h1g1 to h1g2 on one host, h1g1 to h2g1 across one tunnel) take the
// same path in both phases.
//
// Usage (root, from the repository root, after make build):
//
//	go run ./test/arpbench -ovsmesh bin/ovsmesh [-count 100] [-tunnel vxlan]
package main
