package controller

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/pki"
)

// session is one switch connection. The reader goroutine (serve) owns r;
// the dispatcher owns event handling; ports is shared under portsMu.
type session struct {
	c     *Controller
	conn  net.Conn // the OpenFlow stream: raw, or a *tls.Conn over it
	raw   net.Conn // the accepted TCP connection, the key of the controller's maps
	r     *flows.Reader
	w     *writer
	log   *slog.Logger
	dpid  flows.DPID
	since time.Time
	// peer is the identity of a TLS switch's certificate, set by
	// tlsHandshake; nil on a plain connection. tlsVersion names the TLS
	// version negotiated ("TLS 1.3").
	peer       *pki.Identity
	tlsVersion string

	portsMu sync.Mutex
	ports   map[flows.OFPort]flows.Port
	// metersMu guards meters: the meters set up on the switch, by
	// number, with their rate and burst.
	metersMu sync.Mutex
	meters   map[flows.MeterID][2]uint32

	queue   *mailbox
	rx      atomic.Uint64 // messages received, for the keepalive
	stalled atomic.Bool   // the reader waits for queue space: the silence is ours

	// reason is why the session ends, set once by closeWith, which also
	// closes closed.
	reason    atomic.Pointer[error]
	closed    chan struct{}
	closeOnce sync.Once

	waitMu  sync.Mutex
	waiters map[uint32]*waiter
	ended   bool // set by failWaiters: no reply will come any more

	packetInsDrop map[string]prometheus.Counter // by drop reason
	badMessages   prometheus.Counter
	// packetInsBy caches packet-in counters by cookie app<<16|table<<8|
	// reason; the reader goroutine owns it.
	packetInsBy map[uint32]prometheus.Counter
}

// newSession returns the session of an accepted connection; secure
// means it came from a TLS listener, and the session's handshake starts
// with the TLS handshake.
func newSession(c *Controller, raw net.Conn, secure bool) *session {
	conn := raw
	if secure {
		conn = tls.Server(raw, c.tls)
	}
	return &session{
		c:       c,
		conn:    conn,
		raw:     raw,
		r:       flows.NewReaderSize(conn, readBufferSize),
		w:       newWriter(conn, c.opts.Pipeline, c.opts.SendLimit, 10*time.Second, &c.sent),
		log:     c.log.With("remote", conn.RemoteAddr().String()),
		ports:   map[flows.OFPort]flows.Port{},
		waiters: map[uint32]*waiter{},
		closed:  make(chan struct{}),
	}
}

// readBufferSize is each connection's read buffer, in bytes. Messages
// larger than it are read straight into their own body; a small buffer
// keeps a thousand idle or busy switches from holding 64 KiB each
// (a read takes up to about 30 small packet-ins at once).
const readBufferSize = 4 << 10

// closeWith records why the session ends, if no reason is recorded yet,
// and closes the connection, which ends the reader.
func (s *session) closeWith(reason error) {
	s.reason.CompareAndSwap(nil, &reason)
	s.closeOnce.Do(func() { close(s.closed) })
	s.conn.Close()
}

// endReason says why the session ended: the reason recorded by
// closeWith, else the writer's failure (a slow switch, a write timeout),
// else the reader's error; nil for a clean end (the switch closed the
// connection or the controller is stopping).
func (s *session) endReason(ctx context.Context, readErr error) error {
	if r := s.reason.Load(); r != nil {
		return *r
	}
	if err := s.w.failed(); err != nil {
		return err
	}
	if readErr != nil && !isClosedErr(readErr) && ctx.Err() == nil {
		return readErr
	}
	return nil
}

// DPID implements Switch.
func (s *session) DPID() flows.DPID { return s.dpid }

// Ports implements Switch.
func (s *session) Ports() []flows.Port {
	s.portsMu.Lock()
	out := make([]flows.Port, 0, len(s.ports))
	for _, p := range s.ports {
		out = append(out, p)
	}
	s.portsMu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].No < out[j].No })
	return out
}

