// Package cbench is an OpenFlow 1.3 controller benchmark in the style of
// cbench: it emulates a number of switches that connect to a controller over
// TCP, complete the OpenFlow handshake and then send PACKET_IN messages whose
// Ethernet frames come from a per-switch pool of MAC addresses.
//
// A response is a PACKET_OUT from the controller that carries back a frame the
// generator sent (recognised by a magic value in the UDP payload). In latency
// mode each switch keeps one PACKET_IN outstanding and sends the next one only
// when a response arrives; in throughput mode each switch keeps a window of W
// PACKET_INs outstanding and every response frees one slot. FLOW_MODs are
// counted for the report but are not responses.
//
// The switch side of the protocol is hand-encoded with encoding/binary: only
// HELLO, FEATURES_REPLY, ECHO_REPLY, BARRIER_REPLY, GET_CONFIG_REPLY,
// MULTIPART_REPLY (port description, switch description, empty replies for
// anything else) and PACKET_IN are produced. Each switch has one reader and
// one writer goroutine, so in throughput mode the reader never blocks on the
// socket while the controller is writing; in latency mode the reader writes
// the next PACKET_IN itself. PACKET_INs are written in batches from
// pre-encoded templates so the generator stays cheap next to the controller
// under test. With Config.ControllerPID the controller's CPU time per
// response is measured too.
//
// ServeNull is the ceiling peer: a controller that only answers each
// PACKET_IN with a PACKET_OUT. The command test/cbench/cmd/ofcbench runs the
// benchmark, test/cbench/cmd/nullctl serves ServeNull, and
// test/cbench/compare.sh compares ovsmesh with ovs-testcontroller and
// nullctl in the same run.
package cbench
