package controller

import "sync"

// mailbox is a switch's event queue between its reader and dispatcher.
// The reader never blocks on it: packet-ins beyond the soft bound are
// refused (the caller drops and counts them); other events are always
// taken up to the hard bound, past which the switch is misbehaving and
// put reports false so the session is closed. Memory stays bounded either
// way, and events keep their order.
type mailbox struct {
	soft, hard int

	mu     sync.Mutex
	items  []any
	closed bool
	ready  chan struct{} // capacity 1: something was put or the box closed
}

func newMailbox(soft, hard int) *mailbox {
	return &mailbox{soft: soft, hard: hard, ready: make(chan struct{}, 1)}
}

// put appends ev. A droppable event (a packet-in) is refused once soft
// events wait; any event is refused once hard events wait.
func (m *mailbox) put(ev any, droppable bool) bool {
	m.mu.Lock()
	n := len(m.items)
	if n >= m.hard || droppable && n >= m.soft || m.closed {
		m.mu.Unlock()
		return false
	}
	m.items = append(m.items, ev)
	m.mu.Unlock()
	select {
	case m.ready <- struct{}{}:
	default:
	}
	return true
}

// take waits for events and returns all of them, swapping in spare as the
// new backing store. It returns ok false once the box is closed and empty.
func (m *mailbox) take(spare []any) (batch []any, ok bool) {
	for {
		m.mu.Lock()
		if len(m.items) > 0 {
			batch, m.items = m.items, spare[:0]
			m.mu.Unlock()
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

// len returns how many events wait.
func (m *mailbox) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.items)
}

// close lets take return once the waiting events are taken.
func (m *mailbox) close() {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	select {
	case m.ready <- struct{}{}:
	default:
	}
}
