// Package flows is the only ovsmesh code that speaks OpenFlow on the wire.
//
// Flows are values: a [Flow] holds a table, priority, cookie, [Match] and
// instructions, with the zero value of every match field meaning
// wildcard. [Flow.String] renders ovs-ofctl syntax, the text that
// `ovs-ofctl -O OpenFlow13 dump-flows` prints, so unit tests and tests on
// a real switch compare the same text.
//
// The apps declare their own tables, priorities and groups; [Pipeline]
// is the table graph apps.Registry composes from those declarations, and
// the encoder a session uses ([Pipeline.Encode]) refuses a flow whose
// goto_table is not a declared successor. meta.go names the metadata
// bits stages share; cookie.go gives the cookie layout; ids.go the
// [DPID] and [OFPort] types.
//
// Messages the controller sends are [Message] values encoded by append
// functions (no reflection on the packet-in path). Messages a switch sends
// are framed by [Reader] and decoded by [Decode], the one decoder, which
// validates every length before it reads, returns typed messages, and
// names the message and field that was wrong; netrack/openflow supplies
// protocol constants and names, used only inside this package, and its
// encoders serve as a cross-check in the tests. flows/flowstest holds
// test support.
//
// Layouts follow OpenFlow 1.3.5 (wire version 0x04).
package flows
