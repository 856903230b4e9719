// Package proxyarp is ovsmesh's proxy ARP: IPOP switchmode's ARP
// handling, served from the datapath.
//
// The app learns IPv4-to-MAC bindings (topo.ARPTable) from the ARP
// requests, replies and gratuitous ARPs that local (non-tunnel) ports
// send. Once a binding is known, every mesh host carries an OVN-style
// responder flow for it, so a request for that IP is answered by the
// asking host's datapath, out of the port it came in on: neither the
// controller nor any tunnel sees it. ARP from a sender whose binding is
// already known skips the controller through a per-binding
// "known sender" flow; only new or changed senders cause packet-ins.
//
// The pure parts are the parser (parse.go), the decision for one ARP
// packet (decide.go) and the flow planner (plan.go); the handlers
// (proxyarp.go, packetin.go) update the table and send what the planner
// returns. README.md lists the tables, cookies, packet-in triggers and
// metrics.
package proxyarp
