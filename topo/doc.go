// Package topo holds ovsmesh's view of the mesh and its persistent
// state: the configured hosts with their pinned datapath IDs and tunnel
// port names; Mesh, the live state the OVSDB side publishes (connection
// state, tunnel OFPorts, the port-security keys of guests' Interface
// rows); Table, a keyed table shared between apps (the
// MAC table and the ARP table are two; each has one writer); and State,
// which loads every table from a Backend at start and journals each
// change back in group commits. Store, a bbolt file, is the default
// Backend. Apps react to each other only through topo, never by calling
// each other.
package topo
