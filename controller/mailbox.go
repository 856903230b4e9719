package controller

import (
	"sync"
	"sync/atomic"
)

// Reasons a packet-in is dropped, the values of the reason label of
// ovsmesh_packet_ins_dropped_total.
const (
	dropQueueFull   = "queue_full"   // Options.QueueLen packet-ins already wait
	dropSwitchBytes = "switch_bytes" // over Options.PacketInBytes for this switch
	dropTotalBytes  = "total_bytes"  // over Options.PacketInBytesTotal for all switches
)

// budget is the packet-in byte allowance of all switches together. Each
// switch may hold up to reserve bytes of its own; beyond that it draws on
// a pool of limit bytes shared first come, first served. The reserves
// (MaxConnections of them) and the pool add up to
// Options.PacketInBytesTotal, and a reserve keeps a switch from being
// starved by the others while the pool is drained.
type budget struct {
	reserve int   // bytes each switch holds without drawing on the pool
	limit   int64 // bytes of the shared pool
	used    atomic.Int64
}

// newBudget splits total bytes: half as per-switch reserves for up to
// conns switches (at most perSwitch each), the rest as the shared pool.
func newBudget(total, conns, perSwitch int) *budget {
	reserve := min(total/2/max(conns, 1), perSwitch)
	return &budget{reserve: reserve, limit: int64(total - reserve*conns)}
}

// take reserves n bytes; it reports false, reserving nothing, when that
// would pass the limit.
func (b *budget) take(n int) bool {
	if b.used.Add(int64(n)) > b.limit {
		b.used.Add(-int64(n))
		return false
	}
	return true
}

// give returns n bytes taken before.
func (b *budget) give(n int) { b.used.Add(-int64(n)) }

// item is one queued event with the bytes it holds.
type item struct {
	ev   any
	size int  // bytes accounted: the message and its decoded form
	kind kind // which allowance the bytes come from
}

// kind says which allowance an item's bytes are counted in.
type kind uint8

const (
	reliable kind = iota // PORT_STATUS, FLOW_REMOVED: relLimit
	reserved             // a packet-in within the switch's reserve
	pooled               // a packet-in drawn on the shared pool
)

// mailbox is a switch's event queue between its reader and dispatcher.
// Packet-ins are droppable: putPacketIn refuses one when QueueLen
// packet-ins wait, or when its bytes would pass the switch's allowance or
// its share of the controller-wide one (see budget); the reader drops
// and counts it and never waits.
// Other events (PORT_STATUS, FLOW_REMOVED) must not be lost: put refuses
// one only while their bytes are over the switch's bound, and the reader
// then waits on space, so TCP pushes back on the switch. (That bound is
// in bytes only: a burst of small events, such as thousands of idle
// expiries at once, fits without the reader stopping.)
// Bytes are held from put until the dispatcher has handled the event
// (release), so a batch being handled still counts.
type mailbox struct {
	soft, hard         int // events: packet-ins refused from soft packet-ins or hard events on
	pinLimit, relLimit int // bytes per switch: packet-ins, other events
	total              *budget

	mu       sync.Mutex
	items    []item
	pins     int // packet-ins waiting
	pinBytes int // packet-in bytes waiting or being handled
	reserved int // the part of pinBytes within the switch's reserve
	relBytes int // other events' bytes waiting or being handled
	closed   bool
	ready    chan struct{} // capacity 1: something was put or the box closed
	space    chan struct{} // capacity 1: something was taken or released
}

func newMailbox(soft, hard, pinLimit, relLimit int, total *budget) *mailbox {
	return &mailbox{soft: soft, hard: hard, pinLimit: pinLimit, relLimit: relLimit, total: total,
		ready: make(chan struct{}, 1), space: make(chan struct{}, 1)}
}

// putPacketIn queues a packet-in of size bytes, or returns why it is
// dropped (one of the drop* reasons); it never waits.
func (m *mailbox) putPacketIn(ev any, size int) (dropped string) {
	m.mu.Lock()
	switch {
	case m.closed:
		m.mu.Unlock()
		return dropQueueFull
	case m.pins >= m.soft || len(m.items) >= m.hard:
		m.mu.Unlock()
		return dropQueueFull
	case m.pinBytes+size > m.pinLimit:
		m.mu.Unlock()
		return dropSwitchBytes
	}
	k := reserved
	if m.reserved+size > m.total.reserve {
		if !m.total.take(size) {
			m.mu.Unlock()
			return dropTotalBytes
		}
		k = pooled
	} else {
		m.reserved += size
	}
	m.items = append(m.items, item{ev: ev, size: size, kind: k})
	m.pins++
	m.pinBytes += size
	m.mu.Unlock()
	signal(m.ready)
	return ""
}

// put queues an event that must not be lost. It reports false while the
// queue's other events hold relLimit bytes; the caller waits on space
// and retries.
// An empty queue always takes the event, so one large event cannot wait
// for ever. After close it reports true and drops the event: the session
// is ending.
func (m *mailbox) put(ev any, size int) bool {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return true
	}
	if len(m.items) > 0 && m.relBytes+size > m.relLimit {
		m.mu.Unlock()
		return false
	}
	m.items = append(m.items, item{ev: ev, size: size})
	m.relBytes += size
	m.mu.Unlock()
	signal(m.ready)
	return true
}

// spaceCh is signalled when events are taken or released: a reader whose
// put was refused waits on it.
func (m *mailbox) spaceCh() <-chan struct{} { return m.space }

// take waits for events and returns all of them, swapping in spare as the
// new backing store. It returns ok false once the box is closed and empty.
// The caller releases each item once it is handled.
func (m *mailbox) take(spare []item) (batch []item, ok bool) {
	for {
		m.mu.Lock()
		if len(m.items) > 0 {
			batch, m.items = m.items, spare[:0]
			m.pins = 0
			m.mu.Unlock()
			signal(m.space)
			return batch, true
		}
		closed := m.closed
		m.mu.Unlock()
		if closed {
			return nil, false
		}
		<-m.ready
	}
}

// release gives back the bytes of a handled item.
func (m *mailbox) release(it item) {
	m.mu.Lock()
	switch it.kind {
	case reliable:
		m.relBytes -= it.size
	case reserved:
		m.pinBytes -= it.size
		m.reserved -= it.size
	case pooled:
		m.pinBytes -= it.size
		m.total.give(it.size)
	}
	m.mu.Unlock()
	signal(m.space)
}

// len returns how many events wait.
func (m *mailbox) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.items)
}

// close lets take return once the waiting events are taken, and wakes a
// reader waiting for space.
func (m *mailbox) close() {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	signal(m.ready)
	signal(m.space)
}

// signal wakes the receiver of a capacity-1 channel without blocking.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