// Send implements Switch.
func (s *session) Send(ctx context.Context, msgs ...flows.Message) error {
	if ctx.Value(dispatchKey{}) == s {
		return s.w.queue(msgs...)
	}
	return s.w.send(msgs...)
}

// dispatchKey marks the ctx handed to a session's own handlers; its
// value is the session.
type dispatchKey struct{}

// dispatcherWait marks the ctx of a request the dispatcher itself waits
// on (reconciliation), which the reader fails rather than stall behind.
type dispatcherWait struct{}

// serve runs the session until the connection ends or ctx is done.
func (s *session) serve(ctx context.Context) {
	defer s.conn.Close()
	go s.w.run()
	defer s.w.stopAndWait()

	early, err := s.handshake()
	s.c.handshakeDone(s.raw)
	var refusal *tlsRefusal
	if errors.As(err, &refusal) {
		s.c.refuseTLS(s, refusal)
		return
	}
	if errors.Is(err, errNotAdmitted) {
		s.c.metrics.refused.WithLabelValues("identity").Inc()
		s.log.Warn("switch refused: its datapath ID is not accepted from this address", "err", err)
		return
	}
	if err != nil {
		s.log.Warn("switch handshake failed", "err", err)
		return
	}
	s.since = time.Now()
	label := s.dpid.String()
	m := s.c.metrics
	s.badMessages = m.badMessages.WithLabelValues(label)
	s.packetInsDrop = map[string]prometheus.Counter{}
	for _, r := range []string{dropQueueFull, dropSwitchBytes, dropTotalBytes} {
		s.packetInsDrop[r] = m.packetInsDrop.WithLabelValues(label, r)
	}
	s.packetInsBy = map[uint32]prometheus.Counter{}
	m.connections.WithLabelValues(label).Inc()
	m.disconnects.WithLabelValues(label) // exported at 0 from the start, so rate() sees the first one
	s.c.register(s)
	if s.peer != nil {
		s.log.Info("switch connected", "ports", len(s.ports), "tls", s.tlsVersion)
	} else {
		s.log.Info("switch connected", "ports", len(s.ports))
	}

	o := &s.c.opts
	s.queue = newMailbox(o.QueueLen, 4*o.QueueLen, o.PacketInBytes, o.EventBytes, s.c.pinBudget)
	dispatched := make(chan struct{})
	go func() {
		defer close(dispatched)
		s.dispatch(ctx, early)
	}()
	stopKeepalive := s.keepalive()

	err = s.readLoop(ctx)
	stopKeepalive()
	reason := s.endReason(ctx, err)
	s.conn.Close()
	s.w.stop() // sends fail from now on, SwitchDown's included
	s.failWaiters()
	s.queue.close()
	<-dispatched
	s.c.unregister(s)
	m.disconnects.WithLabelValues(label).Inc()
	switch {
	case reason != nil:
		s.log.Warn("switch disconnected", "reason", reason.Error())
	case ctx.Err() != nil:
		s.log.Info("switch disconnected", "reason", "controller stopping")
	default:
		s.log.Info("switch disconnected", "reason", "connection closed by the switch")
	}
}

// keepalive probes a silent switch with ECHO_REQUEST every EchoInterval
// and closes the connection when a whole further interval passes without
// any message. It runs on a timer rather than a goroutine of its own (a
// thousand idle switches would each hold a stack); the returned stop
// ends it, and it ends itself after closing the connection.
func (s *session) keepalive() (stop func()) {
	var mu sync.Mutex
	stopped := false
	last, probing := s.rx.Load(), false
	var t *time.Timer
	check := func() {
		mu.Lock()
		defer mu.Unlock()
		if stopped {
			return
		}
		now := s.rx.Load()
		switch {
		case s.stalled.Load():
			// The reader is not reading: the switch's messages wait in
			// the socket, and the reader probes the switch itself.
			last, probing = now, false
		case now != last:
			last, probing = now, false
		case !probing:
			s.w.send(flows.EchoRequest{Data: []byte("ovsmesh")})
			probing = true
		default:
			s.log.Warn("switch did not answer the echo probe: closing", "interval", s.c.opts.EchoInterval)
			s.closeWith(fmt.Errorf("no message for %v after an echo probe", 2*s.c.opts.EchoInterval))
			return
		}
		t.Reset(s.c.opts.EchoInterval)
	}
	mu.Lock()
	t = time.AfterFunc(s.c.opts.EchoInterval, check)
	mu.Unlock()
	return func() {
		mu.Lock()
		stopped = true
		t.Stop()
		mu.Unlock()
	}
}

