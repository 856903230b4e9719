// Package flows is the only ovsmesh code that speaks OpenFlow on the wire.
//
// Flows are values: a [Flow] holds a table, priority, cookie, [Match] and
// instructions, with the zero value of every match field meaning
// wildcard. [Flow.String] renders ovs-ofctl syntax, the text that
// `ovs-ofctl -O OpenFlow13 dump-flows` prints, so unit tests and tests on
// a real switch compare the same text.
//
// tables.go names every table, priority, metadata bit and group of the
// pipeline (drawn in docs/pipeline.md); cookie.go gives the cookie layout.
//
// Messages the controller sends are [Message] values encoded by append
// functions (no reflection on the packet-in path). Messages a switch sends
// are framed by [Reader] and decoded by [Decode], which validates every
// length before it reads and returns an error naming the message and field
// that was wrong; github.com/netrack/openflow supplies the cold-path
// decoders (features, ports, errors) and the protocol constants, and its
// encoders serve as a cross-check in the tests.
//
// Layouts follow OpenFlow 1.3.5 (wire version 0x04).
package flows
