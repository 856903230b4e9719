// Package lab builds, on one machine, a multi-host Open vSwitch lab out of
// network namespaces, for trying ovsmesh by hand (`ovsmesh lab up`) and for
// integration tests.
//
// A lab with prefix P, N hosts and M guests per host consists of:
//
//   - one network namespace per host, "P-h1" .. "P-hN", each running its
//     own ovsdb-server and ovs-vswitchd (userspace datapath) with its own
//     database, sockets, pid files, logs and OVS_RUNDIR in DIR/h1 .. DIR/hN.
//     ovsdb-server listens on punix:DIR/hI/db.sock and on
//     ptcp:6640:<management IP>;
//   - an underlay: bridge br-phy (datapath_type=netdev) in each host holds
//     the host's underlay veth "ul0" and the underlay address 198.18.0.I/16.
//     The other end of every ul0, named "hI", is a port of the Linux bridge
//     "ulbr" inside the namespace "P-ul", where tests can capture
//     encapsulated traffic;
//   - a management network: the Linux bridge "Pmgmt" in the root namespace
//     holds the controller address (198.19.255.254/16 in slot 0) and one
//     veth "PmI" per host whose other end, "mgmt0" in the host namespace,
//     holds 198.19.0.I/16;
//   - M guest namespaces per host, "P-hIgJ", each with "eth0"
//     (MAC 02:00:00:00:II:JJ, 10.0.I.J/8, MTU 1450, offloads off) whose
//     other end "v-hIgJ" stays in the host namespace until AttachGuests
//     adds it to the mesh bridge. With Options.LXC the guests instead hang
//     off a Linux bridge "lxcbr0" in the host namespace and only the patch
//     veth "lxc-ovs" becomes a mesh bridge port, so one OpenFlow port
//     carries many MACs.
//
// With Options.Outside there is also an "outside" namespace "P-out" for
// NAT tests: a veth pair joins its "eth0" (198.18.200.254/24, the NAT
// gateway's next hop, plus 198.18.201.1/32 on its loopback, a "far"
// server behind it) to "ext0" in the last host's namespace, which the lab
// leaves without addresses for ovsmesh to add to the mesh bridge. Every
// guest then has a default route via 10.255.255.254 (NATRouterIP), and
// ovsmesh.yaml gets a nat section naming the last host as the gateway.
//
// The lab does not create the mesh bridge (br-int) or tunnels: that is
// ovsmesh's job. Guests are therefore attached in a separate, explicit
// step: AttachGuests waits (bounded by its context) until the mesh bridge
// exists on every host and then adds the guest ports. Options.PreBridge
// makes Up create a bare mesh bridge so tests can show ovsmesh adopting a
// pre-made bridge.
//
// Everything the lab creates is recorded in DIR/lab.json before it is
// created, so Down works after a crash of Up and is idempotent. Daemons are
// stopped by the pids from their pid files, never by name. Up writes a
// ready-to-use DIR/ovsmesh.yaml.
//
// Addresses are confined to 198.18.0.0/15 (underlay, management and the
// outside namespace) and 10.0.0.0/8 (guests), all inside namespaces the
// lab made, plus the management bridge in the root namespace. Options.Slot lets several labs
// coexist: slot S>0 uses the management subnet 198.19.S.0/24 with the
// controller at 198.19.S.254.
package lab