// readLoop reads messages until the connection fails. Malformed messages
// end the session; well-formed messages of types a switch never sends are
// refused with OFPBRC_BAD_TYPE and the session goes on.
func (s *session) readLoop(ctx context.Context) error {
	for {
		h, body, err := s.r.Next()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		s.rx.Add(1)
		msg, err := flows.Decode(h, body)
		if errors.Is(err, flows.ErrUnexpectedType) {
			s.badMessages.Inc()
			s.log.Warn("unexpected message from switch: refused", "type", h.Type.String())
			s.w.sendXID(h.XID, flows.BadType(h, body))
			continue
		}
		if err != nil || h.Version != flows.Version {
			s.badMessages.Inc()
			if err == nil {
				err = fmt.Errorf("%s with wire version %#02x after negotiating 0x04", h.Type, h.Version)
			}
			return err
		}
		switch m := msg.(type) {
		case flows.EchoRequest:
			s.w.sendXID(h.XID, flows.EchoReply{Data: m.Data})
		case *flows.PacketIn:
			if why := s.queue.putPacketIn(m, int(h.Length)+eventOverhead); why == "" {
				s.packetInCounter(m).Inc()
			} else {
				s.packetInsDrop[why].Inc()
			}
		case flows.PortStatus, *flows.FlowRemoved:
			if err := s.putReliable(ctx, m, int(h.Length)+eventOverhead); err != nil {
				return err
			}
		case flows.SwitchError:
			s.c.metrics.switchErrors.WithLabelValues(s.dpid.String(), m.Type.String(), msgTypeLabel(m.Offending)).Inc()
			s.log.Warn("switch reported an error", "err", m)
			s.deliver(h.XID, m)
		case flows.BarrierReply, flows.MultipartReply:
			s.deliver(h.XID, m)
		}
	}
}

// eventOverhead is what a queued event holds beyond its message bytes,
// in bytes: the decoded struct and its queue slot, rounded up.
const eventOverhead = 192

// putReliable queues an event that must not be lost. While the queue is
// over its bounds the reader waits for the dispatcher instead of reading
// on, so TCP pushes back on the switch. Waiting delays the switch's own
// ECHO_REQUESTs, which sit unread in the socket; so that the switch's
// inactivity probe (OVS: any message from the controller counts as
// activity) does not drop the connection meanwhile, the reader sends an
// ECHO_REQUEST of its own every half echo interval while it waits, and
// the keepalive does not count the wait as the switch's silence. It
// fails only when the session is closed or ctx is done meanwhile.
func (s *session) putReliable(ctx context.Context, ev any, size int) error {
	if s.queue.put(ev, size) {
		return nil
	}
	// A reply the dispatcher waits for (reconciliation's flow dump) sits
	// behind these events, unread: fail that wait now, or the
	// dispatcher and the reader would wait for each other until its
	// timeout.
	s.failDispatcherWaits()
	s.stalled.Store(true)
	defer s.stalled.Store(false)
	tick := time.NewTicker(s.c.opts.EchoInterval / 2)
	defer tick.Stop()
	for {
		select {
		case <-s.queue.spaceCh():
			if s.queue.put(ev, size) {
				return nil
			}
		case <-s.closed:
			return net.ErrClosed
		case <-ctx.Done():
			return nil
		case <-tick.C:
			if err := s.w.send(flows.EchoRequest{Data: []byte("ovsmesh: busy")}); err != nil {
				return err
			}
		}
	}
}

// waiter collects the reply to one multipart request. The reader adds
// parts as they arrive; the bytes held are bounded.
type waiter struct {
	limit      int  // bytes of reply bodies
	dispatcher bool // the dispatcher waits: failed when the reader stalls

	mu    sync.Mutex
	parts [][]byte
	bytes int
	done  bool
	err   error
	wake  chan struct{} // capacity 1: done or a part arrived
}

