// Package learning is ovsmesh's mesh-wide learning switch.
//
// A MAC is learned from a table-miss packet-in on a local (non-tunnel)
// port. On the switch where it lives, the app installs a source admission
// flow (in_port, eth_src → goto l2; idle timeout, send_flow_rem) and a
// destination flow (eth_dst → output:port); on every other mesh switch a
// destination flow out of the tunnel towards the MAC's host. After one
// packet no host floods unknown unicast for that MAC and no further
// packet-in is sent for it. Broadcast, multicast and unknown unicast
// flood through two group-ALL buckets lists kept current with the port
// list, with split horizon: a packet from a tunnel never goes back out
// a tunnel.
//
// A switch that is not a configured mesh host is a standalone learning
// switch: its MACs form their own domain.
//
// The planner (plan.go) is pure: given views of switches and MAC entries
// it returns flow messages. The handlers (packetin.go) parse packet-ins
// with a preallocated gopacket DecodingLayerParser, update the topo
// MAC table and send what the planner returns. See README.md for the
// tables, cookies and packet-in triggers.
package learning
