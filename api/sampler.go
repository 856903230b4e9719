package api

import (
	"math"
	"sync"
	"time"

	"github.com/ovsmesh/ovsmesh/flows"
)

// sampler keeps the last port-stats sample of every connected switch and
// the rates between the last two. Its memory is bounded by the ports of
// the connected switches: a switch that leaves is forgotten at the next
// round. It is safe for concurrent use.
type sampler struct {
	mu       sync.Mutex
	switches map[flows.DPID]*switchSample
}

// switchSample is one switch's last sample.
type switchSample struct {
	// since is the session's start: counters of another session are not
	// compared with these.
	since time.Time
	at    time.Time
	last  map[flows.OFPort]flows.PortStats
	rates map[flows.OFPort]PortRates
}

func newSampler() *sampler {
	return &sampler{switches: map[flows.DPID]*switchSample{}}
}

// record stores a sample of switch dpid (session started at since)
// taken at at, and computes each port's rates against the previous
// sample of the same session. A port whose counters went back (the port
// was re-created under the same number) has no rates until the next
// sample.
func (s *sampler) record(dpid flows.DPID, since, at time.Time, stats []flows.PortStats) {
	cur := &switchSample{since: since, at: at, last: make(map[flows.OFPort]flows.PortStats, len(stats)),
		rates: make(map[flows.OFPort]PortRates, len(stats))}
	for _, p := range stats {
		cur.last[p.Port] = p
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	prev := s.switches[dpid]
	s.switches[dpid] = cur
	if prev == nil || !prev.since.Equal(since) {
		return
	}
	dt := at.Sub(prev.at).Seconds()
	if dt <= 0 {
		return
	}
	for no, p := range cur.last {
		q, ok := prev.last[no]
		if !ok || p.Duration < q.Duration || p.TxPackets < q.TxPackets && p.TxPackets != flows.CounterUnavailable ||
			p.RxPackets < q.RxPackets && p.RxPackets != flows.CounterUnavailable {
			continue
		}
		cur.rates[no] = PortRates{
			TxPackets: rate(p.TxPackets, q.TxPackets, dt), RxPackets: rate(p.RxPackets, q.RxPackets, dt),
			TxBytes: rate(p.TxBytes, q.TxBytes, dt), RxBytes: rate(p.RxBytes, q.RxBytes, dt),
		}
	}
}

// rate is (cur-prev)/dt rounded to a whole number, or 0 when a counter
// is unavailable or went back.
func rate(cur, prev uint64, dt float64) float64 {
	if cur == flows.CounterUnavailable || prev == flows.CounterUnavailable || cur < prev {
		return 0
	}
	return math.Round(float64(cur-prev) / dt)
}

// rates returns a copy of port's rates on switch dpid, nil when there
// are none yet.
func (s *sampler) rates(dpid flows.DPID, port flows.OFPort) *PortRates {
	s.mu.Lock()
	defer s.mu.Unlock()
	sw := s.switches[dpid]
	if sw == nil {
		return nil
	}
	r, ok := sw.rates[port]
	if !ok {
		return nil
	}
	return &r
}

// retain forgets every switch not in keep.
func (s *sampler) retain(keep map[flows.DPID]bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for dpid := range s.switches {
		if !keep[dpid] {
			delete(s.switches, dpid)
		}
	}
}
