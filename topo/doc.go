// Package topo holds ovsmesh's view of the mesh: the configured hosts with
// their pinned datapath IDs and tunnel port names, the live state that the
// OVSDB side publishes (connection state, tunnel OFPorts), and the tables
// the apps share (MACs, later ARP bindings). Apps react to each other only
// through topo, never by calling each other.
package topo
