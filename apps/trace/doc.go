// Package trace answers "where did my packet go?" across the mesh
// (issue 15): `ovsmesh trace SRC DST` and POST /api/v1/trace.
//
// A probe follows a real packet. The controller builds it from SRC's
// addresses (MAC and IP from the MAC and ARP tables) with a tag no guest
// traffic uses (tag.go), and installs, on every switch and in every
// stage, a temporary flow at the top priority that sends tagged packets
// to the controller unless a register bit says the stage was passed
// (observe.go; hard timeout apps.trace.flow_timeout, so the flows go
// away even if the controller dies mid-trace). It then injects the
// packet with a packet-out at SRC's port. At each stop the controller
// reads the stage's flows from the switch and finds the one the packet
// matches (flows.PacketFields), which gives the hop: host, stage, the
// flow's cookie decoded to app and rule, its actions, and the fields
// rewritten since the last stop. What the flow does decides the next
// step (probe.go):
//
//   - it only goes on (goto, resubmit, ct recirculation) or only leaves
//     through tunnels: the controller injects the packet again at the
//     same place with one more stage marked as passed, so the switch
//     runs that stage's flow for real and the packet stops at the next
//     stage, or arrives at a peer, where the flows of the peer stop it
//     at the first stage: a tunnel crossing;
//   - it sends copies to local ports (delivered, flooded, answered back
//     out of its port) or to the controller: those are reported and
//     never sent, and the flow's tunnel outputs are made by packet-outs
//     from the controller, so a flood is still followed to every host
//     it reaches;
//   - it drops the packet: reported with the flow that did.
//
// So the probe never reaches a guest, its tag never leaves the mesh, and
// every stage a packet passes is run by the switch itself.
//
// --explain answers from the controller's own state instead: each
// stage's app says what it expects (apps.Explainer). A probe is always
// compared with the explanation; a difference is reported, which is how
// drift between the controller and a switch is found (compare.go).
package trace
