package controller

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ovsmesh/ovsmesh/flows"
)

// errSlowSwitch is returned by Send when a switch does not read fast
// enough and its send queue passed the byte limit.
var errSlowSwitch = errors.New("switch send queue over its limit")

// errClosed is returned by Send after the session ended.
var errClosed = errors.New("session closed")

// writer queues encoded messages for one connection and writes them from
// its own goroutine, coalescing everything queued since the last write.
type writer struct {
	conn    net.Conn
	enc     *flows.Pipeline // checks what is encoded; nil checks nothing
	limit   int             // bytes queued before the switch counts as too slow
	timeout time.Duration   // per write, see flush
	sent    *[32]prometheus.Counter

	wmu sync.Mutex // held across taking the queue and writing it, so flushes never reorder
	mu  sync.Mutex
	buf []byte
	out []byte // the buffer being written, guarded by wmu
	// deadline is when the connection's write deadline was last set,
	// guarded by wmu.
	deadline time.Time
	err      error // sticky: set once the writer stops
	wake     chan struct{}
	xid      atomic.Uint32
	closed   chan struct{}
	done     chan struct{} // closed when run returns
	once     sync.Once
}

func newWriter(conn net.Conn, enc *flows.Pipeline, limit int, timeout time.Duration, sent *[32]prometheus.Counter) *writer {
	return &writer{conn: conn, enc: enc, limit: limit, timeout: timeout, sent: sent,
		wake: make(chan struct{}, 1), closed: make(chan struct{}), done: make(chan struct{})}
}

// nextXID returns a fresh transaction ID; 0 is never used.
func (w *writer) nextXID() uint32 {
	for {
		if x := w.xid.Add(1); x != 0 {
			return x
		}
	}
}

// send encodes msgs under fresh xids and queues them.
func (w *writer) send(msgs ...flows.Message) error {
	for _, m := range msgs {
		if _, err := w.sendXID(w.nextXID(), m); err != nil {
			return err
		}
	}
	return nil
}

// signal wakes the writer goroutine.
func (w *writer) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// queue encodes msgs without waking the writer goroutine: the
// dispatcher uses it for the switch it is handling and flushes itself.
func (w *writer) queue(msgs ...flows.Message) error {
	for _, m := range msgs {
		if _, err := w.enqueue(w.nextXID(), m); err != nil {
			return err
		}
	}
	return nil
}

// sendXID queues m with the given xid, wakes the writer and returns the
// xid.
func (w *writer) sendXID(xid uint32, m flows.Message) (uint32, error) {
	xid, err := w.enqueue(xid, m)
	if err == nil {
		w.signal()
	}
	return xid, err
}

// enqueue encodes m with xid onto the send queue.
func (w *writer) enqueue(xid uint32, m flows.Message) (uint32, error) {
	w.mu.Lock()
	if w.err != nil {
		w.mu.Unlock()
		return 0, w.err
	}
	var err error
	w.buf, err = w.enc.Encode(w.buf, xid, m)
	if err != nil {
		w.mu.Unlock()
		return 0, err
	}
	if len(w.buf) > w.limit {
		w.err = fmt.Errorf("%w (%d bytes queued)", errSlowSwitch, len(w.buf))
		w.mu.Unlock()
		w.conn.Close()
		return 0, w.err
	}
	w.mu.Unlock()
	if c := w.sent[m.MsgType()&31]; c != nil {
		c.Inc()
	}
	return xid, nil
}

// run writes queued bytes until the connection fails or stop is called.
// It exits when a write fails or after stop, once the queue is flushed.
func (w *writer) run() {
	defer close(w.done)
	for {
		select {
		case <-w.wake:
		case <-w.closed:
			w.flush()
			return
		}
		if !w.flush() {
			return
		}
	}
}

// flush writes everything queued; it reports false when the writer must
// stop. The dispatcher also calls it directly after an event, which saves
// a goroutine hand-off on the packet-in path.
func (w *writer) flush() bool {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	w.mu.Lock()
	w.out, w.buf = w.buf, w.out[:0]
	w.mu.Unlock()
	if len(w.out) == 0 {
		return true
	}
	if w.timeout > 0 {
		// Moving the deadline costs a runtime timer update per write;
		// refreshing it only once half the timeout has passed still
		// gives every write between timeout/2 and timeout to finish.
		if now := time.Now(); now.Sub(w.deadline) >= w.timeout/2 {
			w.conn.SetWriteDeadline(now.Add(w.timeout))
			w.deadline = now
		}
	}
	if _, err := w.conn.Write(w.out); err != nil {
		w.mu.Lock()
		if w.err == nil {
			w.err = fmt.Errorf("write of %d bytes: %w", len(w.out), err)
		}
		w.mu.Unlock()
		w.conn.Close()
		return false
	}
	if cap(w.out) > maxKeptBuffer {
		// A burst grew the buffer: let it go rather than hold it for
		// the life of the session (a thousand switches would each keep
		// their largest burst).
		w.out = nil
	}
	return true
}

// maxKeptBuffer is the largest write buffer, in bytes, a writer keeps
// for reuse after a write.
const maxKeptBuffer = 4 << 10

// failed returns why the writer stopped on its own (the send queue passed
// its limit, or a write failed or timed out), or nil.
func (w *writer) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if errors.Is(w.err, errClosed) {
		return nil
	}
	return w.err
}

// stop makes send fail from now on and lets run flush and exit.
func (w *writer) stop() {
	w.mu.Lock()
	if w.err == nil {
		w.err = errClosed
	}
	w.mu.Unlock()
	w.once.Do(func() { close(w.closed) })
}

// stopAndWait stops the writer and waits until run has flushed what was
// queued and returned (bounded by the write timeout), so that a message
// queued just before the connection is closed, such as the HELLO_FAILED
// error, reaches the switch.
func (w *writer) stopAndWait() {
	w.stop()
	<-w.done
}
