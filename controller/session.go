package controller

import (
	"context"
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
)

// session is one switch connection. The reader goroutine (serve) owns r;
// the dispatcher owns event handling; ports is shared under portsMu.
type session struct {
	c     *Controller
	conn  net.Conn
	r     *flows.Reader
	w     *writer
	log   *slog.Logger
	dpid  flows.DPID
	since time.Time

	portsMu sync.Mutex
	ports   map[flows.OFPort]flows.Port

	queue *mailbox
	rx    atomic.Uint64 // messages received, for the keepalive

	waitMu  sync.Mutex
	waiters map[uint32]chan any
	ended   bool // set by failWaiters: no reply will come any more

	packetInsDrop, badMessages prometheus.Counter
	// packetInsBy caches packet-in counters by cookie app<<16|table<<8|
	// reason; the reader goroutine owns it.
	packetInsBy map[uint32]prometheus.Counter
}

func newSession(c *Controller, conn net.Conn) *session {
	return &session{
		c:       c,
		conn:    conn,
		r:       flows.NewReader(conn),
		w:       newWriter(conn, c.opts.Pipeline, c.opts.SendLimit, 10*time.Second, &c.sent),
		log:     c.log.With("remote", conn.RemoteAddr().String()),
		ports:   map[flows.OFPort]flows.Port{},
		waiters: map[uint32]chan any{},
	}
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

// serve runs the session until the connection ends or ctx is done.
func (s *session) serve(ctx context.Context) {
	defer s.conn.Close()
	go s.w.run()
	defer s.w.stopAndWait()

	early, err := s.handshake()
	if err != nil {
		s.log.Warn("switch handshake failed", "err", err)
		return
	}
	s.since = time.Now()
	label := s.dpid.String()
	m := s.c.metrics
	s.packetInsDrop, s.badMessages = m.packetInsDrop.WithLabelValues(label), m.badMessages.WithLabelValues(label)
	s.packetInsBy = map[uint32]prometheus.Counter{}
	m.connections.WithLabelValues(label).Inc()
	m.disconnects.WithLabelValues(label) // exported at 0 from the start, so rate() sees the first one
	s.c.register(s)
	s.log.Info("switch connected", "ports", len(s.ports))

	s.queue = newMailbox(s.c.opts.QueueLen, 4*s.c.opts.QueueLen)
	dispatched := make(chan struct{})
	go func() {
		defer close(dispatched)
		s.dispatch(ctx, early)
	}()
	stopKeepalive := make(chan struct{})
	go s.keepalive(stopKeepalive)

	err = s.readLoop(ctx)
	close(stopKeepalive)
	s.conn.Close()
	s.w.stop() // sends fail from now on, SwitchDown's included
	s.failWaiters()
	s.queue.close()
	<-dispatched
	s.c.unregister(s)
	m.disconnects.WithLabelValues(label).Inc()
	if err != nil && !isClosedErr(err) && ctx.Err() == nil {
		s.log.Warn("switch disconnected", "err", err)
	} else {
		s.log.Info("switch disconnected")
	}
}

// keepalive probes a silent switch with ECHO_REQUEST and closes the
// connection when a whole further interval passes without any message.
// It exits when stop is closed or after closing the connection.
func (s *session) keepalive(stop chan struct{}) {
	t := time.NewTicker(s.c.opts.EchoInterval)
	defer t.Stop()
	last, probing := s.rx.Load(), false
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		now := s.rx.Load()
		switch {
		case now != last:
			last, probing = now, false
		case !probing:
			s.w.send(flows.EchoRequest{Data: []byte("ovsmesh")})
			probing = true
		default:
			s.log.Warn("switch did not answer the echo probe: closing", "interval", s.c.opts.EchoInterval)
			s.conn.Close()
			return
		}
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
			if s.queue.put(m, true) {
				s.packetInCounter(m).Inc()
			} else {
				s.packetInsDrop.Inc()
			}
		case flows.PortStatus, *flows.FlowRemoved:
			if !s.queue.put(m, false) {
				s.badMessages.Inc()
				return fmt.Errorf("%d events queued and the apps are not keeping up: %s refused", s.queue.len(), h.Type)
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

// deliver hands a decoded reply (a BarrierReply, MultipartReply or
// SwitchError) to the request waiting on xid, if any.
func (s *session) deliver(xid uint32, msg any) {
	s.waitMu.Lock()
	ch := s.waiters[xid]
	s.waitMu.Unlock()
	if ch != nil {
		select {
		case ch <- msg:
		default:
			s.log.Warn("reply dropped: waiter's buffer is full", "xid", xid)
		}
	}
}

// failWaiters wakes every waiting request after the connection ended.
func (s *session) failWaiters() {
	s.waitMu.Lock()
	defer s.waitMu.Unlock()
	s.ended = true
	for xid, ch := range s.waiters {
		close(ch)
		delete(s.waiters, xid)
	}
}

// errSessionEnded is returned by requests whose session ended first.
var errSessionEnded = errors.New("session ended before the reply")

// multipart sends a multipart request and collects the bodies of every
// reply part until one without OFPMPF_REPLY_MORE. It fails on a switch
// error for the request, on ctx and when the session ends.
func (s *session) multipart(ctx context.Context, req flows.Message) ([][]byte, error) {
	xid := s.w.nextXID()
	ch := make(chan any, 64)
	s.waitMu.Lock()
	if s.ended {
		s.waitMu.Unlock()
		return nil, errSessionEnded
	}
	s.waiters[xid] = ch
	s.waitMu.Unlock()
	defer func() {
		s.waitMu.Lock()
		delete(s.waiters, xid)
		s.waitMu.Unlock()
	}()
	if _, err := s.w.sendXID(xid, req); err != nil {
		return nil, err
	}
	var parts [][]byte
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case r, ok := <-ch:
			if !ok {
				return nil, errSessionEnded
			}
			switch m := r.(type) {
			case flows.SwitchError:
				return nil, fmt.Errorf("%s refused: %w", req.MsgType(), m)
			case flows.MultipartReply:
				parts = append(parts, m.Body)
				if !m.More {
					return parts, nil
				}
			}
		}
	}
}

func msgTypeLabel(t flows.MsgType) string {
	if t == 0xff {
		return "none"
	}
	return t.String()
}
