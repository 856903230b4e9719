// Package flowstest holds test support for code that compares ovsmesh's
// flows with what a real switch prints: NormalizeDump turns an
// `ovs-ofctl dump-flows` line into the text flows.Flow.String renders.
// It is imported only by tests.
package flowstest
