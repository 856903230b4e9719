// Command convbench measures how fast ovsmesh builds a tunnel mesh.
//
// For each host count it brings up a lab of N hosts × 1 guest (userspace
// datapath, VXLAN by default), starts `ovsmesh controller` on it and
// reports, timed from the controller's start:
//
//   - tunnels: every host holds its N−1 ovsmesh tunnel ports with an
//     OpenFlow port number assigned, as seen by an OVSDB monitor on each
//     host's ovsdb-server (unix socket, so the management network carries
//     only the controller's own traffic);
//   - pings: the guest of h1 has had an echo reply from every other guest
//     (one ping process per destination, 10 requests/s until the first
//     reply);
//   - the controller's CPU time (user+system, all threads, from
//     /proc/PID/stat) when the pings completed, its peak RSS (VmHWM), and
//     the CPU time of every host's ovsdb-server and ovs-vswitchd over the
//     same interval.
//
// The controller's CPU is read when both are complete, and again 5 s
// later (work left after convergence). With -static-arp the pinging
// guests get permanent neighbour entries for each other first, so the
// pings time the data path alone, without the guests' 1 s ARP
// retransmits.
//
// Guests are attached by lab.AttachGuests as soon as br-int exists on
// each host, in parallel with the controller's work. With -pprof ADDR the
// controller is started with --pprof ADDR (a loopback IP:PORT) and a CPU
// profile covering the whole convergence and a heap and allocation
// profile at its end are saved next to the report (see
// docs/benchmarks.md).
//
// Run it as root, one lab at a time (flock /tmp/ovsmesh-lab.lock).
package main
