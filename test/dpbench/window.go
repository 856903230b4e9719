//go:build linux

package main

import (
	"context"
	"net"
	"sort"
	"time"
)

// windowStats is what runWindow observed.
type windowStats struct {
	start, end                time.Time
	sent, delivered, timedOut int
	sendErrors                int
	// deliveries holds each delivery's time, in order; latencies each
	// delivered MAC's send-to-delivery time in ms.
	deliveries []time.Time
	latencies  []float64
}

// rateBetween returns the deliveries per second in [from, to).
func (w windowStats) rateBetween(from, to time.Time) float64 {
	d := to.Sub(from).Seconds()
	if d <= 0 {
		return 0
	}
	i := sort.Search(len(w.deliveries), func(i int) bool { return !w.deliveries[i].Before(from) })
	j := sort.Search(len(w.deliveries), func(i int) bool { return !w.deliveries[i].Before(to) })
	return float64(j-i) / d
}

// runWindow sends frames to dst from new source MACs of phase
// (benchMAC) for d, keeping at most window of them outstanding, and
// counts a MAC as set up when rcv sees its frame. A MAC outstanding for
// setupTimeout is given up (its packet-in was dropped) and its slot
// reused.
func runWindow(ctx context.Context, snd, rcv *packetConn, phase int, dst net.HardwareAddr, window int, d time.Duration) windowStats {
	delivered := make(chan uint32, 8192)
	stopRecv := make(chan struct{})
	recvDone := make(chan struct{})
	go func() {
		defer close(recvDone)
		buf := make([]byte, 2048)
		for {
			select {
			case <-stopRecv:
				return
			default:
			}
			n, err := rcv.recv(buf)
			if err != nil || n < 14 || buf[6] != 0x02 || buf[7] != 0xdd || buf[8] != byte(phase) {
				continue
			}
			select {
			case delivered <- uint32(buf[9])<<16 | uint32(buf[10])<<8 | uint32(buf[11]):
			case <-stopRecv:
				return
			}
		}
	}()
	defer func() { close(stopRecv); <-recvDone }()

	var st windowStats
	outstanding := map[uint32]time.Time{}
	frame := etherFrame(dst, benchMAC(phase, 0), etherTypeBench, nil)
	deliver := func(idx uint32) {
		sent, ok := outstanding[idx]
		if !ok {
			return
		}
		delete(outstanding, idx)
		now := time.Now()
		st.delivered++
		st.deliveries = append(st.deliveries, now)
		st.latencies = append(st.latencies, float64(now.Sub(sent))/float64(time.Millisecond))
	}
	tick := time.NewTimer(time.Millisecond)
	defer tick.Stop()
	lastExpiry := time.Now()
	var i uint32
	st.start = time.Now()
	for ctx.Err() == nil && time.Since(st.start) < d {
		for len(outstanding) < window {
			copy(frame[6:12], benchMAC(phase, i))
			if err := snd.send(frame); err != nil {
				st.sendErrors++
				break // the socket's buffer is full: try again after the tick
			}
			outstanding[i] = time.Now()
			st.sent++
			i++
		}
		tick.Reset(time.Millisecond)
		select {
		case idx := <-delivered:
			deliver(idx)
			for more := true; more; {
				select {
				case idx := <-delivered:
					deliver(idx)
				default:
					more = false
				}
			}
		case <-tick.C:
		}
		if now := time.Now(); now.Sub(lastExpiry) >= 10*time.Millisecond {
			lastExpiry = now
			for idx, t := range outstanding {
				if now.Sub(t) >= setupTimeout {
					delete(outstanding, idx)
					st.timedOut++
				}
			}
		}
	}
	st.end = time.Now()
	return st
}
