//go:build linux

// Command dpbench measures ovsmesh's datapath-facing figures on real Open
// vSwitch labs (package lab), each against a peer measured in the same
// run, for issue 13 ("Datapath first"):
//
//   - firstping: the cold first ping across hosts (2 hosts, GRE, one guest
//     each; both guests get a new MAC and IP before every trial and flush
//     their neighbour caches), RTT from `ping -c 1`, median over trials;
//     peers OVS NORMAL (the target's) and ovs-testcontroller (a reference),
//     alternated with ovsmesh in blocks of trials in the same lab;
//   - setups: flow setups per second through one ovs-vswitchd: a guest
//     sends frames, each from a new source MAC, to a guest the controller
//     already knows, keeping at most -setups-window of them outstanding
//     (cbench's throughput mode); a MAC counts as set up when its frame
//     reaches the destination, and dump-flows then checks that those MACs
//     have flows. Peer: ovs-testcontroller, alternated in the same lab.
//     The packet-in rate limit ovsmesh writes into Controller rows is off
//     in this benchmark (-packet-in-rate 0) and the output says so;
//   - steady: iperf3 TCP throughput and ping -i 0.01 RTT between the same
//     pair as firstping, NORMAL against ovsmesh, medians;
//   - move: host move convergence, absolute: a guest's veth is deleted on
//     one host and recreated with the same MAC and IP on the next; from
//     its first packet there (a gratuitous ARP, timestamped as it is
//     sent) until ofproto/trace on every host shows exactly one output
//     towards its new place;
//   - converge: cold convergence of a 20-host lab, absolute: from the
//     controller's start until every host's OVSDB session and tunnels are
//     up (API), every switch is connected (API), the guests are attached,
//     and every ordered pair of guests has answered a ping.
//
// Every benchmark brings up its own lab (prefix dpXX, slots 190-194 by
// default), stops only the processes it started, by pid, and tears the
// lab down. It prints the load average before each benchmark and a table
// with each peer's figure, the ratio, the target and PASS or MISS.
//
// Usage (root, from the repository root, after make build; other engineers
// share the machine, so hold the lab lock):
//
//	flock -o /tmp/ovsmesh-lab.lock go run ./test/dpbench -ovsmesh bin/ovsmesh -bench firstping,setups,steady,move,converge
package main