// add takes one reply message: a part, or the switch's error.
func (w *waiter) add(msg any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return
	}
	switch m := msg.(type) {
	case flows.SwitchError:
		w.finish(m)
	case flows.MultipartReply:
		w.bytes += len(m.Body)
		if w.bytes > w.limit {
			w.finish(fmt.Errorf("%w: more than %d bytes in %d parts", errReplyTooLarge, w.limit, len(w.parts)+1))
			return
		}
		w.parts = append(w.parts, m.Body)
		if !m.More {
			w.finish(nil)
		}
	}
}

// finish ends the wait with err (nil: the reply is complete); w.mu is
// held.
func (w *waiter) finish(err error) {
	w.done, w.err = true, err
	if err != nil {
		w.parts = nil
	}
	signal(w.wake)
}

// errReplyTooLarge is wrapped by multipart requests whose reply passed
// Options.MaxReplyBytes.
var errReplyTooLarge = errors.New("multipart reply over its byte limit")

// deliver hands a decoded reply (a BarrierReply, MultipartReply or
// SwitchError) to the request waiting on xid, if any.
func (s *session) deliver(xid uint32, msg any) {
	s.waitMu.Lock()
	w := s.waiters[xid]
	s.waitMu.Unlock()
	if w != nil {
		w.add(msg)
	}
}

// errReaderStalled fails a dispatcher's request when its reply cannot be
// read because the switch's events fill the queue.
var errReaderStalled = errors.New("the switch's events fill the queue ahead of the reply")

// failDispatcherWaits fails the requests the dispatcher waits on.
func (s *session) failDispatcherWaits() {
	s.waitMu.Lock()
	defer s.waitMu.Unlock()
	for _, w := range s.waiters {
		w.mu.Lock()
		if w.dispatcher && !w.done {
			w.finish(errReaderStalled)
		}
		w.mu.Unlock()
	}
}

// failWaiters wakes every waiting request after the connection ended.
func (s *session) failWaiters() {
	s.waitMu.Lock()
	defer s.waitMu.Unlock()
	s.ended = true
	for xid, w := range s.waiters {
		w.mu.Lock()
		if !w.done {
			w.finish(errSessionEnded)
		}
		w.mu.Unlock()
		delete(s.waiters, xid)
	}
}

// errSessionEnded is returned by requests whose session ended first.
var errSessionEnded = errors.New("session ended before the reply")

// multipart sends a multipart request and collects the bodies of every
// reply part until one without OFPMPF_REPLY_MORE: the reply is complete
// or an error, never cut short. It fails on a switch error for the
// request, when the parts pass Options.MaxReplyBytes (errReplyTooLarge),
// on ctx and when the session ends.
func (s *session) multipart(ctx context.Context, req flows.Message) ([][]byte, error) {
	xid := s.w.nextXID()
	w := &waiter{limit: s.c.opts.MaxReplyBytes, dispatcher: ctx.Value(dispatcherWait{}) != nil, wake: make(chan struct{}, 1)}
	s.waitMu.Lock()
	if s.ended {
		s.waitMu.Unlock()
		return nil, errSessionEnded
	}
	s.waiters[xid] = w
	s.waitMu.Unlock()
	defer func() {
		s.waitMu.Lock()
		delete(s.waiters, xid)
		s.waitMu.Unlock()
	}()
	if _, err := s.w.sendXID(xid, req); err != nil {
		return nil, err
	}
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-w.wake:
		}
		w.mu.Lock()
		done, parts, err := w.done, w.parts, w.err
		w.mu.Unlock()
		switch {
		case !done:
		case errors.As(err, new(flows.SwitchError)):
			return nil, fmt.Errorf("%s refused: %w", req.MsgType(), err)
		case err != nil:
			return nil, fmt.Errorf("%s: %w", req.MsgType(), err)
		default:
			return parts, nil
		}
	}
}

func msgTypeLabel(t flows.MsgType) string {
	if t == 0xff {
		return "none"
	}
	return t.String()
}
