// Command ofcbench is an OpenFlow 1.3 cbench-style controller benchmark: it
// emulates switches that send PACKET_INs to a controller and reports the
// controller's responses (PACKET_OUTs) per second.
//
// Usage:
//
//	ofcbench -controller 127.0.0.1:6653 -switches 16 -macs 1000 \
//	    -mode latency|throughput -window 1000 -loops 5 -duration 5s -warmup 2s [-json]
package main
