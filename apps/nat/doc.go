// Package nat is the NAT gateway app: masquerade (SNAT) of the
// overlay's inside prefixes, port forwards (DNAT) from the outside, and
// in-overlay port redirects, all as OpenFlow flows on OVS conntrack
// (ct(commit,nat(...)), nicira-ext.h NXAST_CT and NXAST_NAT), with no
// iptables anywhere.
//
// One configured host is the gateway: its external port (an interface
// ovsmesh adds to its mesh bridge) faces the outside, and its datapath's
// conntrack holds every NAT'd connection. Guests route off-subnet
// traffic to router_ip, which every host answers ARP for with the
// router MAC from the datapath; other hosts send the router MAC's
// traffic through their tunnel to the gateway. There, three conntrack
// zones do the work, as OVN's gateway routers do: the SNAT zone (zone)
// un-NATs replies and masquerades new connections from inside, the
// DNAT zone (zone+1) commits forwards, and hairpin connections (a guest
// using a forward) pass both. Redirects use zone+2 on the host where
// their target guest lives, so replies and ICMP errors are rewritten
// back. docs/nat.md draws every flow next to the iptables and
// mod_tp_dst rules of the article ovsmesh started from.
//
// The app declares two chain stages, nat_external (before classify:
// the outside is neither a guest nor a tunnel) and nat (after it), and
// internal tables for the conntrack passes. Rules added through the
// API, and the next hop's MAC, persist in the state bucket "nat"; the
// ARP table (proxy ARP's) says where inside guests are.
package nat
