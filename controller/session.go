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

	openflow "github.com/netrack/openflow"
	"github.com/netrack/openflow/ofp"
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
	waiters map[uint32]chan reply
	ended   bool // set by failWaiters: no reply will come any more

	packetInsDrop, badMessages prometheus.Counter
	// packetInsBy caches packet-in counters by app<<8|reason; the reader
	// goroutine owns it.
	packetInsBy map[uint16]prometheus.Counter
}

// reply is a message routed to a waiting request by xid.
type reply struct {
	h    flows.Header
	body []byte
}

func newSession(c *Controller, conn net.Conn) *session {
	return &session{
		c:       c,
		conn:    conn,
		r:       flows.NewReader(conn),
		w:       newWriter(conn, c.opts.SendLimit, 10*time.Second, &c.sent),
		log:     c.log.With("remote", conn.RemoteAddr().String()),
		ports:   map[flows.OFPort]flows.Port{},
		waiters: map[uint32]chan reply{},
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
	s.packetInsBy = map[uint16]prometheus.Counter{}
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
// end the session; unexpected types are refused with an error message.
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
		if h.Version != flows.Version {
			s.badMessages.Inc()
			return fmt.Errorf("%s with wire version %#02x after negotiating 0x04", h.Type, h.Version)
		}
		switch h.Type {
		case openflow.TypeEchoRequest:
			s.w.sendXID(h.XID, flows.EchoReply{Data: body})
			continue
		case openflow.TypeEchoReply, openflow.TypeHello:
			continue
		case openflow.TypeBarrierReply, openflow.TypeMultipartReply:
			s.deliver(h, body)
			continue
		case openflow.TypeError:
			e, err := flows.DecodeError(body)
			if err != nil {
				s.badMessages.Inc()
				return err
			}
			s.c.metrics.switchErrors.WithLabelValues(s.dpid.String(), e.Type.String(), msgTypeLabel(e.Offending)).Inc()
			s.log.Warn("switch reported an error", "err", e)
			s.deliver(h, body)
			continue
		case openflow.TypePacketIn:
			pi, err := flows.DecodePacketIn(body)
			if err != nil {
				s.badMessages.Inc()
				return err
			}
			if s.queue.put(&pi, true) {
				s.packetInCounter(&pi).Inc()
			} else {
				s.packetInsDrop.Inc()
			}
			continue
		case openflow.TypePortStatus, openflow.TypeFlowRemoved:
			ev, err := decodeEvent(h, body)
			if err != nil {
				s.badMessages.Inc()
				return err
			}
			if !s.queue.put(ev, false) {
				s.badMessages.Inc()
				return fmt.Errorf("%d events queued and the apps are not keeping up: %s refused", s.queue.len(), h.Type)
			}
			continue
		case openflow.TypeGetConfigReply, openflow.TypeRoleReply, openflow.TypeGetAsyncReply, openflow.TypeExperiment, openflow.TypeFeaturesReply:
			continue
		}
		s.badMessages.Inc()
		s.log.Warn("unexpected message from switch: refused", "type", h.Type.String())
		data := body
		if len(data) > 56 {
			data = data[:56]
		}
		hdr := []byte{h.Version, byte(h.Type), byte(h.Length >> 8), byte(h.Length), byte(h.XID >> 24), byte(h.XID >> 16), byte(h.XID >> 8), byte(h.XID)}
		s.w.sendXID(h.XID, flows.Error{Type: ofp.ErrTypeBadRequest, Code: ofp.ErrCodeBadRequestBadType, Data: append(hdr, data...)})
	}
}

// decodeEvent decodes a port-status or flow-removed message.
func decodeEvent(h flows.Header, body []byte) (any, error) {
	if h.Type == openflow.TypePortStatus {
		ps, err := flows.DecodePortStatus(body)
		return ps, err
	}
	fr, err := flows.DecodeFlowRemoved(body)
	return &fr, err
}

// deliver hands a reply to the request waiting on its xid, if any.
func (s *session) deliver(h flows.Header, body []byte) {
	s.waitMu.Lock()
	ch := s.waiters[h.XID]
	s.waitMu.Unlock()
	if ch != nil {
		select {
		case ch <- reply{h, body}:
		default:
			s.log.Warn("reply dropped: waiter's buffer is full", "type", h.Type.String(), "xid", h.XID)
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
	ch := make(chan reply, 64)
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
			if r.h.Type == openflow.TypeError {
				e, _ := flows.DecodeError(r.body)
				return nil, fmt.Errorf("%s refused: %w", req.MsgType(), e)
			}
			mp, err := flows.DecodeMultipartReply(r.body)
			if err != nil {
				return nil, err
			}
			parts = append(parts, mp.Body)
			if !mp.More {
				return parts, nil
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
